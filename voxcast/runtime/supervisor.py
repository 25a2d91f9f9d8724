"""`voxcast run`'s children kept running: a child that exits is started again after a pause
that doubles with each exit in a row (capped), and starts from the shortest pause again once
the child has stayed up a while. The policy is pure (times are passed in); `Supervisor` owns
the processes and is driven by `voxcast run`'s loop."""
from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Sequence

log = logging.getLogger("voxcast.supervisor")


@dataclass
class RestartPolicy:
    """Exponential backoff: base_s, base_s*factor, ... up to cap_s; an exit after an uptime of
    at least stable_s counts as the first of a new series."""
    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 60.0
    stable_s: float = 60.0
    failures: int = 0  # exits in a row, each after less than stable_s of uptime

    def next_delay(self, uptime_s: float) -> float:
        """The child exited after `uptime_s` seconds: how long to wait before starting it."""
        if uptime_s >= self.stable_s:
            self.failures = 0
        delay = min(self.cap_s, self.base_s * self.factor ** self.failures)
        self.failures += 1
        return delay


@dataclass
class Child:
    name: str
    argv: list[str]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restart_at: float | None = None  # set while it waits to be started again
    restarts: int = 0


class Supervisor:
    """Starts each child, notices an exit at the next `check(now)` and starts it again after
    its policy's delay; `stop()` ends them all (SIGTERM, then SIGKILL after `grace_s`)."""

    def __init__(self, children: Sequence[Child],
                 spawn: Callable[[list[str]], subprocess.Popen] = subprocess.Popen):
        self.children = list(children)
        self._spawn = spawn

    def start(self, now: float) -> None:
        for child in self.children:
            self._start(child, now)

    def _start(self, child: Child, now: float) -> None:
        child.proc = self._spawn(child.argv)
        child.started_at = now
        child.restart_at = None

    def check(self, now: float) -> None:
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    log.warning("starting %s again (restart %d)", child.name, child.restarts)
                    self._start(child, now)
                continue
            code = child.proc.poll() if child.proc is not None else None
            if code is None:
                continue
            uptime = now - child.started_at
            delay = child.policy.next_delay(uptime)
            child.restart_at = now + delay
            log.error("%s (pid %s) exited with %s after %.1f s; restarting in %.1f s",
                      child.name, child.proc.pid, code, uptime, delay)

    def stop(self, grace_s: float = 10.0) -> None:
        running = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
