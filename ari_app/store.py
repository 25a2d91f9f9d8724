"""The Stasis app's database work. Every function here runs on one writer thread, so the event
loop never blocks on SQLite or PostgreSQL and writes never contend with each other."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial

from peewee import fn

from models import Call, Campaign, CampaignContact, Did, SystemStatus, Tenant, database
from models.entities import utcnow
from voxcast import dnc_service

from .dispositions import disposition
from .retry import RetryPolicy, decide


@dataclass(frozen=True)
class CampaignPlan:
    id: int
    tenant_id: int
    type: str
    name: str
    channel_limit: int
    tenant_channel_limit: int
    message_file: str
    caller_id: str
    dial_timeout: int


@dataclass(frozen=True)
class Claim:
    call_id: int
    channel_id: str
    entry_id: int
    campaign_id: int
    tenant_id: int
    phone: str


@dataclass(frozen=True)
class DidRoute:
    number: str
    tenant_id: int
    tenant_status: str
    tenant_channel_limit: int
    greeting_file: str
    greeting_text: str
    ivr_id: int | None = None  # the DID runs this IVR instead of the greeting


log = logging.getLogger("voxcast.store")


class Store:
    """Runs database work on one writer thread with group commit: the jobs that queued up while
    the previous transaction ran are committed together, each in its own savepoint, so one
    failing job rolls back alone and a busy dialer pays one fsync per batch, not per call."""

    MAX_BATCH = 200

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="db-writer", daemon=True)
        self._thread.start()
        self._did_cache: dict[str, tuple[float, "DidRoute | None"]] = {}

    async def run(self, func, *args, **kw):
        future: Future = Future()
        self._jobs.put((partial(func, *args, **kw), future))
        return await asyncio.wrap_future(future)

    async def find_did(self, number: str, ttl: float = 5.0):
        """DID routes change rarely and are read on every inbound call: cache them briefly."""
        now = time.monotonic()
        hit = self._did_cache.get(number)
        if hit and hit[0] > now:
            return hit[1]
        route = await self.run(find_did, number)
        self._did_cache[number] = (now + ttl, route)
        return route

    def close(self):
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)
                    break
                batch.append(nxt)
            self._run_batch(batch)

    def _run_batch(self, batch) -> None:
        outcomes = []
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                for func, future in batch:
                    try:
                        with database.atomic():
                            outcomes.append((future, func(), None))
                    except Exception as exc:  # only this job's savepoint rolls back
                        outcomes.append((future, None, exc))
        except Exception as exc:  # the commit itself failed: nothing of the batch holds
            log.exception("database batch of %d failed", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            try:
                database.close()
            except Exception:
                pass
            return
        for future, result, exc in outcomes:
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result)


# -- campaigns ---------------------------------------------------------------------------------

def running_campaigns() -> list[CampaignPlan]:
    rows = (Campaign.select(Campaign, Tenant).join(Tenant)
            .where(Campaign.status == "running", Tenant.status == "active"))
    return [CampaignPlan(c.id, c.tenant_id, c.type, c.name, c.channel_limit, c.tenant.channel_limit,
                         c.message_file, c.caller_id, c.dial_timeout) for c in rows]


def claim_due(campaign_id: int, limit: int, now: dt.datetime | None = None) -> list[Claim]:
    """Mark up to `limit` due contacts as dialing and open their CDRs, in one transaction, so a
    crash can never lose an attempt nor let a restart dial the same contact a second time."""
    if limit <= 0:
        return []
    now = now or utcnow()
    claims: list[Claim] = []
    with database.atomic():
        entries = list(CampaignContact.select()
                       .where(CampaignContact.campaign == campaign_id,
                              CampaignContact.state == "pending",
                              CampaignContact.next_attempt_at <= now)
                       .order_by(CampaignContact.next_attempt_at, CampaignContact.id)
                       .limit(limit))
        entries = _skip_dnc(entries)
        for entry in entries:
            updated = (CampaignContact.update(state="dialing", attempts=CampaignContact.attempts + 1)
                       .where(CampaignContact.id == entry.id, CampaignContact.state == "pending")
                       .execute())
            if not updated:
                continue
            channel_id = f"vx-{uuid.uuid4().hex}"
            call = Call.create(tenant=entry.tenant_id, campaign=campaign_id, contact=entry.contact_id,
                               entry=entry.id, direction="outbound", number=entry.phone,
                               channel_id=channel_id, started_at=now)
            claims.append(Claim(call.id, channel_id, entry.id, campaign_id, entry.tenant_id,
                                entry.phone))
    return claims


def _skip_dnc(entries: list[CampaignContact]) -> list[CampaignContact]:
    """Entries whose number is on the tenant's or the provider's DNC list now (one query) are
    marked "dnc" without a CDR; the rest are returned to be dialed. Checked at dial time, so a
    number added after the campaign started is still never called."""
    if not entries:
        return entries
    blocked = dnc_service.blocked_set(entries[0].tenant_id, [e.phone for e in entries])
    if not blocked:
        return entries
    skip = [e.id for e in entries if e.phone in blocked]
    (CampaignContact.update(state="dnc", last_disposition="DNC")
     .where(CampaignContact.id.in_(skip), CampaignContact.state == "pending").execute())
    return [e for e in entries if e.phone not in blocked]


def finish_call(call_id: int, answered_at: dt.datetime | None, ended_at: dt.datetime,
                cause: int, cause_txt: str, rang: bool = True) -> str | None:
    """Close a CDR and move its contact on. Idempotent: a CDR is closed once, never twice."""
    with database.atomic():
        call = Call.get_or_none(Call.id == call_id)
        if call is None or call.ended_at is not None:
            return None
        disp = disposition(answered_at is not None, cause, rang)
        if not rang and disp == "FAILED" and cause in (16, 18, 19):
            cause_txt = "no response from the trunk"
        duration = max(0, round((ended_at - call.started_at).total_seconds()))
        billsec = max(0, round((ended_at - answered_at).total_seconds())) if answered_at else 0
        (Call.update(answered_at=answered_at, ended_at=ended_at, duration=duration,
                     billsec=billsec, disposition=disp, hangup_cause=cause, cause_txt=cause_txt)
         .where(Call.id == call_id).execute())
        if call.entry_id:
            _advance_entry(call.entry_id, disp, ended_at)
    return disp


def _advance_entry(entry_id: int, disp: str, now: dt.datetime) -> None:
    entry = CampaignContact.get_by_id(entry_id)
    campaign = Campaign.get_by_id(entry.campaign_id)
    policy = RetryPolicy(campaign.retry_busy, campaign.retry_noanswer, campaign.retry_failed,
                         campaign.retry_interval)
    outcome = decide(disp, entry.attempts, policy, now)
    fields = {"state": outcome.state, "last_disposition": disp}
    if outcome.next_attempt_at:
        fields["next_attempt_at"] = outcome.next_attempt_at
    CampaignContact.update(**fields).where(CampaignContact.id == entry_id).execute()


def complete_if_finished(campaign_id: int) -> bool:
    """A running campaign with no contact left to dial or in a call is completed."""
    open_entries = (CampaignContact.select()
                    .where(CampaignContact.campaign == campaign_id,
                           CampaignContact.state.in_(["pending", "dialing"])).exists())
    if open_entries:
        return False
    return bool(Campaign.update(status="completed", status_reason="", finished_at=utcnow())
                .where(Campaign.id == campaign_id, Campaign.status == "running").execute())


def next_due_at(campaign_id: int):
    return (CampaignContact.select(fn.MIN(CampaignContact.next_attempt_at))
            .where(CampaignContact.campaign == campaign_id, CampaignContact.state == "pending")
            .scalar())


def pause_campaign(campaign_id: int, reason: str) -> None:
    (Campaign.update(status="paused", status_reason=reason[:250])
     .where(Campaign.id == campaign_id, Campaign.status == "running").execute())


def set_campaign_reason(campaign_id: int, reason: str) -> None:
    Campaign.update(status_reason=reason[:250]).where(Campaign.id == campaign_id).execute()


def open_calls() -> list[tuple[int, str, dt.datetime | None]]:
    """CDRs left open by an earlier run of the app (crash or restart)."""
    return [(c.id, c.channel_id, c.answered_at)
            for c in Call.select(Call.id, Call.channel_id, Call.answered_at)
            .where(Call.ended_at.is_null())]


# -- inbound ------------------------------------------------------------------------------------

def find_did(number: str) -> DidRoute | None:
    candidates = {number, number.lstrip("+"), "+" + number.lstrip("+")}
    did = (Did.select(Did, Tenant).join(Tenant)
           .where(Did.number.in_(list(candidates))).first())
    if did is None:
        return None
    return DidRoute(did.number, did.tenant_id, did.tenant.status, did.tenant.channel_limit,
                    did.greeting_file, did.greeting_text or did.tenant.greeting_text, did.ivr_id)


def open_inbound(tenant_id: int, did: str, caller: str, channel_id: str) -> int:
    return Call.create(tenant=tenant_id, direction="inbound", number=caller or "anonymous",
                       did=did, channel_id=channel_id, started_at=utcnow()).id


# -- status ---------------------------------------------------------------------------------------

def set_status(key: str, value: str) -> None:
    (SystemStatus.insert(key=key, value=value, updated_at=utcnow())
     .on_conflict(conflict_target=[SystemStatus.key],
                  update={SystemStatus.value: value, SystemStatus.updated_at: utcnow()})
     .execute())
