"""The daemons an instance starts detached and tracks by a pid file (Asterisk, Kamailio): start
one with its output in a log file, wait until it answers, tell whether a pid still runs, wait
for it to end. Each daemon's module keeps its command, its readiness check, its way of being
asked to stop and its errors."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Callable


def spawn(cmd: list[str], log_path: Path) -> subprocess.Popen:
    """`cmd` in a session of its own (a terminal's Ctrl-C or our exit does not reach it), its
    output appended to `log_path`."""
    with open(log_path, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def wait_ready(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float, step: float,
               exited: Callable[[int], Exception]) -> bool:
    """Polls `ready` every `step` seconds: True once it is, False after `timeout`; the daemon
    ending first raises exited(its return code)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise exited(proc.returncode)
        if ready():
            return True
        time.sleep(step)
    return False


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie child of ours does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def wait_gone(pid: int, timeout: float, step: float) -> bool:
    """Whether the process has ended within `timeout` (checked every `step` seconds and once
    more at the end), so the caller kills it when not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(step)
    return not alive(pid)
