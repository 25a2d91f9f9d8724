"""voxcast.runtime.daemon with real processes: a started daemon's output lands in its log, the
wait for readiness ends on ready, on a timeout or on the daemon's exit (with its code), and a
pid is alive until it ends (a zombie child of ours is not)."""
from __future__ import annotations

import os
import signal
import sys

import pytest

from voxcast.runtime import daemon


class Exited(Exception):
    pass


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_given_a_daemon_when_spawned_then_its_output_is_appended_to_its_log(tmp_path):
    log = tmp_path / "d.out"
    log.write_bytes(b"before\n")
    proc = daemon.spawn(_python("import sys; print('out'); print('err', file=sys.stderr)"), log)
    assert proc.wait(10) == 0
    assert log.read_text().splitlines()[0] == "before"
    assert sorted(log.read_text().splitlines()[1:]) == ["err", "out"]


def test_given_a_daemon_that_exits_when_waited_for_then_its_code_is_raised(tmp_path):
    proc = daemon.spawn(_python("raise SystemExit(3)"), tmp_path / "d.out")
    with pytest.raises(Exited, match="code 3"):
        daemon.wait_ready(proc, lambda: False, 10, 0.05, lambda code: Exited(f"code {code}"))


def test_given_a_running_daemon_when_waited_for_then_ready_or_a_timeout(tmp_path):
    proc = daemon.spawn(_python("import time; time.sleep(30)"), tmp_path / "d.out")
    try:
        calls = []
        assert daemon.wait_ready(proc, lambda: calls.append(1) or len(calls) >= 2, 10, 0.01,
                                 Exited)
        assert not daemon.wait_ready(proc, lambda: False, 0.2, 0.05, Exited)
        assert daemon.alive(proc.pid) and os.getsid(proc.pid) == proc.pid  # its own session
        assert not daemon.wait_gone(proc.pid, 0.2, 0.05)
        proc.send_signal(signal.SIGTERM)
        assert daemon.wait_gone(proc.pid, 10, 0.05)  # reaped: a zombie child is not alive
        assert not daemon.alive(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
