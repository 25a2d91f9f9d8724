"""Time in each state, summed from the state log: each row's stretch clipped to [since,
until) (a row still open runs to now or `until`, whichever comes first). Login time is the
sum of every state but logged_out."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from models.entities import AGENT_STATES, AgentStateLog, PauseReason, utcnow
from peewee import JOIN


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
