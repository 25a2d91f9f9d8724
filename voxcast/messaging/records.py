"""Finding a tenant's message records (SMS, fax, e-mail; sent and received): the filters of
the message report (local days in the viewer's zone, channel, direction, campaign, state,
part of the address), read once from request parameters for the portal and the API alike,
the query they make, its CSV rows, and per-kind cost figures for the cost report.

The counterpart of voxcast.cdr.search: a campaign id of another tenant is a 404 (never an
empty list that confirms it exists); exports walk the result in keyset batches over the
(tenant, created_at) index, so a CSV of any size holds one batch in memory."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from peewee import fn

from models.entities import (Campaign, MESSAGE_CHANNELS, MESSAGE_STATES, Message,
                             MessagePart)
from models.tenancy import scoped
from voxcast.reports.filters import (BATCH, FilterError, keyset_batches, parse_id,
                                     parse_period, period_args)
from voxcast.reports.period import ReportPeriod

CHANNELS = MESSAGE_CHANNELS
DIRECTIONS = ("outbound", "inbound")
STATES = MESSAGE_STATES
MAX_ADDRESS = 254
FOUR = Decimal("0.0001")


class MessageFilterError(FilterError):
    """A filter that cannot be used; `field` names the parameter."""


@dataclass(frozen=True)
class MessageFilter:
    zone: ZoneInfo               # the viewer's: the days of `period`, the times shown
    period: ReportPeriod | None  # None: every day, newest first
    channel: str = ""
    direction: str = ""
    state: str = ""
    address: str = ""            # part of the other party's number or address
    campaign_id: int | None = None

    def as_args(self, campaign_name: str = "campaign") -> dict[str, str]:
        """The query-string form (links: pager, CSV), empty filters left out."""
        out = period_args(self.period)
        for key, value in (("channel", self.channel), ("direction", self.direction),
                           ("state", self.state), ("address", self.address),
                           (campaign_name, self.campaign_id)):
            if value:
                out[key] = str(value)
        return out


def _choice(args: Mapping[str, str], name: str, allowed, strict: bool) -> str:
    value = (args.get(name) or "").strip().lower()
    if value and value not in allowed:
        if strict:
            raise MessageFilterError(name, f"'{name}' must be one of " + ", ".join(allowed) + ".")
        return ""
    return value


def parse(tenant_id: int, args: Mapping[str, str], zone: ZoneInfo, *, strict: bool = False,
          today: dt.date | None = None, campaign_name: str = "campaign") -> MessageFilter:
    """The filter from request parameters start, end, channel, direction, state, address and
    the campaign id (`campaign_name`: "campaign" in the portal, "campaign_id" in the API).
    Not strict (the portal): an unreadable value is ignored; strict (the API):
    MessageFilterError. Another tenant's campaign: MessageFilterError 404 either way."""
    period = parse_period(args, zone, strict=strict, today=today, error=MessageFilterError)
    address = (args.get("address") or "").strip()
    if "@" not in address:  # a number as people write it: +49 170 123-4567
        address = address.replace(" ", "").replace("-", "")
    if len(address) > MAX_ADDRESS or any(c.isspace() for c in address):
        if strict:
            raise MessageFilterError("address", f"'address' is part of a number or e-mail "
                                                f"address (up to {MAX_ADDRESS} characters, "
                                                "no spaces).")
        address = ""
    campaign_id = parse_id(args, campaign_name, strict=strict, error=MessageFilterError)
    if campaign_id is not None and not scoped(Campaign, tenant_id).where(
            Campaign.id == campaign_id).exists():
        raise MessageFilterError(campaign_name, "No such campaign.", status=404)
    return MessageFilter(zone, period, _choice(args, "channel", CHANNELS, strict),
                         _choice(args, "direction", DIRECTIONS, strict),
                         _choice(args, "state", STATES, strict), address.lower(), campaign_id)


def query(tenant_id: int, f: MessageFilter):
    """The tenant's messages matching `f`, newest first (created_at, then id, descending:
    the order pages and keyset batches rely on)."""
    q = scoped(Message, tenant_id)
    if f.period is not None:
        q = q.where(Message.created_at >= f.period.since, Message.created_at < f.period.until)
    if f.channel:
        q = q.where(Message.channel == f.channel)
    if f.direction:
        q = q.where(Message.direction == f.direction)
    if f.state:
        q = q.where(Message.state == f.state)
    if f.campaign_id:
        q = q.where(Message.campaign == f.campaign_id)
    if f.address:
        # addresses are stored lower-cased (e-mail) or as E.164 numbers
        q = q.where(fn.LOWER(Message.address).contains(f.address))
    return q.order_by(Message.created_at.desc(), Message.id.desc())


