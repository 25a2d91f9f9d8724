"""Agent statistics from the state log: time in each state, each row's stretch clipped to
[since, until) (a row still open runs to now or `until`, whichever comes first); login time
is the sum of every state but logged_out. `agent_report` adds offers, answers, answer speed,
pauses per reason and the dispositions recorded."""
from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field

from peewee import JOIN, fn

from models import Call, User
from models.entities import (
    AGENT_STATES, AgentSession, AgentStateLog, PauseReason, QueueCall, utcnow,
)
from voxcast import csv_export


def _rows(tenant_id: int, since: dt.datetime, until: dt.datetime, user_id: int | None):
    query = (AgentStateLog.select(AgentStateLog.user, AgentStateLog.state,
                                  AgentStateLog.started_at, AgentStateLog.ended_at,
                                  PauseReason.name)
             .join(PauseReason, JOIN.LEFT_OUTER,
                   on=(AgentStateLog.pause_reason == PauseReason.id))
             .where(AgentStateLog.tenant == tenant_id, AgentStateLog.started_at < until,
                    AgentStateLog.ended_at.is_null() | (AgentStateLog.ended_at > since)))
    if user_id is not None:
        query = query.where(AgentStateLog.user == user_id)
    return query.tuples()


def _seconds(start, end, since, until, now) -> float:
    end = end if end is not None else now
    return max(0.0, (min(end, until) - max(start, since)).total_seconds())


def _empty() -> dict[str, float]:
    out = {state: 0.0 for state in AGENT_STATES}
    out["login"] = 0.0
    return out


def time_in_states(tenant_id: int, user_id: int, since: dt.datetime, until: dt.datetime,
                   *, now: dt.datetime | None = None) -> dict[str, float]:
    """{state: seconds} for every agent state, plus "login" (all but logged_out)."""
    return by_user(tenant_id, since, until, now=now, user_id=user_id).get(user_id, _empty())


def by_user(tenant_id: int, since: dt.datetime, until: dt.datetime, *,
            now: dt.datetime | None = None, user_id: int | None = None
            ) -> dict[int, dict[str, float]]:
    """time_in_states for every agent of the tenant who has log rows in the stretch."""
    now = now or utcnow()
    out: dict[int, dict[str, float]] = defaultdict(_empty)
    for uid, state, start, end, _reason in _rows(tenant_id, since, until, user_id):
        seconds = _seconds(start, end, since, until, now)
        out[uid][state] = out[uid].get(state, 0.0) + seconds
        if state != "logged_out":
            out[uid]["login"] += seconds
    return dict(out)


def pause_by_reason(tenant_id: int, user_id: int | None, since: dt.datetime,
                    until: dt.datetime, *, now: dt.datetime | None = None) -> dict[str, float]:
    """Paused seconds per reason name ("" for a pause without a reason)."""
    now = now or utcnow()
    out: dict[str, float] = defaultdict(float)
    for _uid, state, start, end, reason in _rows(tenant_id, since, until, user_id):
        if state == "paused":
            out[reason or ""] += _seconds(start, end, since, until, now)
    return dict(out)


@dataclass
class AgentReport:
    """One agent's figures for a stretch: what a supervisor's agent statistics show."""
    user_id: int
    username: str
    name: str
    sessions: int = 0
    seconds: dict[str, float] = field(default_factory=_empty)
    offers: int = 0  # calls that rang the agent (ACD offers and their own manual calls)
    answered: int = 0
    answer_seconds: float = 0.0  # ringing time of the answered offers, summed
    pauses: dict[str, float] = field(default_factory=dict)  # reason name -> seconds
    dispositions: dict[str, int] = field(default_factory=dict)  # name -> calls

    @property
    def missed(self) -> int:
        """Offers the agent did not take: no answer, busy, or (ring all) another agent was
        quicker."""
        return max(0, self.offers - self.answered)

    @property
    def answer_speed(self) -> float | None:
        """Average seconds an answered call rang, None without answered calls."""
        return self.answer_seconds / self.answered if self.answered else None

    @property
    def average_talk(self) -> float | None:
        return self.seconds["on_call"] / self.answered if self.answered else None


