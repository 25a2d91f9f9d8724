"""The ACD's writer jobs (voxcast.acd.store) on a real database, and the pure parts: which
agent is offered a call first, presence."""
from __future__ import annotations

import datetime as dt

import pytest

import models

from models import Call, Tenant
from models.entities import AgentSession, Queue, QueueCall, QueueMember, utcnow
from voxcast.acd import store
from voxcast.agents import sessions, states
from voxcast.agents.states import ReadyAgent

from ari_app.events import Event
from ari_app.presence import Presence

from tests.pg_support import fresh_schema, postgres_or_skip

from .agents_support import extension_number, make_agent

T0 = dt.datetime(2026, 1, 1, 12, 0)


def _ready(user_id, idle_min, penalty=0):
    return ReadyAgent(session_id=user_id * 10, user_id=user_id, extension=str(7000 + user_id),
                      idle_since=T0 + dt.timedelta(minutes=idle_min), penalty=penalty)


def test_order_puts_lower_penalty_first_then_the_longest_idle():
    agents = [_ready(1, 5), _ready(2, 1), _ready(3, 0, penalty=2)]
    assert [a.user_id for a in store.order(agents, "longest_idle")] == [2, 1, 3]


def test_round_robin_starts_after_the_user_offered_last_and_wraps():
    agents = [_ready(1, 0), _ready(2, 0), _ready(3, 0)]
    assert [a.user_id for a in store.order(agents, "round_robin", rr_after=2)] == [3, 1, 2]
    assert [a.user_id for a in store.order(agents, "round_robin", rr_after=3)] == [1, 2, 3]


def test_ring_all_rings_the_whole_lowest_penalty_tier_only():
    agents = [_ready(1, 0, penalty=1), _ready(2, 3, penalty=1), _ready(3, 0, penalty=4)]
    assert sorted(a.user_id for a in store.pick(agents, "ring_all")) == [1, 2]


def _device(ext, state):
    return Event("DeviceStateChanged", raw={"device_state": {"name": f"PJSIP/{ext}",
                                                               "state": state}})


def test_presence_usable_only_registered_and_not_on_another_call():
    p = Presence()
    p.update({"technology": "PJSIP", "resource": "7001", "state": "online", "channel_ids": []})
    p.update({"technology": "PJSIP", "resource": "7002", "state": "offline", "channel_ids": []})
    p.update({"technology": "PJSIP", "resource": "7003", "state": "online",
              "channel_ids": ["other-call"]})
    p.ours.add("our-leg")
    p.update({"technology": "PJSIP", "resource": "7004", "state": "online",
              "channel_ids": ["our-leg"]})
    assert [p.usable(e) for e in ("7001", "7002", "7003", "7004", "7999")] == [
        True, False, False, True, False]
    assert p.registered("7003") and not p.registered("7002")


def test_presence_follows_device_states():
    calls = []
    p = Presence(on_available=lambda: calls.append(1))
    p.on_device_state(_device("7001", "UNAVAILABLE"))
    assert not p.registered("7001") and not p.usable("7001")
    p.on_device_state(_device("7001", "NOT_INUSE"))
    assert p.usable("7001") and calls == [1]
    p.on_device_state(_device("7001", "INUSE"))
    assert p.registered("7001") and not p.usable("7001")
    p.on_device_state(_device("7001", "NOT_INUSE"))
    p.on_device_state(_device("7001", "NOT_INUSE"))
    assert calls == [1, 1]  # told once each time it frees up
    p.on_device_state(Event("DeviceStateChanged", raw={"device_state": {
        "name": "Local/x@y", "state": "INUSE"}}))
    assert p.online.keys() == {"7001"}


@pytest.fixture(params=["sqlite", "postgresql"])
def anydb(request, tmp_path):
    """The prepared statements on both databases the product runs on."""
    if request.param == "sqlite":
        yield request.getfixturevalue("db")
        return
    fresh_schema(postgres_or_skip("voxcast_acd_test"))
    yield models.database
    models.database.close()


def _setup(db, channel_limit=10):
    tenant = Tenant.create(name="acd", slug="acd", channel_limit=channel_limit,
                           agent_max_missed=2)
    a = make_agent(tenant, "acd-a")
    b = make_agent(tenant, "acd-b")
    queue = Queue.create(tenant=tenant, name="support", number="500")
    QueueMember.create(tenant=tenant, queue=queue, user=a, penalty=0)
    QueueMember.create(tenant=tenant, queue=queue, user=b, penalty=0)
    sa = sessions.login(tenant.id, a.id, now=T0)
    sb = sessions.login(tenant.id, b.id, now=T0 + dt.timedelta(seconds=30))
    return tenant, queue, a, b, sa, sb


_rounds = iter(range(1, 10000))


def _request(tenant, queue, key, **kw):
    values = dict(key=key, tenant_id=tenant.id, customer_call_id=None, caller="+4930123",
                  channel_prefix=f"c{key}-r{next(_rounds)}-", queue_id=queue.id)
    values.update(kw)
    return store.OfferRequest(**values)


def test_make_offers_serves_callers_in_order_each_with_its_own_agent(anydb):
    tenant, queue, a, b, sa, sb = _setup(anydb)
    customer = Call.create(tenant=tenant, direction="inbound", number="+4930123",
                           channel_id="cust-1")
    offers = store.make_offers([_request(tenant, queue, 1, customer_call_id=customer.id),
                                _request(tenant, queue, 2),
                                _request(tenant, queue, 3)], lambda ext: True)
    assert [o.user_id for o in offers[1]] == [a.id]  # the longest idle
    assert [o.user_id for o in offers[2]] == [b.id]
    assert 3 not in offers  # nobody left
    first = offers[1][0]
    leg = Call.get_by_id(first.agent_call_id)
    assert (leg.direction, leg.agent_id, leg.tenant_id, leg.number) == (
        "agent", a.id, tenant.id, extension_number(a))
    session = AgentSession.get_by_id(sa.id)
    assert session.state == "ringing" and session.call_id == customer.id
    assert first.max_missed == 2


