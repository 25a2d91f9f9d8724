"""Queue statistics over a report period: per queue the calls offered (callers who entered it
in the period), answered, abandoned (and after how long they gave up), timed out, finding no
agent, transferred on, the service level, the average and longest wait.

Service level is the share of the calls that ended in the queue (answered, abandoned, timed
out, no agent) that an agent answered within the target: each queue's own
(Queue.service_level_seconds, 20 s unless set: the industry's 80/20 habit), or one target given
for every queue to compare them alike; the same definition as the live figures of
voxcast.queues.stats. One grouped query over QueueCall, the wait buckets computed by the
database."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from peewee import Case, fn

from models.entities import Queue, QueueCall
from voxcast import csv_export
from voxcast.queues.stats import SERVICE_SECONDS, target_seconds
from voxcast.reports.period import ReportPeriod

# Abandoned calls by how long the caller waited: (label, lowest second, first second above).
ABANDON_BUCKETS = (("lt10", 0, 10), ("10_30", 10, 30), ("30_60", 30, 60), ("gt60", 60, None))
ENDED = ("answered", "abandoned", "timeout", "no_agents")


@dataclass
class QueueRow:
    queue_id: int
    name: str
    target: int = SERVICE_SECONDS  # the service-level target this row was measured against
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    timeout: int = 0
    no_agents: int = 0
    transferred: int = 0
    waiting: int = 0  # no outcome yet (still in the queue, or a crash's leftover)
    answered_in_target: int = 0
    wait_answered: float = 0.0
    wait_all: float = 0.0
    longest_wait: int = 0
    wait_abandoned: float = 0.0
    abandoned_after: dict[str, int] = field(default_factory=lambda: {
        label: 0 for label, _lo, _hi in ABANDON_BUCKETS})

    @property
    def ended(self) -> int:
        return self.answered + self.abandoned + self.timeout + self.no_agents

    @property
    def service_level(self) -> float | None:
        return 100.0 * self.answered_in_target / self.ended if self.ended else None

    @property
    def abandon_rate(self) -> float | None:
        return 100.0 * self.abandoned / self.ended if self.ended else None

    @property
    def average_wait(self) -> float | None:
        """Of the answered calls (the caller's wait for an agent)."""
        return self.wait_answered / self.answered if self.answered else None

    @property
    def average_abandon_wait(self) -> float | None:
        return self.wait_abandoned / self.abandoned if self.abandoned else None

    def as_dict(self) -> dict:
        r = lambda v: None if v is None else round(v, 1)  # noqa: E731
        return {"queue_id": self.queue_id, "name": self.name, "target": self.target,
                "offered": self.offered,
                "answered": self.answered, "abandoned": self.abandoned,
                "abandoned_after": dict(self.abandoned_after), "timeout": self.timeout,
                "no_agents": self.no_agents, "transferred": self.transferred,
                "waiting": self.waiting, "answered_in_target": self.answered_in_target,
                "service_level": r(self.service_level), "abandon_rate": r(self.abandon_rate),
                "average_wait": r(self.average_wait),
                "average_abandon_wait": r(self.average_abandon_wait),
                "longest_wait": self.longest_wait}


def _count_if(condition):
    return fn.SUM(Case(None, ((condition, 1),), 0))


def report(tenant_id: int, period: ReportPeriod, *, target: int | None = None,
           queue_ids=None) -> list[QueueRow]:
    """Every queue of the tenant (those without calls too), by name; `target` None: each
    queue against its own service-level target, else every queue against that one."""
    queues = Queue.select(Queue.id, Queue.name, Queue.service_level_seconds).where(
        Queue.tenant == tenant_id)
    if queue_ids is not None:
        queues = queues.where(Queue.id.in_(list(queue_ids)))
    rows = {q.id: QueueRow(q.id, q.name, target or q.service_level_seconds) for q in queues}
    if not rows:
        return []
    in_target = target_seconds({qid: row.target for qid, row in rows.items()})
    qc, wait = QueueCall, QueueCall.wait_seconds
    abandoned = qc.outcome == "abandoned"
    columns = [qc.queue, fn.COUNT(qc.id)]
    columns += [_count_if(qc.outcome == name) for name in (*ENDED, "transferred", "")]
    columns += [_count_if((qc.outcome == "answered") & (wait <= in_target)),
                fn.SUM(Case(None, ((qc.outcome == "answered", wait),), 0)),
                fn.SUM(wait), fn.MAX(wait),
                fn.SUM(Case(None, ((abandoned, wait),), 0))]
    for _label, lo, hi in ABANDON_BUCKETS:
        cond = abandoned & (wait >= lo)
        columns.append(_count_if(cond & (wait < hi) if hi is not None else cond))
    query = (qc.select(*columns)
             .where(qc.tenant == tenant_id, qc.queue.in_(list(rows)),
                    qc.entered_at >= period.since, qc.entered_at < period.until)
             .group_by(qc.queue))
    for qid, offered, *figures in query.tuples():
        row = rows[qid]
        figures = [v or 0 for v in figures]
        row.offered = offered
        (row.answered, row.abandoned, row.timeout, row.no_agents, row.transferred,
         row.waiting, row.answered_in_target, wait_answered, wait_all, longest,
         wait_abandoned, *buckets) = figures
        row.wait_answered, row.wait_all = float(wait_answered), float(wait_all)
        row.longest_wait, row.wait_abandoned = int(longest), float(wait_abandoned)
        row.abandoned_after = {label: int(n) for (label, _lo, _hi), n in
                               zip(ABANDON_BUCKETS, buckets)}
    return sorted(rows.values(), key=lambda r: r.name.lower())


CSV_HEADER = ("queue", "target_s", "offered", "answered", "abandoned", "abandoned_lt10s",
              "abandoned_10_30s", "abandoned_30_60s", "abandoned_gt60s", "timeout", "no_agents",
              "transferred", "waiting", "answered_in_target", "service_level_pct",
              "abandon_rate_pct", "average_wait_s", "average_abandon_wait_s", "longest_wait_s")


def to_csv(rows: list[QueueRow]) -> str:
    buf = io.StringIO()
    out = csv_export.writer(buf)
    out.writerow(CSV_HEADER)
    f = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
    for r in rows:
        out.writerow([r.name, r.target, r.offered, r.answered, r.abandoned,
                      *(r.abandoned_after[label] for label, _lo, _hi in ABANDON_BUCKETS),
                      r.timeout, r.no_agents, r.transferred, r.waiting, r.answered_in_target,
                      f(r.service_level), f(r.abandon_rate), f(r.average_wait),
                      f(r.average_abandon_wait), r.longest_wait])
    return buf.getvalue()
