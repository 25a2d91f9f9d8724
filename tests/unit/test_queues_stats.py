"""Live queue figures (voxcast.queues.stats) from QueueCall rows and agent sessions."""
from __future__ import annotations

import datetime as dt

import pytest

from models import Tenant
from models.entities import Queue, QueueCall
from voxcast.agents import sessions, states
from voxcast.queues import services as queues
from voxcast.queues import stats

from .agents_support import make_agent

NOW = dt.datetime(2026, 1, 5, 12, 0, 0)
SINCE = dt.datetime(2026, 1, 5, 0, 0, 0)


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme")


def qc(tenant, queue, **kw):
    return QueueCall.create(tenant=tenant, queue=queue, **kw)


def test_figures_waiting_outcomes_wait_and_service_level(acme):
    ann, ben, cat = (make_agent(acme, n) for n in ("ann", "ben", "cat"))
    sales = queues.create(acme.id, {"name": "Sales"}, [(ann.id, 0), (ben.id, 0), (cat.id, 0)])
    empty = queues.create(acme.id, {"name": "Empty"})
    sessions.login(acme.id, ann.id)
    s_ben = sessions.login(acme.id, ben.id)
    states.set_state(s_ben.id, "paused")
    m = dt.timedelta(minutes=1)
    qc(acme, sales, entered_at=NOW - 2 * m)                                  # waiting 120 s
    qc(acme, sales, entered_at=NOW - m / 2)                                  # waiting 30 s
    qc(acme, sales, entered_at=NOW - dt.timedelta(days=2))                   # a crash's leftover
    qc(acme, sales, entered_at=NOW - 60 * m, outcome="answered", wait_seconds=10,
       answered_at=NOW - 59 * m, ended_at=NOW - 50 * m)
    qc(acme, sales, entered_at=NOW - 40 * m, outcome="answered", wait_seconds=50,
       answered_at=NOW - 39 * m, ended_at=NOW - 30 * m)
    qc(acme, sales, entered_at=NOW - 20 * m, outcome="abandoned", wait_seconds=70,
       ended_at=NOW - 19 * m)
    qc(acme, sales, entered_at=NOW - 10 * m, outcome="transferred", ended_at=NOW - 9 * m)
    qc(acme, sales, entered_at=SINCE - m, outcome="answered", wait_seconds=1,
       ended_at=SINCE)                                                       # yesterday
    got = stats.figures(acme.id, SINCE, now=NOW)
    f = got[sales.id]
    assert (f.waiting, f.longest_wait) == (2, 120)
    assert (f.logged_in, f.ready) == (2, 1)
    assert (f.answered, f.abandoned, f.transferred, f.ended) == (2, 1, 1, 3)
    assert f.average_wait == 30
    assert round(f.service_level, 1) == 33.3  # 1 of 3 within 20 s
    e = got[empty.id]
    assert (e.waiting, e.answered, e.average_wait, e.service_level) == (0, 0, None, None)
    other = Tenant.create(name="Other", slug="other")
    assert stats.figures(other.id, SINCE, now=NOW) == {}
    assert set(f.as_dict()) >= {"waiting", "service_level", "average_wait"}


def test_figures_measure_each_queue_against_its_own_target(acme):
    """The same waits (5, 15, 25, 45 s answered, one abandoned) in a 10 s and a 30 s queue:
    1 of 5 and 3 of 5 in time."""
    fast = queues.create(acme.id, {"name": "Fast", "service_level_seconds": 10})
    slow = queues.create(acme.id, {"name": "Slow", "service_level_seconds": "30"})
    m = dt.timedelta(minutes=1)
    for queue in (fast, slow):
        for wait in (5, 15, 25, 45):
            qc(acme, queue, entered_at=NOW - 30 * m, outcome="answered", wait_seconds=wait,
               answered_at=NOW - 29 * m, ended_at=NOW - 20 * m)
        qc(acme, queue, entered_at=NOW - 30 * m, outcome="abandoned", wait_seconds=8,
           ended_at=NOW - 29 * m)
    got = stats.figures(acme.id, SINCE, now=NOW)
    f, s = got[fast.id], got[slow.id]
    assert (f.service_seconds, f.answered_in_time, f.service_level) == (10, 1, 20.0)
    assert (s.service_seconds, s.answered_in_time, s.service_level) == (30, 3, 60.0)
    assert (f.as_dict()["service_seconds"], s.as_dict()["service_seconds"]) == (10, 30)
    assert (f.as_dict()["service_level"], s.as_dict()["service_level"]) == (20.0, 60.0)


def test_target_seconds_is_a_number_when_every_queue_shares_it():
    assert stats.target_seconds({}) == stats.SERVICE_SECONDS
    assert stats.target_seconds({1: 15, 2: 15}) == 15
    assert not isinstance(stats.target_seconds({1: 15, 2: 30}), int)
