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

from models import Call, Campaign, CampaignContact, Did, SystemStatus, Tenant, Timeslot, database
from models.entities import utcnow
from voxcast import calling_hours, dnc_service

from . import admission, credit

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
    amd_enabled: bool = False
    amd_action: str = "hangup"
    record: bool = False
    message_seconds: float = 0.0
    repeat_count: int = 1
    timezone: str = "UTC"
    # Calling windows that must all be open (tenant timeslots, campaign windows); empty: any.
    rule_sets: tuple = ()


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
    the previous transaction ran are committed together, so a busy dialer pays one fsync per
    batch, not per call; a failing job still fails alone (see _run_batch)."""

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
        """All jobs in one transaction. If one fails, the batch is rolled back and each job
        re-run in a transaction of its own, so only the failing job fails; savepoints per job
        would cost two statements each on every batch for a case that is rare."""
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                results = [func() for func, _ in batch]
        except Exception:
            if len(batch) == 1:
                self._run_alone(*batch[0])
            else:
                for func, future in batch:
                    self._run_alone(func, future)
            return
        for (_, future), result in zip(batch, results):
            future.set_result(result)

    def _run_alone(self, func, future) -> None:
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                result = func()
        except Exception as exc:
            if not isinstance(exc, (LookupError, ValueError)):
                log.warning("database job %s failed: %s", getattr(func, "func", func), exc)
            future.set_exception(exc)
            return
        future.set_result(result)


# -- campaigns ---------------------------------------------------------------------------------

def running_campaigns() -> list[CampaignPlan]:
    rows = list(Campaign.select(Campaign, Tenant).join(Tenant)
                .where(Campaign.status == "running", Tenant.status == "active"))
    slots: dict[int, list] = {}
    if rows:
        for slot in Timeslot.select().where(Timeslot.tenant.in_({c.tenant_id for c in rows})):
            slots.setdefault(slot.tenant_id, []).append(
                calling_hours.Window(slot.weekdays, slot.start_time, slot.end_time))
    return [CampaignPlan(c.id, c.tenant_id, c.type, c.name, c.channel_limit, c.tenant.channel_limit,
                         c.message_file, c.caller_id, c.dial_timeout,
                         amd_enabled=c.amd_enabled, amd_action=c.amd_action, record=c.record,
                         message_seconds=float(c.message_seconds or 0),
                         repeat_count=max(1, c.repeat_count or 1), timezone=c.tenant.timezone,
                         rule_sets=(tuple(slots.get(c.tenant_id, ())),
                                    tuple(calling_hours.windows_from_json(c.windows))))
            for c in rows]


def claim_due(campaign_id: int, limit: int, now: dt.datetime | None = None,
              rule_sets=()) -> list[Claim]:
    """Mark up to `limit` due contacts as dialing and open their CDRs, in one transaction, so a
    crash can never lose an attempt nor let a restart dial the same contact a second time.

    Batched: one select, one DNC query, one update and one insert per call of this function,
    whatever `limit`. Contacts whose own time zone is outside the calling windows (`rule_sets`)
    are moved to their next open moment instead, so they never hold up the others."""
    if limit <= 0:
        return []
    now = now or utcnow()
    with database.atomic():
        entries = list(CampaignContact
                       .select(CampaignContact.id, CampaignContact.tenant, CampaignContact.contact,
                               CampaignContact.phone)
                       .where(CampaignContact.campaign == campaign_id,
                              CampaignContact.state == "pending",
                              CampaignContact.next_attempt_at <= now)
                       .order_by(CampaignContact.next_attempt_at, CampaignContact.id)
                       .limit(limit))
        entries = _skip_dnc(entries)
        entries = credit.skip_unrated(entries, campaign_id, now)
        if any(rule_sets):
            entries = _defer_closed_contacts(entries, rule_sets, now)
        if not entries:
            return []
        ids = [e.id for e in entries]
        # One writer (this thread) claims entries, so none changes between select and update.
        (CampaignContact.update(state="dialing", attempts=CampaignContact.attempts + 1)
         .where(CampaignContact.id.in_(ids), CampaignContact.state == "pending").execute())
        channel_ids = {e.id: f"vx-{uuid.uuid4().hex}" for e in entries}
        Call.insert_many([{"tenant": e.tenant_id, "campaign": campaign_id, "contact": e.contact_id,
                           "entry": e.id, "direction": "outbound", "number": e.phone,
                           "channel_id": channel_ids[e.id], "started_at": now} for e in entries]
                         ).execute()
        call_ids = dict(Call.select(Call.channel_id, Call.id)
                        .where(Call.channel_id.in_(list(channel_ids.values()))).tuples())
        claims = [Claim(call_ids[channel_ids[e.id]], channel_ids[e.id], e.id, campaign_id,
                        e.tenant_id, e.phone) for e in entries]
        admitted, refused, reason = admission.check(claims)
        if refused:
            _unclaim(refused)
            if reason:
                Campaign.update(status_reason=reason[:250]).where(Campaign.id == campaign_id).execute()
    return admitted


def _unclaim(claims: list[Claim]) -> None:
    """Claims the admission checks refused: as if never claimed (no CDR, attempt not counted)."""
    Call.delete().where(Call.id.in_([c.call_id for c in claims])).execute()
    (CampaignContact.update(state="pending", attempts=CampaignContact.attempts - 1)
     .where(CampaignContact.id.in_([c.entry_id for c in claims])).execute())


def _defer_closed_contacts(entries, rule_sets, now: dt.datetime):
    keep, later = [], {}
    for e in entries:
        zone = calling_hours.number_timezone(e.phone)
        if calling_hours.contact_is_open(rule_sets, zone, now):
            keep.append(e)
        else:
            when = calling_hours.next_open(rule_sets, zone, now) or now + dt.timedelta(hours=1)
            later.setdefault(when, []).append(e.id)
    for when, ids in later.items():
        CampaignContact.update(next_attempt_at=when).where(CampaignContact.id.in_(ids)).execute()
    return keep


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


def mark_placed(call_ids: list[int], at: dt.datetime) -> None:
    """Asterisk accepted these originates: after a crash their calls count as dialed."""
    Call.update(placed_at=at).where(Call.id.in_(call_ids), Call.placed_at.is_null()).execute()


def mark_answered(call_id: int, at: dt.datetime) -> None:
    """Kept as soon as known, so a call lost in a crash is still billed up to when we noticed."""
    Call.update(answered_at=at, placed_at=fn.COALESCE(Call.placed_at, at)).where(
        Call.id == call_id, Call.answered_at.is_null()).execute()


def set_recording(call_id: int, name: str) -> None:
    Call.update(recording=name).where(Call.id == call_id).execute()


def finish_call(call_id: int, answered_at: dt.datetime | None, ended_at: dt.datetime,
                cause: int, cause_txt: str, rang: bool = True, machine: bool = False) -> str | None:
    """Close a CDR and move its contact on. Idempotent: a CDR is closed once, never twice."""
    with database.atomic():
        call = Call.get_or_none(Call.id == call_id)
        if call is None or call.ended_at is not None:
            return None
        answered_at = answered_at or call.answered_at
        disp = disposition(answered_at is not None, cause, rang, machine)
        if not rang and disp == "FAILED" and cause in (16, 18, 19):
            cause_txt = "no response from the trunk"
        _close(call, disp, answered_at, ended_at, cause, cause_txt)
    return disp


def _close(call: Call, disp: str, answered_at, ended_at: dt.datetime, cause: int,
           cause_txt: str) -> None:
    duration = max(0, round((ended_at - call.started_at).total_seconds()))
    billsec = max(0, round((ended_at - answered_at).total_seconds())) if answered_at else 0
    (Call.update(answered_at=answered_at, ended_at=ended_at, duration=duration,
                 billsec=billsec, disposition=disp, hangup_cause=cause, cause_txt=cause_txt[:250])
     .where(Call.id == call.id).execute())
    if call.entry_id:
        _advance_entry(call.entry_id, disp, ended_at)
    admission.finished(call.id)


def close_lost(call_id: int, noticed_at: dt.datetime) -> str | None:
    """A CDR an earlier run left open whose channel Asterisk no longer has. Never placed (no
    placed_at: the crash came before Asterisk accepted the originate): NOT PLACED, and the
    contact is queued again with its attempt uncounted. Answered: ANSWERED, billed up to when
    we noticed. Placed but not answered: FAILED, lost."""
    call = Call.get_or_none(Call.id == call_id)
    if call is None or call.ended_at is not None:
        return None
    if call.placed_at is None and call.answered_at is None:
        _close(call, "NOT PLACED", None, call.started_at, 0,
               "not placed: voxcast stopped before dialing; the contact is queued again")
        if call.entry_id:
            (CampaignContact.update(attempts=CampaignContact.attempts - 1)
             .where(CampaignContact.id == call.entry_id, CampaignContact.attempts > 0).execute())
        return "NOT PLACED"
    if call.answered_at is not None:
        _close(call, "ANSWERED", call.answered_at, noticed_at, 16,
               "ended while voxcast was not running; billed until noticed")
        return "ANSWERED"
    _close(call, "FAILED", None, noticed_at, 0, "lost: ended while voxcast was not running")
    return "FAILED"


def _advance_entry(entry_id: int, disp: str, now: dt.datetime) -> None:
    entry = CampaignContact.get_by_id(entry_id)
    campaign = Campaign.get_by_id(entry.campaign_id)
    policy = RetryPolicy(campaign.retry_busy, campaign.retry_noanswer, campaign.retry_failed,
                         campaign.retry_interval, campaign.retry_machine)
    outcome = decide(disp, entry.attempts, policy, now,
                     message_left=campaign.amd_action == "leave_message")
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
    """Why a running campaign is not dialing; a paused one keeps the reason it was paused for."""
    (Campaign.update(status_reason=reason[:250])
     .where(Campaign.id == campaign_id, Campaign.status == "running").execute())


@dataclass(frozen=True)
class OpenCall:
    call_id: int
    channel_id: str
    answered_at: dt.datetime | None
    claim: Claim | None  # campaign calls: enough to rebuild their flow handler
    plan: CampaignPlan | None


def open_calls() -> list[OpenCall]:
    """CDRs left open by an earlier run of the app (crash or restart), with what it takes to
    adopt their channels if Asterisk still has them."""
    calls = list(Call.select().where(Call.ended_at.is_null()))
    plans = {p.id: p for p in _plans_of({c.campaign_id for c in calls if c.campaign_id})}
    out = []
    for c in calls:
        plan = plans.get(c.campaign_id)
        claim = (Claim(c.id, c.channel_id, c.entry_id, c.campaign_id, c.tenant_id, c.number)
                 if plan and c.entry_id else None)
        out.append(OpenCall(c.id, c.channel_id, c.answered_at, claim, plan))
    return out


def _plans_of(campaign_ids) -> list[CampaignPlan]:
    if not campaign_ids:
        return []
    rows = Campaign.select(Campaign, Tenant).join(Tenant).where(Campaign.id.in_(list(campaign_ids)))
    return [CampaignPlan(c.id, c.tenant_id, c.type, c.name, c.channel_limit, c.tenant.channel_limit,
                         c.message_file, c.caller_id, c.dial_timeout, amd_enabled=c.amd_enabled,
                         amd_action=c.amd_action, record=c.record,
                         message_seconds=float(c.message_seconds or 0),
                         repeat_count=max(1, c.repeat_count or 1), timezone=c.tenant.timezone)
            for c in rows]


def recording_allowed(tenant_id: int, recordings_dir: str, sounds_dir: str) -> bool:
    """Recording adds to the tenant's disk use: refused once the quota is reached."""
    from pathlib import Path

    from voxcast import quotas
    tenant = Tenant.get_by_id(tenant_id)
    used_mb = quotas.disk_bytes(tenant, Path(sounds_dir), Path(recordings_dir)) / (1024 * 1024)
    return used_mb < tenant.disk_quota_mb


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
