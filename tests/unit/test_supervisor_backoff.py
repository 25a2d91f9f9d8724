"""`voxcast run`'s backoff on a fake clock: crash loops back off, isolated crashes of a child
that had been up a while are restarted after the shortest pause, and a child that keeps
failing however long it runs (more than `burst` exits in `window_s`) backs off too."""
from __future__ import annotations

from voxcast.runtime.supervisor import Child, RestartPolicy, Supervisor


class FakeProc:
    """What Supervisor reads of a Popen: poll() is None until the test kills it."""
    pids = iter(range(1000, 100000))

    def __init__(self, argv):
        self.argv, self.pid, self.code = argv, next(self.pids), None

    def poll(self):
        return self.code

    def kill(self):
        self.code = -9


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def supervised(policy: RestartPolicy) -> tuple[Supervisor, Child, Clock]:
    clock = Clock()
    child = Child("ari-app", ["voxcast", "ari-app"], policy)
    sup = Supervisor([child], spawn=FakeProc)
    sup.start(clock.now)
    return sup, child, clock


def crash_after(sup: Supervisor, child: Child, clock: Clock, uptime: float) -> float:
    """Let the child run `uptime` s, kill it, let the supervisor notice and restart it
    (checked every 0.5 s, as `voxcast run` does); returns the pause it waited."""
    clock.advance(uptime)
    child.proc.kill()
    sup.check(clock.now)
    died_at, first = clock.now, child.proc
    while child.proc is first:
        sup.check(clock.advance(0.5))
    return clock.now - died_at


def test_isolated_crashes_of_a_healthy_child_restart_after_the_shortest_pause():
    # The faults bench's case: five SIGKILLs 12-20 s apart within two minutes.
    sup, child, clock = supervised(RestartPolicy())
    pauses = [crash_after(sup, child, clock, up) for up in (15, 12, 20, 14, 18)]
    assert pauses == [1, 1, 1, 1, 1]
    assert child.restarts == 5


def test_a_crash_loop_backs_off_up_to_the_cap():
    sup, child, clock = supervised(RestartPolicy(base_s=1, factor=2, cap_s=60, stable_s=10))
    pauses = [crash_after(sup, child, clock, 0.5) for _ in range(9)]
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_healthy_run_after_a_crash_loop_starts_over():
    sup, child, clock = supervised(RestartPolicy(base_s=1, factor=2, cap_s=60, stable_s=10))
    assert [crash_after(sup, child, clock, 1) for _ in range(4)] == [1, 2, 4, 8]
    assert crash_after(sup, child, clock, 10) == 1  # stayed up stable_s: a new series
    assert crash_after(sup, child, clock, 3) == 2  # then quick again: the new series goes on


def test_crashes_close_together_continue_the_series():
    sup, child, clock = supervised(RestartPolicy())
    assert [crash_after(sup, child, clock, up) for up in (30, 4, 30)] == [1, 2, 1]


def test_more_than_burst_exits_in_the_window_back_off_however_long_each_run():
    policy = RestartPolicy(base_s=1, factor=2, cap_s=60, stable_s=10, burst=4, window_s=300)
    sup, child, clock = supervised(policy)
    pauses = [crash_after(sup, child, clock, 20) for _ in range(7)]
    assert pauses == [1, 1, 1, 1, 2, 4, 8]  # the 5th exit within 300 s is a loop
    clock.advance(300)  # quiet for the window: its exits forgotten
    assert crash_after(sup, child, clock, 20) == 1


def test_the_window_slides():
    policy = RestartPolicy(base_s=1, factor=2, cap_s=60, stable_s=10, burst=2, window_s=100)
    assert [policy.next_delay(50, now) for now in (0, 60, 99.9)] == [1, 1, 2]  # 3 in 100 s
    assert policy.next_delay(50, 160.1) == 1  # 0 and 60 out of the window: 2 exits in it


def test_without_a_clock_only_uptime_counts():
    policy = RestartPolicy(burst=1, window_s=600)
    assert [policy.next_delay(30) for _ in range(5)] == [1, 1, 1, 1, 1]


def test_a_loop_of_days_stays_at_the_cap():
    policy = RestartPolicy(base_s=1, factor=2, cap_s=60, stable_s=10)
    delays = [policy.next_delay(0.1, now=i * 61.0) for i in range(5000)]
    assert delays[:7] == [1, 2, 4, 8, 16, 32, 60] and set(delays[6:]) == {60}
    assert policy.failures == 6
