"""The Stasis app's database work. Every function here runs on one writer thread, so the event
loop never blocks on SQLite or PostgreSQL and writes never contend with each other."""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from peewee import fn

from models import Call, Campaign, CampaignContact, Did, SystemStatus, Tenant, database
from models.entities import utcnow

from .dispositions import disposition
from .retry import RetryPolicy, decide


@dataclass(frozen=True)
class CampaignPlan:
    id: int
    tenant_id: int
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


class Store:
    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")

    async def run(self, func, *args, **kw):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(_in_connection, func, *args, **kw))

    def close(self):
        self._pool.shutdown(wait=True)


def _in_connection(func, *args, **kw):
    database.connect(reuse_if_open=True)
    return func(*args, **kw)


# -- campaigns ---------------------------------------------------------------------------------

def running_campaigns() -> list[CampaignPlan]:
    rows = (Campaign.select(Campaign, Tenant).join(Tenant)
            .where(Campaign.status == "running", Tenant.status == "active"))
    return [CampaignPlan(c.id, c.tenant_id, c.name, c.channel_limit, c.tenant.channel_limit,
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
                    did.greeting_file, did.greeting_text or did.tenant.greeting_text)


def open_inbound(tenant_id: int, did: str, caller: str, channel_id: str) -> int:
    return Call.create(tenant=tenant_id, direction="inbound", number=caller or "anonymous",
                       did=did, channel_id=channel_id, started_at=utcnow()).id


# -- status ---------------------------------------------------------------------------------------

def set_status(key: str, value: str) -> None:
    (SystemStatus.insert(key=key, value=value, updated_at=utcnow())
     .on_conflict(conflict_target=[SystemStatus.key],
                  update={SystemStatus.value: value, SystemStatus.updated_at: utcnow()})
     .execute())
