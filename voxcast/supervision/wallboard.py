"""The supervisor's wallboard, as data: the tenant's agents logged in now (state, time in it,
pause reason, the call they are on), its queues (callers waiting, longest wait, today's
answered / abandoned and service level) and every call in progress
(voxcast.reports.live). Flask-free; the web page and the API dump the same `Wallboard`.

A wallboard polls every 2-3 s, so everything here is an indexed read of what is live (open
sessions, open calls, open queue calls) plus the day's queue calls of the tenant; nothing
scans the state log or the CDR history (today's agent times are the agent statistics'
business, not the wallboard's)."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from peewee import JOIN

from models import Campaign, Extension, User
from models.entities import AgentSession, PauseReason, Queue
from models.tenancy import scoped
from voxcast.dialing import predictive
from voxcast.queues import stats as queue_stats
from voxcast.reports import live
from voxcast.reports.live import LiveCall


@dataclass(frozen=True)
class AgentNow:
    user_id: int
    session_id: int
    username: str
    name: str
    extension: str
    via: str
    state: str               # voxcast.agents.states: ready, ringing, on_call, wrapup, paused
    state_since: dt.datetime
    state_seconds: int
    pause_reason: str
    wrapup_until: dt.datetime | None
    call: LiveCall | None    # the call they ring for, talk on or wrap up

    def as_dict(self) -> dict:
        return {"user_id": self.user_id, "session_id": self.session_id,
                "username": self.username, "name": self.name, "extension": self.extension,
                "via": self.via, "state": self.state,
                "state_since": self.state_since.isoformat(timespec="seconds") + "Z",
                "state_seconds": self.state_seconds, "pause_reason": self.pause_reason or None,
                "wrapup_until": (self.wrapup_until.isoformat(timespec="seconds") + "Z"
                                 if self.wrapup_until else None),
                "call": self.call.as_dict() if self.call is not None else None}


@dataclass(frozen=True)
class QueueNow:
    queue_id: int
    name: str
    number: str
    figures: queue_stats.QueueFigures

    def as_dict(self) -> dict:
        return {**self.figures.as_dict(), "name": self.name, "number": self.number}


@dataclass(frozen=True)
class CampaignNow:
    """A running Voice Agent campaign: its calls now and its pacing figures (abandon rate
    over the run and the rolling window against its cap, dial level, answer rate, AHT)."""
    campaign_id: int
    name: str
    pacing_mode: str
    abandon_cap_pct: float
    calls: int
    waiting: int
    figures: dict

    def as_dict(self) -> dict:
        return {"campaign_id": self.campaign_id, "name": self.name,
                "pacing_mode": self.pacing_mode, "abandon_cap_pct": self.abandon_cap_pct,
                "calls": self.calls, "waiting": self.waiting, **self.figures}


@dataclass(frozen=True)
class Wallboard:
    now: dt.datetime
    since: dt.datetime       # the start of "today" the queues count from (naive UTC)
    agents: list[AgentNow]
    queues: list[QueueNow]
    calls: list[LiveCall]
    totals: dict[str, int] = field(default_factory=dict)
    campaigns: list[CampaignNow] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"now": self.now.isoformat(timespec="seconds") + "Z",
                "since": self.since.isoformat(timespec="seconds") + "Z",
                "service_seconds": queue_stats.SERVICE_SECONDS, "totals": self.totals,
                "agents": [a.as_dict() for a in self.agents],
                "queues": [q.as_dict() for q in self.queues],
                "campaigns": [c.as_dict() for c in self.campaigns],
                "calls": [c.as_dict() for c in self.calls]}


def _seconds(now: dt.datetime, since: dt.datetime) -> int:
    return max(0, int((now - since).total_seconds()))


def agents_now(tenant_id: int, now: dt.datetime, calls: dict[int, LiveCall]) -> list[AgentNow]:
    """The live sessions, by username; `calls` (by call id) gives each its call."""
    rows = (AgentSession.select(AgentSession.id, AgentSession.user, User.username,
                                User.first_name, User.last_name, Extension.number,
                                AgentSession.via, AgentSession.state, AgentSession.state_since,
                                PauseReason.name, AgentSession.wrapup_until, AgentSession.call)
            .join(User, on=(AgentSession.user == User.id))
            .switch(AgentSession).join(Extension, JOIN.LEFT_OUTER,
                                       on=(AgentSession.extension == Extension.id))
            .switch(AgentSession).join(PauseReason, JOIN.LEFT_OUTER,
                                       on=(AgentSession.pause_reason == PauseReason.id))
            .where(AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null())
            .order_by(User.username, AgentSession.id).tuples())
    legs = {c.agent_id: c for c in calls.values() if c.leg == "agent" and c.agent_id}
    newest: dict[int, AgentNow] = {}
    for (sid, uid, username, first, last, ext, via, state, since, reason, wrapup,
         call_id) in rows:
        call = calls.get(call_id) if call_id else None
        if call is None and state in ("on_call", "ringing"):
            # A manual dial or console call: the agent's own leg carries them.
            call = legs.get(uid)
        newest[uid] = AgentNow(
            user_id=uid, session_id=sid, username=username,
            name=f"{first or ''} {last or ''}".strip(), extension=ext or "", via=via,
            state=state, state_since=since, state_seconds=_seconds(now, since),
            pause_reason=reason or "", wrapup_until=wrapup, call=call)
    return sorted(newest.values(), key=lambda a: (a.username, a.session_id))


def queues_now(tenant_id: int, since: dt.datetime, now: dt.datetime) -> list[QueueNow]:
    figures = queue_stats.figures(tenant_id, since, now=now)
    rows = scoped(Queue, tenant_id).select(Queue.id, Queue.name, Queue.number).order_by(
        Queue.name, Queue.id).tuples()
    return [QueueNow(qid, name, number or "", figures.get(qid) or queue_stats.QueueFigures(qid))
            for qid, name, number in rows]


def campaigns_now(tenant_id: int, now: dt.datetime, calls: list[LiveCall]) -> list[CampaignNow]:
    """The tenant's running Voice Agent campaigns (the ones agents take calls for)."""
    rows = (scoped(Campaign, tenant_id)
            .select(Campaign.id, Campaign.name, Campaign.pacing_mode, Campaign.abandon_cap_pct)
            .where(Campaign.status == "running", Campaign.type == "voice_agent")
            .order_by(Campaign.name, Campaign.id).tuples())
    out = []
    for cid, name, mode, cap in rows:
        mine = [c for c in calls if c.campaign_id == cid and c.leg != "agent"]
        out.append(CampaignNow(
            campaign_id=cid, name=name, pacing_mode=mode, abandon_cap_pct=float(cap),
            calls=len(mine), waiting=sum(1 for c in mine if c.state == "queued"),
            figures=predictive.campaign_figures(tenant_id, cid, now)))
    return out


def build(tenant_id: int, now: dt.datetime, since: dt.datetime) -> Wallboard:
    """The wallboard at `now`; queue outcomes count from `since` (the viewer's midnight)."""
    calls = live.active_calls(tenant_id, now)
    by_id = {c.call_id: c for c in calls}
    agents = agents_now(tenant_id, now, by_id)
    queues = queues_now(tenant_id, since, now)
    states = Counter(a.state for a in agents)
    totals = {"agents": len(agents), **{s: states.get(s, 0) for s in
                                        ("ready", "ringing", "on_call", "wrapup", "paused")},
              "calls": len(calls),
              # queue callers and Voice Agent contacts waiting for an agent alike
              "waiting": sum(1 for c in calls if c.state == "queued"),
              "longest_wait": max((round(q.figures.longest_wait) for q in queues), default=0)}
    return Wallboard(now=now, since=since, agents=agents, queues=queues, calls=calls,
                     totals=totals, campaigns=campaigns_now(tenant_id, now, calls))
