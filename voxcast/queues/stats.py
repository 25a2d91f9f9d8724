"""Live queue figures from QueueCall rows (written by the ACD) and the agent sessions: callers
waiting now and the longest wait, agents logged in and ready, and since a given time the calls
answered, abandoned, timed out or finding no agent, the average wait of answered calls and the
service level (answered within the queue's own target, Queue.service_level_seconds, in % of
the calls that ended in the queue)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import Case, fn

from models.entities import AgentSession, Queue, QueueCall, QueueMember, utcnow
from models.tenancy import scoped
from voxcast.agents import states

SERVICE_SECONDS = 20  # the target of a queue that has none of its own (Queue's default)
STALE = dt.timedelta(hours=12)  # a waiting row older than this is a crash's leftover


@dataclass
class QueueFigures:
    queue_id: int
    service_seconds: int = SERVICE_SECONDS  # the queue's service-level target
    waiting: int = 0
    longest_wait: float = 0.0
    logged_in: int = 0
    ready: int = 0
    answered: int = 0
    abandoned: int = 0
    timeout: int = 0
    no_agents: int = 0
    transferred: int = 0
    answered_in_time: int = 0
    wait_answered: float = 0.0

    @property
    def ended(self) -> int:
        return self.answered + self.abandoned + self.timeout + self.no_agents

    @property
    def average_wait(self) -> float | None:
        return self.wait_answered / self.answered if self.answered else None

    @property
    def service_level(self) -> float | None:
        return 100.0 * self.answered_in_time / self.ended if self.ended else None

    def as_dict(self) -> dict:
        return {"queue_id": self.queue_id, "service_seconds": self.service_seconds,
                "waiting": self.waiting,
                "longest_wait": round(self.longest_wait), "logged_in": self.logged_in,
                "ready": self.ready, "answered": self.answered, "abandoned": self.abandoned,
                "timeout": self.timeout, "no_agents": self.no_agents,
                "transferred": self.transferred,
                "average_wait": None if self.average_wait is None else round(self.average_wait, 1),
                "service_level": None if self.service_level is None else round(self.service_level, 1)}


def target_seconds(targets: dict[int, int]):
    """The service-level target of each row's queue as an SQL expression, from {queue_id:
    seconds}: a CASE over the queue id rather than a join with Queue, so the grouped reads keep
    the query plan they were tuned for; a plain number when every queue has the same one."""
    distinct = set(targets.values())
    if len(distinct) <= 1:
        return distinct.pop() if distinct else SERVICE_SECONDS
    return Case(QueueCall.queue, sorted(targets.items()), SERVICE_SECONDS)


def figures(tenant_id: int, since: dt.datetime, *, now: dt.datetime | None = None
            ) -> dict[int, QueueFigures]:
    """QueueFigures for every queue of the tenant, each against its own target."""
    now = now or utcnow()
    out = {qid: QueueFigures(qid, service_seconds=seconds) for qid, seconds in
           scoped(Queue, tenant_id).select(Queue.id, Queue.service_level_seconds).tuples()}
    if not out:
        return out
    for qid, entered in (QueueCall.select(QueueCall.queue, QueueCall.entered_at)
                         .where(QueueCall.tenant == tenant_id, QueueCall.queue.in_(list(out)),
                                QueueCall.ended_at.is_null(), QueueCall.answered_at.is_null(),
                                QueueCall.entered_at > now - STALE).tuples()):
        f = out[qid]
        f.waiting += 1
        f.longest_wait = max(f.longest_wait, (now - entered).total_seconds())
    # Today's outcomes counted by the database (one grouped read over the tenant's index of
    # entered_at), not row by row in Python: the wallboard asks every 2 s.
    queue_key = QueueCall.queue + 0  # see the group_by below
    target = target_seconds({qid: f.service_seconds for qid, f in out.items()})
    in_time = fn.SUM(Case(None, [(QueueCall.wait_seconds <= target, 1)], 0))
    for qid, outcome, count, wait, timely in (
            QueueCall.select(queue_key, QueueCall.outcome, fn.COUNT(QueueCall.id),
                             fn.SUM(fn.COALESCE(QueueCall.wait_seconds, 0)), in_time)
            .where(QueueCall.tenant == tenant_id, QueueCall.entered_at >= since,
                   QueueCall.outcome != "")
            # "+ 0": grouping by the bare column lets SQLite's planner walk the whole queue_id
            # index (a tenant's months of queue calls, 6-10x slower) instead of the
            # (tenant, entered_at) range; the expression keeps it on the range.
            .group_by(queue_key, QueueCall.outcome).tuples()):
        f = out.get(qid)
        if f is None:
            continue
        if outcome == "answered":
            f.answered += count
            f.wait_answered += float(wait or 0)
            f.answered_in_time += int(timely or 0)
        elif outcome in ("abandoned", "timeout", "no_agents", "transferred"):
            setattr(f, outcome, getattr(f, outcome) + count)
    live = {uid for (uid,) in AgentSession.select(AgentSession.user).where(
        AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null()).tuples()}
    # Ready: the ACD's own test (voxcast.agents.states.ready_agents), read once for the
    # tenant and counted per queue from its members, not one query per queue.
    ready = {a.user_id for a in states.ready_agents(tenant_id)}
    for qid, uid in QueueMember.select(QueueMember.queue, QueueMember.user).where(
            QueueMember.tenant == tenant_id, QueueMember.queue.in_(list(out))).tuples():
        if uid in live:
            out[qid].logged_in += 1
        if uid in ready:
            out[qid].ready += 1
    return out


def waiting(queue: Queue, *, now: dt.datetime | None = None) -> list[tuple[int, str, float]]:
    """The callers waiting in the queue now, first come first: (position, caller, seconds)."""
    now = now or utcnow()
    rows = (QueueCall.select(QueueCall.caller, QueueCall.entered_at)
            .where(QueueCall.tenant == queue.tenant_id, QueueCall.queue == queue.id,
                   QueueCall.ended_at.is_null(), QueueCall.answered_at.is_null(),
                   QueueCall.entered_at > now - STALE)
            .order_by(QueueCall.entered_at, QueueCall.id).tuples())
    return [(n, caller, (now - entered).total_seconds())
            for n, (caller, entered) in enumerate(rows, start=1)]
