"""The CDR summary: calls, answered and unanswered, billed seconds and cost per local day and
campaign of a report period (the chart and table of the CDR summary report, its CSV and API).

It reads CallHour, the CDRs counted per UTC hour of their start, campaign and direction
(kept by database triggers in the same transaction as each CDR changes, models.rollups): a
month of a large tenant is some twenty thousand rows, not its million CDRs. In a zone that is
not a whole number of hours from UTC, the one hour a day that local midnight cuts comes from
CallQuarter, the same per quarter hour: every zone's local midnight is on a quarter hour
(India +5:30, Nepal +5:45, Chatham +12:45), so each local day is an exact sum of whole
buckets either way. A bucket goes to its day by
comparing it with the days' UTC starts (a CASE over the period's boundaries), so DST days of
23 or 25 hours are right too. A period
whose bounds are not on quarter hours (a historical offset such as LMT) is counted from the
raw CDRs instead, the same figures.

Counted: every CDR but the agent and transfer legs, which belong to a call already counted
(an inbound queue call is one call, not two)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from peewee import SQL, Case, Value, fn

from models.entities import Call, CallHour, CallQuarter, Campaign
from voxcast.reports.agent_time import on_quarter_hours
from voxcast.reports.period import ReportPeriod, to_utc

LEG_DIRECTIONS = ("agent", "transfer")


@dataclass(frozen=True)
class SummaryRow:
    day: dt.date
    campaign_id: int | None
    campaign: str  # "" for calls of no campaign (inbound, phones)
    calls: int
    answered: int
    unanswered: int
    billsec: int
    cost: Decimal


def day_starts(period: ReportPeriod) -> list[dt.datetime]:
    """UTC start of each local day of the period, and the end of the last one."""
    days = period.days()
    return [to_utc(dt.datetime.combine(d, dt.time()), period.zone)
            for d in [*days, days[-1] + dt.timedelta(days=1)]]


def day_index(column, starts: list[dt.datetime]):
    """The index of the local day `column` falls in, as a nested CASE (a binary search over
    the days' UTC starts, so a year costs nine comparisons per row, not 365)."""
    def node(lo: int, hi: int):  # days lo..hi-1
        if hi - lo == 1:
            return Value(lo)
        mid = (lo + hi) // 2
        return Case(None, ((column < starts[mid], node(lo, mid)),), node(mid, hi))
    return node(0, len(starts) - 1)


def summary(tenant_id: int, period: ReportPeriod) -> list[SummaryRow]:
    """Rows by day, then campaign name; only days and campaigns with calls."""
    starts = day_starts(period)
    if on_quarter_hours(*starts):
        # hours that a local midnight cuts (18:00 UTC for India's 18:30) come from quarter
        # hours, every other hour from CallHour: a month of India costs what one of New York does
        cut = sorted({_hour(m) for m in starts if not _on_the_hour(m)})
        hours = [CallHour.bucket >= _hour(starts[0]), CallHour.bucket < starts[-1]]
        if cut:
            hours.append(CallHour.bucket.not_in(cut))
        found = _buckets(CallHour, tenant_id, starts, *hours)
        quarters = [h + dt.timedelta(minutes=15 * k) for h in cut for k in range(4)]
        quarters = [q for q in quarters if starts[0] <= q < starts[-1]]
        if quarters:
            found += _buckets(CallQuarter, tenant_id, starts,
                              CallQuarter.bucket.in_(quarters))
    else:
        found = _raw(tenant_id, starts)
    totals: dict[tuple[int, int], list] = {}
    for index, campaign_id, calls, answered, billsec, cost in found:
        acc = totals.setdefault((index, campaign_id or 0), [0, 0, 0, Decimal(0)])
        acc[0] += int(calls or 0)
        acc[1] += int(answered or 0)
        acc[2] += int(billsec or 0)
        acc[3] += Decimal(str(cost or 0))
    ids = {cid for _, cid in totals if cid}
    names = dict(Campaign.select(Campaign.id, Campaign.name)
                 .where(Campaign.id.in_(ids)).tuples()) if ids else {}
    days = period.days()
    rows = [SummaryRow(day=days[index], campaign_id=cid or None,
                       campaign=names.get(cid, "") if cid else "", calls=calls,
                       answered=answered, unanswered=calls - answered, billsec=billsec,
                       cost=_money(cost))
            for (index, cid), (calls, answered, billsec, cost) in totals.items() if calls]
    rows.sort(key=lambda r: (r.day, r.campaign.lower(), r.campaign_id or 0))
    return rows


def _buckets(table, tenant_id: int, starts: list[dt.datetime], *where) -> list[tuple]:
    """(day index, campaign id, calls, answered, billsec, cost) of a rollup's buckets; grouped
    by position: PostgreSQL would not see two copies of a CASE with bound parameters as the
    same expression."""
    day = day_index(table.bucket, starts)
    return list(table.select(day.alias("d"), table.campaign_id, fn.SUM(table.calls),
                             fn.SUM(table.answered), fn.SUM(table.billsec), fn.SUM(table.cost))
                .where(table.tenant == tenant_id, *where,
                       table.direction.not_in(LEG_DIRECTIONS))
                .group_by(SQL("1"), table.campaign_id).tuples())


def _raw(tenant_id: int, starts: list[dt.datetime]) -> list[tuple]:
    c = Call
    day = day_index(c.started_at, starts)
    answered = fn.SUM(Case(None, ((c.disposition == "ANSWERED", 1),), 0))
    return list(c.select(day.alias("d"), fn.COALESCE(c.campaign, 0), fn.COUNT(c.id), answered,
                         fn.SUM(c.billsec), fn.SUM(fn.COALESCE(c.cost, 0)))
                .where(c.tenant == tenant_id, c.started_at >= starts[0],
                       c.started_at < starts[-1], c.direction.not_in(LEG_DIRECTIONS))
                .group_by(SQL("1"), SQL("2")).tuples())


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _on_the_hour(moment: dt.datetime) -> bool:
    return moment.minute == 0 and moment.second == 0 and moment.microsecond == 0


def _money(value) -> Decimal:
    if value is None:
        return Decimal("0.0000")
    return Decimal(str(value)).quantize(Decimal("0.0001"))
