"""Work tied to the writer's transaction: `after_commit` runs once it has committed, and only
then; `gather` collects items that one function handles together just before the commit.

The Stasis app's writer re-runs every job of a batch after a rollback
(ari_app.writer.Writer._run_batch), so a job
must not change memory in a way a second run cannot repeat: forgetting a call's credit
Grant in the first run would leave the re-run nothing to settle. Such changes go through
`after_commit`; outside a writer transaction they happen at once.

`gather` lets the jobs of one batch share their database work: billing settles all the calls
a batch closed with one locked balance read and one ledger INSERT per tenant, instead of a
round of statements per call. The flush runs inside the transaction, so what it writes
commits with the jobs that asked for it or rolls back with them (and is then done again,
job by job, by the re-run); outside a writer transaction the item is flushed at once."""
from __future__ import annotations

import contextlib
import threading
from typing import Callable

from .db import database, node_name

_local = threading.local()


def after_commit(action: Callable[[], object]) -> None:
    pending = getattr(_local, "pending", None)
    if pending is None:
        action()
    else:
        pending.append(action)


def gather(flush: Callable[[list], object], item) -> None:
    """Hand `item` to `flush(items)` before this transaction commits, together with the other
    items gathered for the same `flush` (in the order they came); at once outside one."""
    gathered = getattr(_local, "gathered", None)
    if gathered is None:
        flush([item])
    else:
        gathered.setdefault(flush, []).append(item)


def begin() -> None:
    _local.pending = []
    _local.gathered = {}


def before_commit() -> None:
    """Inside the transaction, after its jobs: run the gathered flushes (their failure rolls
    the transaction back like a job's). A flush may gather more; that is flushed too."""
    gathered = getattr(_local, "gathered", None)
    while gathered:
        flush, items = next(iter(gathered.items()))
        del gathered[flush]
        flush(items)


def end(committed: bool) -> None:
    """Run (committed) or drop (rolled back) what the transaction's jobs left to do."""
    pending, _local.pending = getattr(_local, "pending", None) or [], None
    _local.gathered = None
    if committed:
        for action in pending:
            action()


def atomic():
    """A transaction of its own outside the writer; inside the writer's batch, none: the batch
    is the transaction, a failing job rolls all of it back and is re-run alone (_run_batch),
    so a savepoint per job would only cost two more statements per call."""
    return contextlib.nullcontext() if database.in_transaction() else database.atomic()


TENANT_TURN_KEY = 0x7678  # the advisory-lock namespace of tenant turns ("vx")


def tenant_turn(tenant_id: int) -> None:
    """In a cluster (several nodes on one PostgreSQL): wait for this tenant's turn until the
    transaction ends. Claims and CDR closes of one tenant write the same counter rows (the
    campaign tally, the call rollups; models.rollups) in orders no single statement can fix,
    so two nodes' transactions would deadlock, which PostgreSQL breaks only after a second;
    taken first, this lock makes them queue instead. They queue on those rows anyway, so it
    costs no throughput. Nothing on SQLite or on a single node (one writer)."""
    if node_name() and getattr(database.obj, "for_update", False):
        database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)",
                             (TENANT_TURN_KEY, int(tenant_id)))
