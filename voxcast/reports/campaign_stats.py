"""Campaign statistics over a report period: per campaign the attempts (outbound calls placed
that started in the period), the contacts reached (distinct contacts a person answered for),
answered, machine, busy, no answer, failed, the talk time and cost of those calls; for Voice
Agent campaigns the calls a person answered and an agent was looked for, those abandoned and
the abandon rate (abandoned over live-answered, the regulators' measure); and the outcomes
(press-1, opt-out, reminder confirmations, surveys: CampaignContact.result) of the contacts
called in the period. SMS and e-mail campaigns count their messages (created in the period)
as attempts, delivered or sent ones as answered, the failed ones as failed, and the contacts
they reached; every message campaign's cost includes its messages' charges (a fax's pages)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from peewee import fn

from models import Call
from models.entities import Campaign, CampaignContact, Message, QueueCall
from voxcast import csv_export
from voxcast.campaigns.flows_config import RESULTS
from voxcast.reports.period import ReportPeriod


CENT = Decimal("0.0001")


def money(value) -> Decimal:
    """A SUM of Call.cost as a Decimal of 4 places (SQLite sums decimals as floats)."""
    return Decimal(str(value or 0)).quantize(CENT)


@dataclass
class CampaignRow:
    campaign_id: int
    name: str
    type: str
    attempts: int = 0
    reached: int = 0
    answered: int = 0
    machine: int = 0
    busy: int = 0
    no_answer: int = 0
    failed: int = 0
    billsec: int = 0
    cost: Decimal = Decimal("0")
    agent_calls: int = 0  # Voice Agent: a person answered, an agent was looked for
    connected: int = 0
    abandoned: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {k: 0 for k in RESULTS})

    @property
    def answer_rate(self) -> float | None:
        return 100.0 * self.answered / self.attempts if self.attempts else None

    @property
    def abandon_rate(self) -> float | None:
        return 100.0 * self.abandoned / self.agent_calls if self.agent_calls else None

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 2)  # noqa: E731
        return {"campaign_id": self.campaign_id, "name": self.name, "type": self.type,
                "attempts": self.attempts, "reached": self.reached, "answered": self.answered,
                "machine": self.machine, "busy": self.busy, "no_answer": self.no_answer,
                "failed": self.failed, "billsec": self.billsec, "cost": f"{self.cost:.4f}",
                "answer_rate": r(self.answer_rate), "agent_calls": self.agent_calls,
                "connected": self.connected, "abandoned": self.abandoned,
                "abandon_rate": r(self.abandon_rate), "outcomes": dict(self.outcomes)}


def report(tenant_id: int, period: ReportPeriod, *, campaign_ids=None) -> list[CampaignRow]:
    """Campaigns with calls in the period (or the ones asked for), by name."""
    in_period = ((Call.tenant == tenant_id) & (Call.campaign.is_null(False))
                 & (Call.direction == "outbound") & (Call.started_at >= period.since)
                 & (Call.started_at < period.until))
    if campaign_ids is not None:
        in_period &= Call.campaign.in_(list(campaign_ids))
    calls = (Call.select(Call.campaign, Call.disposition, fn.COUNT(Call.id),
                         fn.SUM(Call.billsec), fn.SUM(Call.cost))
             .where(in_period).group_by(Call.campaign, Call.disposition).tuples())
    figures: dict[int, list] = {}
    for cid, disposition, n, billsec, cost in calls:
        figures.setdefault(cid, []).append((disposition, n, billsec or 0, cost))
    messages = _message_figures(tenant_id, period, campaign_ids)
    wanted = set(figures) | set(messages) if campaign_ids is None else set(campaign_ids)
    campaigns = (Campaign.select(Campaign.id, Campaign.name, Campaign.type)
                 .where(Campaign.tenant == tenant_id, Campaign.id.in_(list(wanted))))
    rows = {c.id: CampaignRow(c.id, c.name, c.type) for c in campaigns}
    if not rows:
        return []
    for cid, items in figures.items():
        row = rows.get(cid)
        if row is None:
            continue
        for disposition, n, billsec, cost in items:
            if disposition == "NOT PLACED":  # a crash came before the originate
                continue
            row.attempts += n
            row.billsec += int(billsec)
            row.cost += money(cost)
            if disposition == "ANSWERED":
                row.answered += n
            elif disposition == "MACHINE":
                row.machine += n
            elif disposition == "BUSY":
                row.busy += n
            elif disposition == "NO ANSWER":
                row.no_answer += n
            elif disposition in ("FAILED", "CONGESTION"):
                row.failed += n
    for cid, items in messages.items():
        row = rows.get(cid)
        if row is not None:
            _count_messages(row, items)
    ids = list(rows)
    reached = (Call.select(Call.campaign, fn.COUNT(Call.contact.distinct()))
               .where(in_period, Call.campaign.in_(ids), Call.disposition == "ANSWERED")
               .group_by(Call.campaign).tuples())
    for cid, n in reached:
        rows[cid].reached = n
    reached_by_message = (
        Message.select(Message.campaign, fn.COUNT(Message.contact.distinct()))
        .where(_messages_in(tenant_id, period), Message.campaign.in_(ids),
               Message.state.in_(MESSAGE_SUCCESS))
        .group_by(Message.campaign).tuples())
    for cid, n in reached_by_message:
        if rows[cid].type in MESSAGE_ONLY:
            rows[cid].reached = n
    queue_calls = (QueueCall.select(QueueCall.campaign, QueueCall.outcome, fn.COUNT(QueueCall.id))
                   .where(QueueCall.tenant == tenant_id, QueueCall.campaign.in_(ids),
                          QueueCall.entered_at >= period.since,
                          QueueCall.entered_at < period.until)
                   .group_by(QueueCall.campaign, QueueCall.outcome).tuples())
    for cid, outcome, n in queue_calls:
        rows[cid].agent_calls += n
        if outcome == "abandoned":
            rows[cid].abandoned += n
        elif outcome == "answered":
            rows[cid].connected += n
    called = Call.select(Call.entry).where(in_period, Call.campaign.in_(ids),
                                           Call.entry.is_null(False))
    outcomes = (CampaignContact.select(CampaignContact.campaign, CampaignContact.result,
                                       fn.COUNT(CampaignContact.id))
                .where(CampaignContact.tenant == tenant_id, CampaignContact.campaign.in_(ids),
                       CampaignContact.result != "", CampaignContact.id.in_(called))
                .group_by(CampaignContact.campaign, CampaignContact.result).tuples())
    for cid, result, n in outcomes:
        out = rows[cid].outcomes
        out[result] = out.get(result, 0) + n
    return sorted(rows.values(), key=lambda r: (r.name.lower(), r.campaign_id))


# SMS and e-mail campaigns place no calls: their messages are their attempts (a fax
# campaign's attempts are its calls; its pages are charged on its messages).
MESSAGE_ONLY = ("sms", "email")
MESSAGE_SUCCESS = ("delivered", "sent")
MESSAGE_FAILED = ("undelivered", "expired", "rejected", "failed", "bounced")


def _messages_in(tenant_id: int, period: ReportPeriod):
    return ((Message.tenant == tenant_id) & (Message.campaign.is_null(False))
            & (Message.direction == "outbound") & (Message.created_at >= period.since)
            & (Message.created_at < period.until))


def _message_figures(tenant_id: int, period: ReportPeriod, campaign_ids) -> dict[int, list]:
    """Messages of campaigns created in the period, per campaign and state (one GROUP BY)."""
    where = _messages_in(tenant_id, period)
    if campaign_ids is not None:
        where &= Message.campaign.in_(list(campaign_ids))
    out: dict[int, list] = {}
    for cid, state, n, cost in (Message.select(Message.campaign, Message.state,
                                               fn.COUNT(Message.id), fn.SUM(Message.cost))
                                .where(where).group_by(Message.campaign, Message.state)
                                .tuples()):
        out.setdefault(cid, []).append((state, n, cost))
    return out


def _count_messages(row: CampaignRow, items: list) -> None:
    for state, n, cost in items:
        row.cost += money(cost)
        if row.type not in MESSAGE_ONLY:
            continue
        row.attempts += n
        if state in MESSAGE_SUCCESS:
            row.answered += n
        elif state in MESSAGE_FAILED:
            row.failed += n


CSV_HEADER = ("campaign", "type", "attempts", "reached", "answered", "answer_rate_pct",
              "machine", "busy", "no_answer", "failed", "billsec", "cost", "agent_calls",
              "connected", "abandoned", "abandon_rate_pct", *RESULTS)


def to_csv(rows: list[CampaignRow]) -> str:
    buf = io.StringIO()
    out = csv_export.writer(buf)
    out.writerow(CSV_HEADER)
    f = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
    for r in rows:
        out.writerow([r.name, r.type, r.attempts, r.reached, r.answered, f(r.answer_rate),
                      r.machine, r.busy, r.no_answer, r.failed, r.billsec, f"{r.cost:.4f}",
                      r.agent_calls, r.connected, r.abandoned, f(r.abandon_rate),
                      *(r.outcomes.get(k, 0) for k in RESULTS)])
    return buf.getvalue()
