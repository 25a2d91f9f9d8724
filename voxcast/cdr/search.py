"""Finding a tenant's CDRs: the filters of the CDR detail report (local days in the viewer's
zone, number, direction, disposition, campaign, queue, agent), read once from request
parameters for the portal and the API alike, and the query they make.

Every id a filter names is checked against the tenant first (CdrFilterError, 404: another
tenant's campaign, queue or agent is "not found", never an empty list that confirms it
exists). Exports walk the result in keyset batches (`iterate`), so a CSV of any size holds
one batch in memory and no long transaction or server-side cursor stays open."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import JOIN

from models.entities import Call, Campaign, Queue, QueueCall, User
from models.tenancy import scoped
from voxcast.reports.filters import (BATCH, FilterError, keyset_batches, parse_id,
                                     parse_period, period_args)
from voxcast.reports.period import ReportPeriod

DIRECTIONS = ("outbound", "inbound", "agent", "transfer", "internal", "phone")
# what voxcast.cdr.dispositions and the flows write; a filter may name another (exact match)
DISPOSITIONS = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "MACHINE",
                "ABANDONED", "DNC")
NUMBER_RE = re.compile(r"^[0-9+*#]{1,32}$")


class CdrFilterError(FilterError):
    """A filter that cannot be used; `field` names the parameter."""


@dataclass(frozen=True)
class CdrFilter:
    zone: ZoneInfo               # the viewer's: the days of `period`, the times shown
    period: ReportPeriod | None  # None: every day (the list's default, newest first)
    number: str = ""          # part of the caller's / called number or the DID
    direction: str = ""
    disposition: str = ""
    campaign_id: int | None = None
    queue_id: int | None = None
    agent_id: int | None = None

    def as_args(self) -> dict[str, str]:
        """The query-string form (links: pager, CSV), empty filters left out."""
        out = period_args(self.period)
        for key, value in (("number", self.number), ("direction", self.direction),
                           ("disposition", self.disposition), ("campaign", self.campaign_id),
                           ("queue", self.queue_id), ("agent", self.agent_id)):
            if value:
                out[key] = str(value)
        return out


def _id(args: Mapping[str, str], name: str, strict: bool) -> int | None:
    return parse_id(args, name, strict=strict, error=CdrFilterError)


def parse(tenant_id: int, args: Mapping[str, str], zone: ZoneInfo, *, strict: bool = False,
          today: dt.date | None = None, names: Mapping[str, str] | None = None) -> CdrFilter:
    """The filter from request parameters start, end, number, direction, disposition and the
    ids campaign, queue, agent (`names` maps them to other parameter names, e.g. the API's
    campaign_id). Not strict (the portal): an unreadable value is ignored; strict (the API):
    CdrFilterError. Ids of another tenant: CdrFilterError 404 either way. Without start and
    end every day is searched; with one of them the other defaults as in ReportPeriod.parse
    (the first of this month, today)."""
    names = {k: (names or {}).get(k, k) for k in ("campaign", "queue", "agent")}
    period = parse_period(args, zone, strict=strict, today=today, error=CdrFilterError)
    number = (args.get("number") or "").strip().replace(" ", "")
    if number and not NUMBER_RE.match(number):
        if strict:
            raise CdrFilterError("number", "'number' may hold digits, + * # (up to 32).")
        number = ""
    direction = (args.get("direction") or "").strip()
    if direction and direction not in DIRECTIONS:
        if strict:
            raise CdrFilterError("direction", "'direction' must be one of "
                                 + ", ".join(DIRECTIONS) + ".")
        direction = ""
    disposition = (args.get("disposition") or "").strip().upper()
    if len(disposition) > 32:
        if strict:
            raise CdrFilterError("disposition", "'disposition' is at most 32 characters.")
        disposition = ""
    found = CdrFilter(zone, period, number, direction, disposition,
                      _id(args, names["campaign"], strict), _id(args, names["queue"], strict),
                      _id(args, names["agent"], strict))
    for value, model, name in ((found.campaign_id, Campaign, names["campaign"]),
                               (found.queue_id, Queue, names["queue"]),
                               (found.agent_id, User, names["agent"])):
        if value is not None and not scoped(model, tenant_id).where(model.id == value).exists():
            raise CdrFilterError(name, f"No such {name.removesuffix('_id')}.", status=404)
    return found


def query(tenant_id: int, f: CdrFilter):
    """The tenant's CDRs matching `f`, newest first (started_at, then id, both descending:
    the order the pages and the keyset batches rely on)."""
    q = scoped(Call, tenant_id)
    if f.period is not None:
        q = q.where(Call.started_at >= f.period.since, Call.started_at < f.period.until)
    if f.number:
        q = q.where(Call.number.contains(f.number) | Call.did.contains(f.number))
    if f.direction:
        q = q.where(Call.direction == f.direction)
    if f.disposition:
        q = q.where(Call.disposition == f.disposition)
    if f.campaign_id:
        q = q.where(Call.campaign == f.campaign_id)
    if f.agent_id:
        q = q.where(Call.agent == f.agent_id)
    if f.queue_id:
        # a queue's calls: the callers' CDRs and the agent legs that answered them
        stays = QueueCall.select(QueueCall.call).where(
            QueueCall.tenant == tenant_id, QueueCall.queue == f.queue_id,
            QueueCall.call.is_null(False))
        legs = QueueCall.select(QueueCall.agent_call).where(
            QueueCall.tenant == tenant_id, QueueCall.queue == f.queue_id,
            QueueCall.agent_call.is_null(False))
        q = q.where(Call.id.in_(stays) | Call.id.in_(legs))
    return q.order_by(Call.started_at.desc(), Call.id.desc())


def batches(tenant_id: int, f: CdrFilter, batch: int = BATCH) -> Iterator[list[Call]]:
    """Every matching CDR, newest first, `batch` rows at a time, each batch read after the
    last row of the one before (keyset, not OFFSET: each batch costs the same however deep
    the export is)."""
    return keyset_batches(lambda: query(tenant_id, f), Call.started_at, Call.id, batch)


@dataclass(frozen=True)
class CallNames:
    """Names of the campaigns, agents and queues a page of CDRs refers to, looked up once
    per page (not per row)."""
    campaigns: dict[int, str]
    agents: dict[int, str]
    queues: dict[int, str]   # call id -> queue name (its caller's stay or its agent leg)

    def campaign(self, call: Call) -> str:
        return self.campaigns.get(call.campaign_id, "") if call.campaign_id else ""

    def agent(self, call: Call) -> str:
        return self.agents.get(call.agent_id, "") if call.agent_id else ""

    def queue(self, call: Call) -> str:
        return self.queues.get(call.id, "")


def agent_name(user: User) -> str:
    return f"{user.first_name} {user.last_name}".strip() or user.username


def names_for(tenant_id: int, calls: list[Call]) -> CallNames:
    campaign_ids = {c.campaign_id for c in calls if c.campaign_id}
    agent_ids = {c.agent_id for c in calls if c.agent_id}
    call_ids = [c.id for c in calls]
    campaigns = dict(scoped(Campaign, tenant_id).select(Campaign.id, Campaign.name)
                     .where(Campaign.id.in_(campaign_ids)).tuples()) if campaign_ids else {}
    agents = {u.id: agent_name(u) for u in scoped(User, tenant_id)
              .where(User.id.in_(agent_ids))} if agent_ids else {}
    queues: dict[int, str] = {}
    if call_ids:
        rows = (QueueCall.select(QueueCall.call, QueueCall.agent_call, Queue.name)
                .join(Queue, JOIN.INNER, on=(QueueCall.queue == Queue.id))
                .where(QueueCall.tenant == tenant_id,
                       QueueCall.call.in_(call_ids) | QueueCall.agent_call.in_(call_ids))
                .tuples())
        wanted = set(call_ids)
        for caller_call, agent_call, name in rows:
            for cid in (caller_call, agent_call):
                if cid in wanted:
                    queues.setdefault(cid, name)
    return CallNames(campaigns, agents, queues)