def batches(tenant_id: int, f: MessageFilter, batch: int = BATCH) -> Iterator[list[Message]]:
    """Every matching message, newest first, `batch` rows at a time (keyset, not OFFSET)."""
    return keyset_batches(lambda: query(tenant_id, f), Message.created_at, Message.id, batch)


def campaign_names(tenant_id: int, messages: list[Message]) -> dict[int, str]:
    """Names of the campaigns a page of messages refers to, looked up once per page."""
    ids = {m.campaign_id for m in messages if m.campaign_id}
    if not ids:
        return {}
    return dict(scoped(Campaign, tenant_id).select(Campaign.id, Campaign.name)
                .where(Campaign.id.in_(ids)).tuples())


def get(tenant_id: int | None, message_id: int) -> Message:
    """One of the tenant's messages (None: the provider, any); LookupError otherwise."""
    row = scoped(Message, tenant_id).where(Message.id == message_id).first()
    if row is None:
        raise LookupError(message_id)
    return row


def parts(tenant_id: int, message: Message) -> list[MessagePart]:
    """An SMS's segments with their SMSC ids and receipts."""
    return list(scoped(MessagePart, tenant_id).where(MessagePart.message == message.id)
                .order_by(MessagePart.seq))


# -- CSV ------------------------------------------------------------------------------------

TIME_FIELDS = ("created_at", "submitted_at", "done_at")


def money(value) -> str | None:
    return str(Decimal(str(value)).quantize(FOUR)) if value is not None else None


def csv_header(zone_name: str) -> list[str]:
    return ["id", *(f"{name} ({zone_name})" for name in TIME_FIELDS), "channel", "direction",
            "address", "sender", "subject", "campaign_id", "campaign", "state", "error",
            "units", "encoding", "attempts", "cost", "external_id"]


def csv_row(m: Message, names: dict[int, str], local: Callable[[dt.datetime | None], str]) -> list:
    return [m.id, local(m.created_at), local(m.submitted_at), local(m.done_at), m.channel,
            m.direction, m.address, m.sender, m.subject, m.campaign_id or "",
            names.get(m.campaign_id, "") if m.campaign_id else "", m.state, m.error, m.units,
            m.encoding, m.attempts, money(m.cost) or "", m.external_id]


def csv_rows(tenant_id: int, f: MessageFilter,
             local: Callable[[dt.datetime | None], str]) -> Iterator[list]:
    for batch in batches(tenant_id, f):
        names = campaign_names(tenant_id, batch)
        for m in batch:
            yield csv_row(m, names, local)


# -- figures --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChannelTotals:
    """A campaign's (or no campaign's) messages of one channel in a period."""
    campaign_id: int | None
    campaign: str
    channel: str
    messages: int
    units: int
    cost: Decimal


def cost_per_campaign(tenant_id: int | None, since: dt.datetime,
                      until: dt.datetime) -> list[ChannelTotals]:
    """Charged messages (cost set) per campaign and channel, by the time they were
    created, for the cost report: one GROUP BY over the tenant's messages of the period."""
    q = scoped(Message, tenant_id).where(Message.created_at >= since,
                                         Message.created_at < until,
                                         Message.cost.is_null(False))
    rows = list(q.select(Message.campaign, Message.channel, fn.COUNT(Message.id),
                         fn.SUM(Message.units), fn.SUM(Message.cost))
                .group_by(Message.campaign, Message.channel).tuples())
    ids = {cid for cid, *_ in rows if cid}
    names = dict(scoped(Campaign, tenant_id).select(Campaign.id, Campaign.name)
                 .where(Campaign.id.in_(ids)).tuples()) if ids else {}
    out = [ChannelTotals(cid, names.get(cid, "") if cid else "", channel, int(n or 0),
                         int(units or 0), Decimal(str(cost or 0)).quantize(FOUR))
           for cid, channel, n, units, cost in rows]
    return sorted(out, key=lambda t: (t.campaign.lower(), t.campaign_id or 0, t.channel))