def agent_report(tenant_id: int, since: dt.datetime, until: dt.datetime, *,
                 now: dt.datetime | None = None) -> list[AgentReport]:
    """Every agent of the tenant with a session in the stretch (or an agent now), by
    username: time per state, offers and answers (from the log's ringing -> on_call steps),
    the average answer speed, pauses per reason and the dispositions they recorded."""
    now = now or utcnow()
    users = {u.id: u for u in User.select().where(User.tenant == tenant_id,
                                                  User.role == "agent")}
    rows = (AgentStateLog.select(AgentStateLog.user, AgentStateLog.session, AgentStateLog.state,
                                 AgentStateLog.started_at, AgentStateLog.ended_at,
                                 PauseReason.name)
            .join(PauseReason, JOIN.LEFT_OUTER, on=(AgentStateLog.pause_reason == PauseReason.id))
            .where(AgentStateLog.tenant == tenant_id, AgentStateLog.started_at < until,
                   AgentStateLog.ended_at.is_null() | (AgentStateLog.ended_at > since))
            .order_by(AgentStateLog.session, AgentStateLog.started_at, AgentStateLog.id).tuples())
    reports: dict[int, AgentReport] = {}

    def report(uid: int) -> AgentReport:
        if uid not in reports:
            user = users.get(uid) or User.get_or_none(User.id == uid)
            reports[uid] = AgentReport(
                user_id=uid, username=user.username if user else str(uid),
                name=f"{user.first_name} {user.last_name}".strip() if user else "")
        return reports[uid]

    sessions_seen: set[int] = set()
    previous = None  # (session, state, start, end) of the row before, same session
    for uid, session_id, state, start, end, reason in rows:
        rep = report(uid)
        if session_id not in sessions_seen and state != "logged_out":
            sessions_seen.add(session_id)
            rep.sessions += 1
        seconds = _seconds(start, end, since, until, now)
        rep.seconds[state] += seconds
        if state != "logged_out":
            rep.seconds["login"] += seconds
        if state == "paused":
            rep.pauses[reason or ""] = rep.pauses.get(reason or "", 0.0) + seconds
        if state == "ringing" and start >= since:
            rep.offers += 1
        if (state == "on_call" and previous is not None and previous[0] == session_id
                and previous[1] == "ringing" and start >= since):
            rep.answered += 1
            rep.answer_seconds += ((previous[3] or start) - previous[2]).total_seconds()
        previous = (session_id, state, start, end)
    agent_legs = QueueCall.select(QueueCall.agent_call).where(
        QueueCall.tenant == tenant_id, QueueCall.agent_call.is_null(False))
    for uid, name, count in (Call.select(Call.agent, Call.agent_disposition, fn.COUNT(Call.id))
                             .where(Call.tenant == tenant_id, Call.agent.is_null(False),
                                    Call.direction != "agent",
                                    Call.agent_disposition != "", Call.started_at >= since,
                                    Call.started_at < until, Call.id.not_in(agent_legs))
                             .group_by(Call.agent, Call.agent_disposition).tuples()):
        report(uid).dispositions[name] = count
    for uid in (s for (s,) in AgentSession.select(AgentSession.user).where(
            AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null()).tuples()):
        report(uid)
    return sorted(reports.values(), key=lambda r: r.username.lower())


CSV_HEADER = ("username", "name", "sessions", "login_s", "ready_s", "ringing_s", "on_call_s",
              "wrapup_s", "paused_s", "offered", "answered", "not_answered", "answer_speed_s",
              "average_talk_s", "breaks", "dispositions")


def report_csv(report: list[AgentReport]) -> str:
    """The agent statistics as CSV (formula-safe, voxcast.csv_export); seconds as integers,
    breaks and dispositions as "name=value" lists."""
    buf = io.StringIO()
    out = csv_export.writer(buf)
    out.writerow(CSV_HEADER)
    for r in report:
        s = r.seconds
        out.writerow([
            r.username, r.name, r.sessions, *(round(s[k]) for k in (
                "login", "ready", "ringing", "on_call", "wrapup", "paused")),
            r.offers, r.answered, r.missed,
            "" if r.answer_speed is None else f"{r.answer_speed:.1f}",
            "" if r.average_talk is None else f"{r.average_talk:.0f}",
            "; ".join(f"{name or '-'}={round(sec)}" for name, sec in sorted(r.pauses.items())),
            "; ".join(f"{name}={n}" for name, n in sorted(r.dispositions.items()))])
    return buf.getvalue()
