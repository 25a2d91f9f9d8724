"""Agents' time per state over a report period (the contract between the rollups and the
agent / disposition statistics): `totals(tenant_id, period, user_ids=None)`.

This first version sums the raw state log (each row clipped to the period, an open row
running to now); the rollup version keeps the same signature and result."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from peewee import fn

from models.entities import AgentStateLog, utcnow
from voxcast.reports.period import ReportPeriod
from voxcast.reports.sqlparts import clipped_seconds

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


def totals(tenant_id: int, period: ReportPeriod, user_ids=None, *,
           now: dt.datetime | None = None) -> dict[int, AgentTimes]:
    now = now or utcnow()
    since, until = period.since, period.until
    log = AgentStateLog
    seconds = clipped_seconds(log.started_at, log.ended_at, since, until, now)
    query = (log.select(log.user, log.state, log.pause_reason, fn.SUM(seconds))
             .where(log.tenant == tenant_id, log.started_at < until,
                    log.ended_at.is_null() | (log.ended_at > since), log.started_at < now)
             .group_by(log.user, log.state, log.pause_reason))
    if user_ids is not None:
        query = query.where(log.user.in_(list(user_ids)))
    out: dict[int, AgentTimes] = defaultdict(AgentTimes)
    for uid, state, reason_id, secs in query.tuples():
        secs = float(secs or 0)
        times = out[uid]
        if state in STATE_KEYS:
            key = STATE_KEYS[state]
            setattr(times, key, getattr(times, key) + secs)
            times.login += secs
        if state == "paused":
            times.pause_by_reason[reason_id or 0] = (
                times.pause_by_reason.get(reason_id or 0, 0.0) + secs)
    return dict(out)
