"""Background tasks of the Stasis app, each kept until it ends and its failure logged.

asyncio holds only weak references to tasks, so a task nobody keeps can vanish mid-way, and
one that fails with nobody awaiting it fails silently. A TaskGroup would cancel every call
when one fails; calls and loops must outlive each other's failures, hence a set."""
from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("voxcast.tasks")


class TaskSet:
    def __init__(self):
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro, name: str | None = None) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
