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
