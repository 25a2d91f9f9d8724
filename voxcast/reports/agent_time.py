"""Agents' time per state over a report period (the contract between the rollups and the
agent / disposition statistics): `totals(tenant_id, period, user_ids=None)`.

Closed state rows come from AgentStateQuarter, the state log already split at every quarter
hour (kept by database triggers as rows close, models.rollups): a local day in any time zone
starts on a quarter hour (India +5:30, Nepal +5:45), so a period is a whole number of buckets
and the sum is exact without reading the log. Rows still open (an agent in a state now) are
few and read from the log through a partial index, clipped to the period and to now. A period
whose bounds are not on quarter hours (a historical zone offset such as LMT) is summed from
the raw log instead, the same figures, slower."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from peewee import fn

from models.entities import AgentStateLog, AgentStateQuarter, utcnow
from voxcast.reports.period import ReportPeriod

STATE_KEYS = {"ready": "ready", "ringing": "ringing", "on_call": "talk", "wrapup": "wrapup",
              "paused": "paused"}


@dataclass
class AgentTimes:
    """Seconds; login is every state but logged_out; pause_by_reason keys are pause reason
    ids (0: paused without a reason)."""
    login: float = 0.0
    ready: float = 0.0
    ringing: float = 0.0
    talk: float = 0.0
    wrapup: float = 0.0
    paused: float = 0.0
    pause_by_reason: dict[int, float] = field(default_factory=dict)

    def add(self, state: str, reason_id: int | None, seconds: float) -> None:
        if state not in STATE_KEYS or seconds <= 0:
            return
        key = STATE_KEYS[state]
        setattr(self, key, getattr(self, key) + seconds)
        self.login += seconds
        if state == "paused":
            reason = reason_id or 0
            self.pause_by_reason[reason] = self.pause_by_reason.get(reason, 0.0) + seconds


def on_quarter_hours(*moments: dt.datetime) -> bool:
    return all(m.minute % 15 == 0 and m.second == 0 and m.microsecond == 0 for m in moments)


def totals(tenant_id: int, period: ReportPeriod, user_ids=None, *,
           now: dt.datetime | None = None) -> dict[int, AgentTimes]:
    """{user_id: AgentTimes} for every agent with time in the period (only `user_ids` if
    given); each state row's stretch clipped to the period, an open one running to now."""
    now = now or utcnow()
    since, until = period.since, period.until
    users = list(user_ids) if user_ids is not None else None
    out: dict[int, AgentTimes] = defaultdict(AgentTimes)
    if on_quarter_hours(since, until):
        _from_rollup(out, tenant_id, since, until, users)
        _raw(out, tenant_id, since, until, now, users, open_only=True)
    else:
        _raw(out, tenant_id, since, until, now, users, open_only=False)
    return {uid: times for uid, times in out.items() if times.login > 0}


def _from_rollup(out, tenant_id, since, until, users) -> None:
    q = AgentStateQuarter
    query = (q.select(q.user_id, q.state, q.pause_reason_id, fn.SUM(q.ms))
             .where(q.tenant == tenant_id, q.bucket >= since, q.bucket < until)
             .group_by(q.user_id, q.state, q.pause_reason_id))
    if users is not None:
        query = query.where(q.user_id.in_(users))
    for uid, state, reason_id, ms in query.tuples():
        out[uid].add(state, reason_id, int(ms or 0) / 1000.0)


def _raw(out, tenant_id, since, until, now, users, open_only: bool) -> None:
    """Rows from the log, clipped in Python: the open ones (few: one per agent at most), or,
    for an unaligned period, every row overlapping it."""
    log = AgentStateLog
    stop = min(until, now)
    query = (log.select(log.user, log.state, log.pause_reason, log.started_at, log.ended_at)
             .where(log.tenant == tenant_id, log.started_at < stop))
    if open_only:
        query = query.where(log.ended_at.is_null())
    else:
        query = query.where(log.ended_at.is_null() | (log.ended_at > since))
    if users is not None:
        query = query.where(log.user.in_(users))
    for uid, state, reason_id, start, end in query.tuples():
        end = stop if end is None else min(end, stop)
        seconds = (end - max(start, since)).total_seconds()
        out[uid].add(state, reason_id, seconds)
