"""`voxcast run`'s children kept running: a child that exits is started again after a pause.
A crash loop (exits soon after each start, or too many exits in a window) doubles the pause
up to a cap; an isolated crash of a child that had been up a while is started again after
the shortest pause. The policy is pure (times are passed in); `Supervisor` owns the
processes and is driven by `voxcast run`'s loop."""
from __future__ import annotations

import logging
import subprocess
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

log = logging.getLogger("voxcast.supervisor")


@dataclass
class RestartPolicy:
    """Exponential backoff against crash loops, reset for isolated crashes.

    An exit after less than stable_s of uptime (the child never came up, or fell over at
    once) continues the series: base_s, base_s*factor, ... up to cap_s. An exit after at least
    stable_s starts a new series at base_s (the Stasis app is connected within about a second
    of its start, so 10 s up is a run, not a loop), unless there were more than `burst` exits
    within `window_s` (systemd's StartLimitBurst / StartLimitIntervalSec): a child that keeps
    failing, however long each run lasts, keeps backing off."""
    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 60.0
    stable_s: float = 10.0
    burst: int = 10
    window_s: float = 600.0
    failures: int = 0  # steps of the current series (no more once at the cap)
    exits: deque = field(default_factory=deque)  # exit times within window_s

    def next_delay(self, uptime_s: float, now: float | None = None) -> float:
        """The child exited after `uptime_s` seconds (at `now`, on any monotonic clock; the
        burst limit needs it): how long to wait before starting it."""
        looping = False
        if now is not None:
            self.exits.append(now)
            while self.exits and self.exits[0] <= now - self.window_s:
                self.exits.popleft()
            looping = len(self.exits) > self.burst
        if uptime_s >= self.stable_s and not looping:
            self.failures = 0
        delay = self.base_s * self.factor ** self.failures
        if delay >= self.cap_s:  # no further steps: a loop of days would overflow the float
            return self.cap_s
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
            delay = child.policy.next_delay(uptime, now)
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
