"""The CDR summary's figures as the report shows them: the rows of
voxcast.reports.cdr_summary.summary (per local day and campaign) folded per day (every day of
the period, a day without calls as zeros, so the chart's axis has no gaps), per campaign, and
in total; the CSV and the API read the same folds, so page, file and API agree."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from voxcast.reports.cdr_summary import SummaryRow
from voxcast.reports.period import ReportPeriod

CSV_HEADER = ["day", "campaign_id", "campaign", "calls", "answered", "unanswered",
              "answer_rate_pct", "billsec", "cost"]


@dataclass
class Totals:
    calls: int = 0
    answered: int = 0
    unanswered: int = 0
    billsec: int = 0
    cost: Decimal = field(default_factory=lambda: Decimal("0.0000"))

    def add(self, row: SummaryRow) -> None:
        self.calls += row.calls
        self.answered += row.answered
        self.unanswered += row.unanswered
        self.billsec += row.billsec
        self.cost += row.cost

    @property
    def answer_rate(self) -> Decimal | None:
        """Answered in % of the calls, two decimals; None without calls (not 0 %)."""
        if not self.calls:
            return None
        return (Decimal(self.answered) * 100 / self.calls).quantize(Decimal("0.01"))

    def as_dict(self) -> dict:
        rate = self.answer_rate
        return {"calls": self.calls, "answered": self.answered, "unanswered": self.unanswered,
                "answer_rate_pct": str(rate) if rate is not None else None,
                "billsec": self.billsec, "cost": str(self.cost)}


@dataclass
class DayTotals(Totals):
    day: dt.date = dt.date.min


@dataclass
class CampaignTotals(Totals):
    campaign_id: int | None = None
    campaign: str = ""


@dataclass
class Summary:
    period: ReportPeriod
    rows: list[SummaryRow]
    days: list[DayTotals]
    campaigns: list[CampaignTotals]
    total: Totals


def fold(period: ReportPeriod, rows: list[SummaryRow],
         campaign_id: int | None = None) -> Summary:
    """The folds of `rows`; with `campaign_id`, of that campaign's rows only (its own chart
    per day)."""
    if campaign_id is not None:
        rows = [r for r in rows if r.campaign_id == campaign_id]
    days = {d: DayTotals(day=d) for d in period.days()}
    campaigns: dict[int | None, CampaignTotals] = {}
    total = Totals()
    for row in rows:
        days[row.day].add(row)
        campaigns.setdefault(row.campaign_id, CampaignTotals(
            campaign_id=row.campaign_id, campaign=row.campaign)).add(row)
        total.add(row)
    # campaigns by name; calls of no campaign (inbound, phones) last
    ordered = sorted(campaigns.values(),
                     key=lambda c: (c.campaign_id is None, c.campaign.lower(), c.campaign_id or 0))
    return Summary(period, rows, list(days.values()), ordered, total)


def chart_data(summary: Summary, no_campaign: str) -> dict:
    """What static/cdr_summary.js draws: answered and unanswered per day and per campaign
    (`no_campaign` names the calls without one, in the viewer's language)."""
    return {
        "zone": summary.period.zone_name,
        "days": {"labels": [d.day.isoformat() for d in summary.days],
                 "answered": [d.answered for d in summary.days],
                 "unanswered": [d.unanswered for d in summary.days]},
        "campaigns": {"labels": [c.campaign or no_campaign for c in summary.campaigns],
                      "answered": [c.answered for c in summary.campaigns],
                      "unanswered": [c.unanswered for c in summary.campaigns]},
    }


def csv_rows(summary: Summary):
    """One line per day and campaign with calls, then a total line (day "total")."""
    for row in summary.rows:
        t = Totals()
        t.add(row)
        yield [row.day.isoformat(), row.campaign_id or "", row.campaign, row.calls, row.answered,
               row.unanswered, _pct(t.answer_rate), row.billsec, str(row.cost)]
    t = summary.total
    yield ["total", "", "", t.calls, t.answered, t.unanswered, _pct(t.answer_rate), t.billsec,
           str(t.cost)]


def row_dict(row: SummaryRow) -> dict:
    return {"day": row.day.isoformat(), "campaign_id": row.campaign_id,
            "campaign": row.campaign, "calls": row.calls, "answered": row.answered,
            "unanswered": row.unanswered, "billsec": row.billsec, "cost": str(row.cost)}


def _pct(value: Decimal | None) -> str:
    return str(value) if value is not None else ""
