"""Agent statistics over a report period: per agent the login, ready, ringing, talk, wrap-up
and pause time (per reason), calls offered / answered / missed, the average speed of answer and
the average handle time.

Times come from voxcast.reports.agent_time.totals (rows clipped to the period). Offers are the
agent's ringing stretches that began in the period; an offer was answered when the same
session's next stretch, starting the moment the ringing ended, is on_call (the state log
closes one row and opens the next with one timestamp, voxcast.agents.states), so answers and
their ringing time are one self-join of the log grouped by agent, not a walk of every row;
partial indexes over the ringing and the on_call rows (models.entities, m0015) make it an
index range plus one index probe per offer."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from peewee import fn

from models import User
from models.entities import AgentStateLog, PauseReason, utcnow
from voxcast import csv_export
from voxcast.reports import agent_time
from voxcast.reports.period import ReportPeriod
from voxcast.reports.sqlparts import seconds_between


@dataclass
class AgentRow:
    user_id: int
    username: str
    name: str
    login: float = 0.0
    ready: float = 0.0
    ringing: float = 0.0
    talk: float = 0.0
    wrapup: float = 0.0
    paused: float = 0.0
    pauses: dict[str, float] = field(default_factory=dict)  # reason name ("" none) -> seconds
    offered: int = 0
    answered: int = 0
    ring_answered: float = 0.0  # ringing seconds of the answered offers, summed

    @property
    def missed(self) -> int:
        """Offers not taken: no answer, refused, or (ring all) another agent was quicker."""
        return max(0, self.offered - self.answered)

    @property
    def asa(self) -> float | None:
        """Average speed of answer: seconds an answered offer rang."""
        return self.ring_answered / self.answered if self.answered else None

    @property
    def aht(self) -> float | None:
        """Average handle time: talk plus wrap-up per answered call."""
        return (self.talk + self.wrapup) / self.answered if self.answered else None

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 1)  # noqa: E731
        return {"user_id": self.user_id, "username": self.username, "name": self.name,
                "login": round(self.login), "ready": round(self.ready),
                "ringing": round(self.ringing), "talk": round(self.talk),
                "wrapup": round(self.wrapup), "paused": round(self.paused),
                "pauses": {k: round(v) for k, v in sorted(self.pauses.items())},
                "offered": self.offered, "answered": self.answered, "missed": self.missed,
                "asa": r(self.asa), "aht": r(self.aht)}


def reason_names(tenant_id: int) -> dict[int, str]:
    names = {rid: name for rid, name in PauseReason.select(PauseReason.id, PauseReason.name)
             .where(PauseReason.tenant == tenant_id).tuples()}
    names[0] = ""
    return names


def _offers(tenant_id: int, period: ReportPeriod, user_ids) -> dict[int, int]:
    log = AgentStateLog
    query = (log.select(log.user, fn.COUNT(log.id))
             .where(log.tenant == tenant_id, log.state == "ringing",
                    log.started_at >= period.since, log.started_at < period.until)
             .group_by(log.user))
    if user_ids is not None:
        query = query.where(log.user.in_(list(user_ids)))
    return dict(query.tuples())


def _answers(tenant_id: int, period: ReportPeriod, user_ids) -> dict[int, tuple[int, float]]:
    ring, talk = AgentStateLog.alias("ring"), AgentStateLog.alias("talk")
    query = (ring.select(ring.user, fn.COUNT(ring.id),
                         fn.SUM(seconds_between(ring.started_at, ring.ended_at)))
             .join(talk, on=((talk.session == ring.session) & (talk.started_at == ring.ended_at)
                             & (talk.state == "on_call")))
             .where(ring.tenant == tenant_id, ring.state == "ringing",
                    ring.started_at >= period.since, ring.started_at < period.until)
             .group_by(ring.user))
    if user_ids is not None:
        query = query.where(ring.user.in_(list(user_ids)))
    return {uid: (n, float(secs or 0)) for uid, n, secs in query.tuples()}


def report(tenant_id: int, period: ReportPeriod, *, user_ids=None,
           now: dt.datetime | None = None) -> list[AgentRow]:
    """Every agent with time or offers in the period, by username."""
    now = now or utcnow()
    times = agent_time.totals(tenant_id, period, user_ids, now=now)
    offers = _offers(tenant_id, period, user_ids)
    answers = _answers(tenant_id, period, user_ids)
    ids = set(times) | set(offers) | set(answers)
    users = {u.id: u for u in User.select().where(User.tenant == tenant_id, User.id.in_(ids))}
    reasons = reason_names(tenant_id)
    rows = []
    for uid in ids:
        user = users.get(uid)
        if user is None:  # a log row of another tenant's user cannot be ours; skip it
            continue
        row = AgentRow(uid, user.username, f"{user.first_name} {user.last_name}".strip())
        t = times.get(uid)
        if t is not None:
            row.login, row.ready, row.ringing = t.login, t.ready, t.ringing
            row.talk, row.wrapup, row.paused = t.talk, t.wrapup, t.paused
            for rid, secs in t.pause_by_reason.items():
                name = reasons.get(rid, str(rid))
                row.pauses[name] = row.pauses.get(name, 0.0) + secs
        row.offered = offers.get(uid, 0)
        row.answered, row.ring_answered = answers.get(uid, (0, 0.0))
        rows.append(row)
    return sorted(rows, key=lambda r: r.username.lower())


CSV_HEADER = ("username", "name", "login_s", "ready_s", "ringing_s", "talk_s", "wrapup_s",
              "paused_s", "offered", "answered", "missed", "asa_s", "aht_s")


def to_csv(rows: list[AgentRow]) -> str:
    """One line per agent; each pause reason a column paused:<name> (seconds)."""
    reasons = sorted({name for r in rows for name in r.pauses})
    buf = io.StringIO()
    out = csv_export.writer(buf)
    out.writerow([*CSV_HEADER, *(f"paused:{name or '-'}" for name in reasons)])
    for r in rows:
        out.writerow([r.username, r.name, *(round(v) for v in (
            r.login, r.ready, r.ringing, r.talk, r.wrapup, r.paused)),
            r.offered, r.answered, r.missed,
            "" if r.asa is None else f"{r.asa:.1f}", "" if r.aht is None else f"{r.aht:.1f}",
            *(round(r.pauses.get(name, 0.0)) for name in reasons)])
    return buf.getvalue()