def test_make_offers_skips_paused_unusable_and_excluded_agents(db):
    tenant, queue, a, b, sa, sb = _setup(db)
    states.set_state(sa.id, "paused")
    offers = store.make_offers([_request(tenant, queue, 1)],
                               lambda ext: ext != extension_number(b))
    assert offers == {}  # a paused, b not registered
    states.set_state(sa.id, "ready")
    offers = store.make_offers([_request(tenant, queue, 1, exclude=frozenset({a.id}))],
                               lambda ext: True)
    assert [o.user_id for o in offers[1]] == [b.id]  # a missed this call already
    store.offer_lost(offers[1][0].session_id)
    states.set_state(sb.id, "paused")
    offers = store.make_offers([_request(tenant, queue, 1, exclude=frozenset({a.id}))],
                               lambda ext: True)
    assert [o.user_id for o in offers[1]] == [a.id]  # everyone else tried: a again


def test_an_extension_handed_to_someone_else_is_not_rung_for_the_old_session(db):
    from models import Extension
    tenant, queue, a, b, sa, sb = _setup(db)
    Extension.update(user=None).where(Extension.user == a.id).execute()
    offers = store.make_offers([_request(tenant, queue, 1)], lambda e: True)
    assert [o.user_id for o in offers[1]] == [b.id]


def test_make_offers_respects_the_tenant_channel_limit(anydb):
    tenant, queue, *_ = _setup(anydb, channel_limit=2)
    assert store.make_offers([_request(tenant, queue, 1, live_channels=2)], lambda e: True) == {}
    offers = store.make_offers([_request(tenant, queue, 1, strategy="ring_all", max_legs=50,
                                         live_channels=1)], lambda e: True)
    assert len(offers[1]) == 1  # one channel left: one agent rung


def test_answer_and_end_of_a_queue_call_are_recorded(anydb):
    tenant, queue, a, b, sa, sb = _setup(anydb)
    customer = Call.create(tenant=tenant, direction="inbound", number="+4930123",
                           channel_id="cust-2")
    entry = store.enter_queue(tenant.id, queue.id, customer.id, "+4930123",
                              now=utcnow() - dt.timedelta(seconds=7))
    assert entry.plan.name == "support" and entry.logged_in == 2
    offers = store.make_offers([_request(tenant, queue, 1, customer_call_id=customer.id)],
                               lambda e: True)
    offer = offers[1][0]
    now = utcnow()
    store.answered(offer.session_id, offer.user_id, customer.id, offer.agent_call_id,
                   entry.queue_call_id, 1, now, 7)
    qc = QueueCall.get_by_id(entry.queue_call_id)
    assert (qc.outcome, qc.agent_id, qc.agent_call_id, qc.offers) == (
        "answered", a.id, offer.agent_call_id, 1)
    assert 6 <= qc.wait_seconds <= 8
    assert Call.get_by_id(customer.id).agent_id == a.id
    assert AgentSession.get_by_id(sa.id).state == "on_call"
    store.bridge_ended(sa.id, 30, entry.queue_call_id, now + dt.timedelta(seconds=60))
    session = AgentSession.get_by_id(sa.id)
    assert session.state == "wrapup" and session.call_id == customer.id
    assert QueueCall.get_by_id(entry.queue_call_id).ended_at is not None


def test_a_missed_offer_pauses_the_agent_after_max_missed(db):
    tenant, queue, a, b, sa, sb = _setup(db)
    for expected in ("ready", "paused"):
        offers = store.make_offers([_request(tenant, queue, 1, user_ids=[a.id])],
                                   lambda e: True)
        assert store.offer_missed(offers[1][0].session_id, 2) == expected
    assert AgentSession.get_by_id(sa.id).pause_reason.system


def test_abandoned_queue_call_and_queue_of_another_tenant(db):
    tenant, queue, *_ = _setup(db)
    other = Tenant.create(name="other", slug="other")
    assert store.enter_queue(other.id, queue.id, None, "x").plan is None
    entry = store.enter_queue(tenant.id, queue.id, None, "+4930999",
                              now=utcnow() - dt.timedelta(seconds=12))
    store.close_queue_call(entry.queue_call_id, "abandoned")
    store.close_queue_call(entry.queue_call_id, "timeout")  # closed once only
    qc = QueueCall.get_by_id(entry.queue_call_id)
    assert qc.outcome == "abandoned" and 11 <= qc.wait_seconds <= 13


def test_reset_after_restart_makes_ringing_and_talking_agents_ready(db):
    tenant, queue, a, b, sa, sb = _setup(db)
    store.make_offers([_request(tenant, queue, 1), _request(tenant, queue, 2)], lambda e: True)
    states.offer_answered(sb.id, None)
    waiting = store.enter_queue(tenant.id, queue.id, None, "+4930111").queue_call_id
    talking = store.enter_queue(tenant.id, queue.id, None, "+4930222").queue_call_id
    store.answered(sb.id, b.id, None, Call.create(tenant=tenant, number="1", channel_id="l-1").id,
                   talking, 1, utcnow())
    assert store.reset_after_restart() == 2
    assert {AgentSession.get_by_id(s.id).state for s in (sa, sb)} == {"ready"}
    left, took = QueueCall.get_by_id(waiting), QueueCall.get_by_id(talking)
    assert left.outcome == "abandoned" and left.ended_at is not None
    assert took.outcome == "answered" and took.ended_at is not None
