"""The Stasis app's database writer: one thread runs every database job, so the event loop
never blocks on SQLite or PostgreSQL and writes never contend with each other."""
from __future__ import annotations

import asyncio
import logging
import queue
import random
import threading
import time
from functools import partial

import peewee

from models import database, txn

log = logging.getLogger("voxcast.writer")


class Writer:
    """Runs database work on one writer thread with group commit: the jobs that queued up while
    the previous transaction ran are committed together, so a busy dialer pays one fsync per
    batch, not per call; a failing job still fails alone (see _run_batch)."""

    MAX_BATCH = 200

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="db-writer", daemon=True)
        self._thread.start()
        self._posted: list = []  # posts of this turn of the event loop, for _hand_over

    async def run(self, func, *args, **kw):
        future = asyncio.get_running_loop().create_future()
        if self._posted:
            self._hand_over()
        self._jobs.put((partial(func, *args, **kw), future))
        return await future

    async def run_alone(self, func, *args, **kw):
        """As `run`, in a transaction of its own, never batched with other jobs: for a job
        whose row locks must be taken in one order with no other job's before them (a
        claim in a cluster: several nodes' writers meet on the same counter rows)."""
        future = asyncio.get_running_loop().create_future()
        if self._posted:
            self._hand_over()
        self._jobs.put((_Alone(partial(func, *args, **kw)), future))
        return await future

    def post(self, func, *args, **kw) -> None:
        """Queue a write nobody waits for. Jobs run in order, so a later `run` sees its
        effect; a failure is logged by the writer. The posts of one turn of the event loop
        reach the writer together (one wake-up of its thread, not one per call)."""
        self._posted.append((partial(func, *args, **kw), None))
        if len(self._posted) == 1:
            try:
                asyncio.get_running_loop().call_soon(self._hand_over)
            except RuntimeError:  # no loop (a script, a test): straight to the writer
                self._hand_over()

    def _hand_over(self) -> None:
        posted, self._posted = self._posted, []
        for job in posted:
            self._jobs.put(job)

    def depth(self) -> int:
        """Jobs waiting: queued for the writer thread, or posted this turn of the loop."""
        return self._jobs.qsize() + len(self._posted)

    def close(self):
        self._hand_over()
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _work(self) -> None:
        carry = None  # a job that must run alone, met while a batch was being gathered
        while True:
            job, carry = (carry, None) if carry is not None else (self._jobs.get(), None)
            if job is None:
                return
            if isinstance(job[0], _Alone):
                _deliver([self._run_alone(*job)])
                continue
            batch = [job]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)
                    break
                if isinstance(nxt[0], _Alone):
                    carry = nxt
                    break
                batch.append(nxt)
            self._run_batch(batch)

    def _run_batch(self, batch) -> None:
        """All jobs in one transaction. If one fails, the batch is rolled back and each job
        re-run in a transaction of its own, so only the failing job fails; savepoints per job
        would cost two statements each on every batch for a case that is rare. The waiting
        coroutines get their results in one hand-over to the event loop per batch."""
        outage = Outage()
        while True:
            txn.begin()
            try:
                database.connect(reuse_if_open=True)
                with database.atomic():
                    results = [func() for func, _ in batch]
                    txn.before_commit()  # the work the jobs gathered (txn.gather), as one
            except Exception as exc:
                txn.end(committed=False)
                if outage.lost(exc):  # the server went away: the same batch once it is back
                    continue
                _deliver([self._run_alone(func, future) for func, future in batch])
                return
            break
        outage.over()
        txn.end(committed=True)
        _deliver([(future, result, None) for (_, future), result in zip(batch, results)])

    RETRIES = 6  # a job another node's transaction deadlocked with: tried again this often

    @classmethod
    def _run_alone(cls, func, future) -> tuple:
        outage = Outage()
        attempt = 0
        while True:
            txn.begin()
            try:
                database.connect(reuse_if_open=True)
                with database.atomic():
                    result = func()
                    txn.before_commit()
                txn.end(committed=True)
                outage.over()
                return future, result, None
            except Exception as exc:
                txn.end(committed=False)
                if outage.lost(exc):
                    continue
                attempt += 1
                if attempt <= cls.RETRIES and transient(exc):
                    time.sleep(random.uniform(0.005, 0.02) * attempt)
                    continue
                return cls._failed(func, future, exc)

    @staticmethod
    def _failed(func, future, exc) -> tuple:
        if future is None:
            log.error("database job %s failed", getattr(func, "func", func), exc_info=exc)
        elif not isinstance(exc, (LookupError, ValueError)):
            log.warning("database job %s failed: %s", getattr(func, "func", func), exc)
        return future, None, exc


class _Alone:
    """A job for a transaction of its own (Writer.run_alone)."""
    __slots__ = ("func",)

    def __init__(self, func):
        self.func = func

    def __call__(self):
        return self.func()


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back
# and may simply run again (several nodes' writers meet on the same rows: rollups, tallies).
TRANSIENT_PGCODES = frozenset({"40P01", "40001"})


class Outage:
    """The database server went away (PostgreSQL restarted, its connection killed, the
    network): the writer closes the dead connection, waits with backoff and runs the same
    work again once a new connection answers, however long that takes. Failing the jobs
    instead would lose writes nobody waits for (a CDR's close, a settlement), and peewee
    would keep handing out the dead connection: every later job failed too. Only a lost
    connection is waited out; any other error fails its job as before."""

    FIRST_S, CAP_S = 0.05, 1.0

    def __init__(self):
        self.since: float | None = None
        self.delay = self.FIRST_S

    def lost(self, exc: BaseException) -> bool:
        if not connection_lost(exc):
            return False
        if self.since is None:
            self.since = time.monotonic()
            log.warning("database connection lost (%s); retrying until it is back", exc)
        try:
            database.close()
        except Exception:  # noqa: BLE001 - a dead connection may refuse even to close
            database._state.reset()
        time.sleep(self.delay)
        self.delay = min(self.CAP_S, self.delay * 2)
        return True

    def over(self) -> None:
        if self.since is not None:
            log.warning("database connection back after %.1f s", time.monotonic() - self.since)
            self.since = None


def connection_lost(exc: BaseException) -> bool:
    """The error means no working connection (as opposed to a failing statement): the
    connection could not be made, or psycopg2 marked it closed (the server ended it)."""
    state = getattr(database.obj, "_state", None) if database.obj is not None else None
    conn = getattr(state, "conn", None)
    if conn is not None and getattr(conn, "closed", 0):
        return True  # psycopg2: closed != 0 once the server ended the session
    if conn is None and isinstance(exc, peewee.OperationalError):
        return getattr(database.obj, "for_update", False)  # PostgreSQL: could not connect
    return False


def transient(exc: BaseException) -> bool:
    for cause in (*(exc.args[:1] if exc.args else ()), exc.__cause__, exc.__context__):
        if getattr(cause, "pgcode", None) in TRANSIENT_PGCODES:
            return True
    return False


def _deliver(outcomes: list[tuple]) -> None:
    """Writer thread: hand (future, result, exception) triples to their event loops."""
    by_loop: dict = {}
    for outcome in outcomes:
        if outcome[0] is not None:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # that loop is closed: nobody is waiting any more
            pass


def _settle(outcomes: list[tuple]) -> None:
    for future, result, exc in outcomes:
        if future.done():  # the waiter was cancelled
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
