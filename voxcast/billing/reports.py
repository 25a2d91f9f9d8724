"""Cost reports: call totals per day and per campaign for a period, and the charges of a
period as CSV. Queries take a tenant id (None: the provider, every tenant) and go through
models.tenancy.scoped."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

from peewee import JOIN, Case, fn

from models import Call, Campaign, Tenant
from models.entities import LedgerEntry
from models.tenancy import scoped
from voxcast import csv_export

ZERO = Decimal("0")
CHARGE_KINDS = ("charge", "call", "sms", "fax", "email", "did_fee", "adjustment")


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


def charges_csv(tenant_id: int | None, period: Period) -> str:
    """Every charge of the period (calls, messages, fees, adjustments) with the call it
    belongs to; amounts are positive costs, free_money what free credit covered."""
    buf = io.StringIO()
    writer = csv_export.writer(buf)  # every cell formula-safe
    writer.writerow(["date_utc", "tenant", "kind", "cost", "paid", "free_money",
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
    for e in query.objects():
        paid = -e.amount
        has_call = e.call_id is not None
        writer.writerow([
            e.created_at.strftime("%Y-%m-%d %H:%M:%S"), tenants.get(e.tenant_id, ""),
            e.kind, f"{paid + e.free_money:.4f}", f"{paid:.4f}", f"{e.free_money:.4f}",
            e.free_seconds, f"{e.balance_after:.4f}", e.call_id or "",
            (e.call_number or "") if has_call else "", e.call_billsec if has_call else "",
            campaigns.get(e.call_campaign, "") if has_call else "",
            e.message_ref or "", e.reference])
    return buf.getvalue()
