"""Cost reports: call totals per day and per campaign for a period, and the charges of a
period as CSV. Queries take a tenant id (None: the provider, every tenant) and go through
models.tenancy.scoped."""
from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal

from peewee import JOIN, Case, fn

from models import Call, Campaign, Tenant
from models.entities import LedgerEntry, Message
from models.tenancy import scoped
from voxcast import csv_export

ZERO = Decimal("0")
CHARGE_KINDS = ("charge", "call", "sms", "fax", "email", "did_fee", "adjustment")
MESSAGE_KINDS = ("sms", "fax", "email")  # the ledger kinds of messages, = Message.channel
MESSAGE_REF = re.compile(r"^message:([0-9]{1,12})$")  # voxcast.messaging.dispatch's message_ref


@dataclass
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: dt.date | None = None) -> "Period":
        """From ?start=YYYY-MM-DD&end=YYYY-MM-DD; defaults to this month so far. A bad or
        reversed date falls back to the default rather than failing."""
        today = today or dt.datetime.now(dt.timezone.utc).date()
        default = cls(today.replace(day=1), today)
        try:
            period = cls(dt.date.fromisoformat(start or "") if start else default.start,
                         dt.date.fromisoformat(end or "") if end else default.end)
        except ValueError:
            return default
        if period.end < period.start or (period.end - period.start).days > 3660:
            return default
        return period

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time())


@dataclass
class Totals:
    key: object
    label: str
    calls: int
    answered: int
    billsec: int
    cost: Decimal


def _calls(tenant_id: int | None, period: Period):
    return scoped(Call, tenant_id).where(Call.started_at >= period.since,
                                         Call.started_at < period.until)


def _totals(rows, label) -> list[Totals]:
    out = []
    for key, calls, answered, billsec, cost in rows:
        out.append(Totals(key, label(key), int(calls or 0), int(answered or 0),
                          int(billsec or 0),
                          Decimal(str(cost or 0)).quantize(Decimal("0.0001"))))
    return out


def _aggregates():
    return (fn.COUNT(Call.id), fn.SUM(Case(None, [(Call.billsec > 0, 1)], 0)),
            fn.SUM(Call.billsec), fn.SUM(Call.cost))


def per_day(tenant_id: int | None, period: Period) -> list[Totals]:
    day = fn.DATE(Call.started_at)
    if Call._meta.database.obj.__class__.__name__.startswith("Postgres"):
        day = fn.TO_CHAR(Call.started_at, "YYYY-MM-DD")
    rows = (_calls(tenant_id, period).select(day.alias("day"), *_aggregates())
            .group_by(day).order_by(day).tuples())
    return _totals(rows, str)


def per_campaign(tenant_id: int | None, period: Period) -> list[Totals]:
    rows = list(_calls(tenant_id, period).select(Call.campaign, *_aggregates())
                .group_by(Call.campaign).tuples())
    names = dict(scoped(Campaign, tenant_id).select(Campaign.id, Campaign.name).tuples())
    totals = _totals(rows, lambda key: names.get(key, "") if key else "")
    return sorted(totals, key=lambda t: t.label.lower())


@dataclass
class MessageTotals:
    """Message charges of one key (a day, or a campaign) and kind (sms, fax, email)."""
    key: object
    label: str
    kind: str
    messages: int
    units: int  # SMS segments, fax pages, mails (from the message records; 0 if unknown)
    cost: Decimal


def _day(column):
    if column.model._meta.database.obj.__class__.__name__.startswith("Postgres"):
        return fn.TO_CHAR(column, "YYYY-MM-DD")
    return fn.DATE(column)


def message_charges_per_day(tenant_id: int | None, period: Period) -> list[MessageTotals]:
    """The ledger's SMS, fax and e-mail charges per day and kind (what was billed: a
    message is charged once, when it was accepted), with the units of their records."""
    day = _day(LedgerEntry.created_at)
    rows = (scoped(LedgerEntry, tenant_id)
            .select(day.alias("day"), LedgerEntry.kind, fn.COUNT(LedgerEntry.id),
                    fn.SUM(LedgerEntry.amount), fn.SUM(LedgerEntry.free_money))
            .where(LedgerEntry.kind.in_(MESSAGE_KINDS), LedgerEntry.created_at >= period.since,
                   LedgerEntry.created_at < period.until)
            .group_by(day, LedgerEntry.kind).order_by(day, LedgerEntry.kind).tuples())
    mday = _day(Message.created_at)
    units = {(str(d)[:10], k): int(u or 0) for d, k, u in
             scoped(Message, tenant_id)
             .select(mday, Message.channel, fn.SUM(Message.units))
             .where(Message.cost.is_null(False), Message.created_at >= period.since,
                    Message.created_at < period.until)
             .group_by(mday, Message.channel).tuples()}
    # the day as YYYY-MM-DD whatever the backend hands back (a date, a datetime or text)
    return [MessageTotals(str(d)[:10], str(d)[:10], kind, int(n or 0),
                          units.get((str(d)[:10], kind), 0), _charged(amount, free))
            for d, kind, n, amount, free in rows]


