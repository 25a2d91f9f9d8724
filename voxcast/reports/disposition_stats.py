"""Disposition statistics over a report period: per agent and campaign the calls with each
disposition the agent recorded (Call.agent_disposition, the AgentDisposition's name), and per
agent the break time (pause time per reason, from voxcast.reports.agent_time).

A call counts once, on the caller's CDR (where the console records the disposition), by the
local day it started; an agent's own leg of a queue call is not counted again."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from peewee import fn

from models import Call, User
from models.entities import AgentDisposition, Campaign, QueueCall, utcnow
from voxcast import csv_export
from voxcast.reports import agent_time
from voxcast.reports.agent_stats import reason_names
from voxcast.reports.period import ReportPeriod

NO_CAMPAIGN = ""  # the campaign name shown for calls outside campaigns (queues, manual)


@dataclass
class DispositionRow:
    user_id: int
    username: str
    campaign_id: int | None
    campaign: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class BreakRow:
    user_id: int
    username: str
    paused: float = 0.0
    by_reason: dict[str, float] = field(default_factory=dict)


@dataclass
class DispositionReport:
    dispositions: list[str]  # column order: the tenant's dispositions by position, then others
    rows: list[DispositionRow]
    breaks: list[BreakRow]
    reasons: list[str]  # the pause reasons that occur, by name

    def totals(self) -> dict[str, int]:
        out = {name: 0 for name in self.dispositions}
        for row in self.rows:
            for name, n in row.counts.items():
                out[name] = out.get(name, 0) + n
        return out

    def as_dict(self) -> dict:
        return {"dispositions": self.dispositions,
                "items": [{"user_id": r.user_id, "username": r.username,
                           "campaign_id": r.campaign_id, "campaign": r.campaign,
                           "counts": {name: r.counts.get(name, 0) for name in self.dispositions},
                           "total": r.total} for r in self.rows],
                "breaks": [{"user_id": b.user_id, "username": b.username,
                            "paused": round(b.paused),
                            "by_reason": {k: round(v) for k, v in sorted(b.by_reason.items())}}
                           for b in self.breaks]}


def report(tenant_id: int, period: ReportPeriod, *, user_ids=None, campaign_ids=None,
           now: dt.datetime | None = None) -> DispositionReport:
    now = now or utcnow()
    agent_legs = QueueCall.select(QueueCall.agent_call).where(
        QueueCall.tenant == tenant_id, QueueCall.agent_call.is_null(False))
    query = (Call.select(Call.agent, Call.campaign, Call.agent_disposition, fn.COUNT(Call.id))
             .where(Call.tenant == tenant_id, Call.agent.is_null(False),
                    Call.direction != "agent", Call.agent_disposition != "",
                    Call.started_at >= period.since, Call.started_at < period.until,
                    Call.id.not_in(agent_legs))
             .group_by(Call.agent, Call.campaign, Call.agent_disposition))
    if user_ids is not None:
        query = query.where(Call.agent.in_(list(user_ids)))
    if campaign_ids is not None:
        query = query.where(Call.campaign.in_(list(campaign_ids)))
    counted: dict[tuple[int, int | None], dict[str, int]] = {}
    for uid, cid, name, n in query.tuples():
        counts = counted.setdefault((uid, cid), {})
        counts[name] = counts.get(name, 0) + n
    times = agent_time.totals(tenant_id, period, user_ids, now=now)
    ids = {uid for uid, _ in counted} | {uid for uid, t in times.items() if t.paused > 0}
    users = {u.id: u.username for u in User.select(User.id, User.username)
             .where(User.tenant == tenant_id, User.id.in_(ids))}
    campaigns = {c.id: c.name for c in Campaign.select(Campaign.id, Campaign.name)
                 .where(Campaign.tenant == tenant_id,
                        Campaign.id.in_([cid for _, cid in counted if cid is not None]))}
    known = [d.name for d in AgentDisposition.select(AgentDisposition.name)
             .where(AgentDisposition.tenant == tenant_id)
             .order_by(AgentDisposition.position, AgentDisposition.name)]
    seen = {name for counts in counted.values() for name in counts}
    columns = [n for n in dict.fromkeys(known) if n in seen] + sorted(seen - set(known))
    rows = [DispositionRow(uid, users[uid], cid, campaigns.get(cid, NO_CAMPAIGN), counts)
            for (uid, cid), counts in counted.items() if uid in users]
    rows.sort(key=lambda r: (r.username.lower(), r.campaign.lower(), r.campaign_id or 0))
    reasons = reason_names(tenant_id)
    breaks = []
    for uid, t in times.items():
        if uid not in users or t.paused <= 0:
            continue
        b = BreakRow(uid, users[uid], t.paused)
        for rid, secs in t.pause_by_reason.items():
            name = reasons.get(rid, str(rid))
            b.by_reason[name] = b.by_reason.get(name, 0.0) + secs
        breaks.append(b)
    breaks.sort(key=lambda b: b.username.lower())
    return DispositionReport(columns, rows, breaks,
                             sorted({n for b in breaks for n in b.by_reason}))


def to_csv(rep: DispositionReport) -> str:
    """One line per agent and campaign with the count of each disposition, then one line
    per agent (campaign "*breaks*") with the break time per reason in seconds, so the
    disposition columns add up to the calls and the break columns to the pauses."""
    buf = io.StringIO()
    out = csv_export.writer(buf)
    reasons = rep.reasons
    out.writerow(["username", "campaign", *rep.dispositions, "total", "paused_s",
                  *(f"paused:{name or '-'}" for name in reasons)])
    for r in rep.rows:
        out.writerow([r.username, r.campaign, *(r.counts.get(n, 0) for n in rep.dispositions),
                      r.total, "", *("" for _ in reasons)])
    for b in rep.breaks:
        out.writerow([b.username, "*breaks*", *("" for _ in rep.dispositions), "",
                      round(b.paused), *(round(b.by_reason.get(n, 0.0)) for n in reasons)])
    return buf.getvalue()
