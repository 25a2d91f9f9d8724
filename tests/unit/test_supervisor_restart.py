"""`voxcast run`'s restart policy (pure) and the supervisor over real short-lived processes."""
from __future__ import annotations

import sys

from voxcast.runtime.supervisor import Child, RestartPolicy, Supervisor


def test_backoff_doubles_up_to_the_cap():
    policy = RestartPolicy(base_s=1, factor=2, cap_s=10, stable_s=60)
    assert [policy.next_delay(uptime_s=0.5) for _ in range(6)] == [1, 2, 4, 8, 10, 10]


def test_backoff_starts_over_after_a_stable_run():
    policy = RestartPolicy(base_s=1, factor=2, cap_s=60, stable_s=30)
    assert [policy.next_delay(5) for _ in range(3)] == [1, 2, 4]
    assert policy.next_delay(30) == 1  # up for stable_s: a new series
    assert policy.next_delay(29.9) == 2  # crashed again quickly: the series goes on


def test_a_short_uptime_never_resets():
    policy = RestartPolicy(base_s=0.5, factor=3, cap_s=100, stable_s=10)
    assert [policy.next_delay(9.99) for _ in range(4)] == [0.5, 1.5, 4.5, 13.5]


def _wait_exit(child: Child) -> None:
    child.proc.wait(timeout=10)


def test_supervisor_restarts_an_exited_child_after_its_delay():
    child = Child("crasher", [sys.executable, "-c", "import sys; sys.exit(3)"],
                  RestartPolicy(base_s=5, factor=2, cap_s=60, stable_s=60))
    sup = Supervisor([child])
    sup.start(now=100.0)
    first = child.proc
    _wait_exit(child)
    sup.check(now=101.0)  # noticed: restart due at 106
    assert child.restart_at == 106.0 and child.proc is first
    sup.check(now=105.9)
    assert child.proc is first and child.restarts == 0
    sup.check(now=106.0)
    assert child.proc is not first and child.restarts == 1 and child.restart_at is None
    _wait_exit(child)
    sup.check(now=107.0)  # a second quick exit: twice the pause
    assert child.restart_at == 117.0
    sup.stop()


def test_supervisor_leaves_a_running_child_alone_and_stops_it():
    child = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    sup = Supervisor([child])
    sup.start(now=0.0)
    sup.check(now=1.0)
    assert child.restart_at is None and child.proc.poll() is None
    sup.stop(grace_s=5)
    assert child.proc.poll() is not None
