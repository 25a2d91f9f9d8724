"""The Stasis app's database writer: one thread runs every database job, so the event loop
never blocks on SQLite or PostgreSQL and writes never contend with each other."""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from functools import partial

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

    def close(self):
        self._hand_over()
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)
                    break
                batch.append(nxt)
            self._run_batch(batch)

    def _run_batch(self, batch) -> None:
        """All jobs in one transaction. If one fails, the batch is rolled back and each job
        re-run in a transaction of its own, so only the failing job fails; savepoints per job
        would cost two statements each on every batch for a case that is rare. The waiting
        coroutines get their results in one hand-over to the event loop per batch."""
        txn.begin()
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                results = [func() for func, _ in batch]
                txn.before_commit()  # the work the jobs gathered (txn.gather), as one
        except Exception:
            txn.end(committed=False)
            _deliver([self._run_alone(func, future) for func, future in batch])
            return
        txn.end(committed=True)
        _deliver([(future, result, None) for (_, future), result in zip(batch, results)])

    @staticmethod
    def _run_alone(func, future) -> tuple:
        txn.begin()
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                result = func()
                txn.before_commit()
            txn.end(committed=True)
            return future, result, None
        except Exception as exc:
            txn.end(committed=False)
            if future is None:
                log.exception("database job %s failed", getattr(func, "func", func))
            elif not isinstance(exc, (LookupError, ValueError)):
                log.warning("database job %s failed: %s", getattr(func, "func", func), exc)
            return future, None, exc


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