def _charged(amount, free) -> Decimal:
    """A charge's cost: what the paid balance lost (-amount) and what free credit covered."""
    return (-Decimal(str(amount or 0)) + Decimal(str(free or 0))).quantize(Decimal("0.0001"))


def message_charges_per_campaign(tenant_id: int | None, period: Period) -> list[MessageTotals]:
    """Charged messages per campaign and channel (from the message records: each holds its
    cost), by the day they were created."""
    from voxcast.messaging import records  # the message records report's own figures
    return [MessageTotals(t.campaign_id, t.campaign, t.channel, t.messages, t.units, t.cost)
            for t in records.cost_per_campaign(tenant_id, period.since, period.until)]


def message_grand_total(rows: list[MessageTotals]) -> MessageTotals:
    return MessageTotals(None, "", "", sum(r.messages for r in rows), sum(r.units for r in rows),
                         sum((r.cost for r in rows), ZERO))


def grand_total(rows: list[Totals]) -> Totals:
    return Totals(None, "", sum(r.calls for r in rows), sum(r.answered for r in rows),
                  sum(r.billsec for r in rows), sum((r.cost for r in rows), ZERO))


def statement(tenant_id: int | None, kinds: tuple[str, ...] | None = None):
    """The ledger newest first, optionally only some kinds."""
    query = scoped(LedgerEntry, tenant_id).order_by(LedgerEntry.created_at.desc(),
                                                     LedgerEntry.id.desc())
    if kinds:
        query = query.where(LedgerEntry.kind.in_(kinds))
    return query


def charges_csv(tenant_id: int | None, period: Period, zone=None) -> str:
    """Every charge of the period (calls, messages, fees, adjustments) with the call it
    belongs to; amounts are positive costs, free_money what free credit covered. Times in
    `zone` (the viewer's ZoneInfo), named in the header; UTC ("date_utc") without one."""
    buf = io.StringIO()
    writer = csv_export.writer(buf)  # every cell formula-safe
    writer.writerow([csv_export.time_header("date", zone), "tenant", "kind", "cost", "paid", "free_money",
                     "free_seconds", "balance_after", "call_id", "number", "billsec",
                     "campaign", "message_ref", "reference"])
    query = (scoped(LedgerEntry, tenant_id)
             .select(LedgerEntry, Call.number.alias("call_number"), Call.billsec.alias("call_billsec"),
                     Call.campaign.alias("call_campaign"))
             .join(Call, JOIN.LEFT_OUTER, on=(LedgerEntry.call == Call.id))
             .where(LedgerEntry.kind.in_(CHARGE_KINDS), LedgerEntry.created_at >= period.since,
                    LedgerEntry.created_at < period.until)
             .order_by(LedgerEntry.created_at, LedgerEntry.id))
    tenants = dict(Tenant.select(Tenant.id, Tenant.name).tuples())
    campaigns = dict(scoped(Campaign, tenant_id).select(Campaign.id, Campaign.name).tuples())
    entries = list(query.objects())
    message_campaigns = _message_campaigns(tenant_id, entries)
    for e in entries:
        paid = -e.amount
        has_call = e.call_id is not None
        writer.writerow([
            csv_export.local_time(e.created_at, zone), tenants.get(e.tenant_id, ""),
            e.kind, f"{paid + e.free_money:.4f}", f"{paid:.4f}", f"{e.free_money:.4f}",
            e.free_seconds, f"{e.balance_after:.4f}", e.call_id or "",
            (e.call_number or "") if has_call else "", e.call_billsec if has_call else "",
            campaigns.get(e.call_campaign, "") if has_call
            else campaigns.get(message_campaigns.get(e.message_ref), ""),
            e.message_ref or "", e.reference])
    return buf.getvalue()


def _message_campaigns(tenant_id: int | None, entries) -> dict[str, int]:
    """message_ref -> campaign id of the message charges among `entries` (read in chunks)."""
    ids = {}
    for e in entries:
        found = MESSAGE_REF.match(e.message_ref or "") if e.kind in MESSAGE_KINDS else None
        if found:
            ids[int(found.group(1))] = e.message_ref
    out: dict[str, int] = {}
    keys = sorted(ids)
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        for mid, cid in (scoped(Message, tenant_id).select(Message.id, Message.campaign)
                         .where(Message.id.in_(chunk), Message.campaign.is_null(False)).tuples()):
            out[ids[mid]] = cid
    return out
