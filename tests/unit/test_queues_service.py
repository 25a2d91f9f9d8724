"""Queue settings and members (voxcast.queues.services) on the real SQLite database: checks,
fallback targets of the tenant only and without loops, numbers that clash, members that are
the tenant's agents, delete refused while something routes to the queue."""
from __future__ import annotations

import pytest

from models import Did, Extension, Tenant
from models.entities import Ivr, Queue, QueueMember
from voxcast.queues import services as queues

from .agents_support import make_agent


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme")


@pytest.fixture
def other(db):
    return Tenant.create(name="Other", slug="other")


def test_create_with_defaults_members_and_audit(acme):
    a, b = make_agent(acme, "alice"), make_agent(acme, "bob")
    q = queues.create(acme.id, {"name": " Sales ", "number": "600", "strategy": "ring_all"},
                      [{"user_id": a.id, "penalty": "2"}, (b.id, 0)])
    assert (q.name, q.number, q.strategy, q.ring_seconds, q.fallback) == (
        "Sales", "600", "ring_all", 15, "message")
    assert q.service_level_seconds == 20 and queues.values_of(None)["service_level_seconds"] == 20
    assert [(m.user.username, m.penalty) for m in queues.members(q)] == [("bob", 0), ("alice", 2)]
    assert queues.queue_for_number(acme.id, "600").id == q.id
    assert queues.queue_for_number(acme.id, "601") is None
    assert queues.member_counts(acme.id) == {q.id: 2}


@pytest.mark.parametrize("data, field", [
    ({"name": ""}, "name"),
    ({"name": "Q", "strategy": "random"}, "strategy"),
    ({"name": "Q", "ring_seconds": 2}, "ring_seconds"),
    ({"name": "Q", "ring_seconds": "ten"}, "ring_seconds"),
    ({"name": "Q", "max_wait_seconds": 99999}, "max_wait_seconds"),
    ({"name": "Q", "announce_every_seconds": 5}, "announce_every_seconds"),
    ({"name": "Q", "wrapup_seconds": -1}, "wrapup_seconds"),
    ({"name": "Q", "service_level_seconds": 0}, "service_level_seconds"),
    ({"name": "Q", "service_level_seconds": 601}, "service_level_seconds"),
    ({"name": "Q", "service_level_seconds": "soon"}, "service_level_seconds"),
    ({"name": "Q", "service_level_seconds": True}, "service_level_seconds"),
    ({"name": "Q", "music_class": "../etc"}, "music_class"),
    ({"name": "Q", "number": "12ab"}, "number"),
    ({"name": "Q", "number": "112"}, "number"),
    ({"name": "Q", "fallback": "pstn"}, "fallback"),
    ({"name": "Q", "fallback": "queue"}, "fallback_queue_id"),
    ({"name": "Q", "fallback": "ivr"}, "fallback_ivr_id"),
])
def test_bad_settings_are_refused_with_the_field(acme, data, field):
    with pytest.raises(queues.QueueError) as exc:
        queues.create(acme.id, data)
    assert field in exc.value.errors
    assert exc.value.status == 422
    assert not Queue.select().exists()


def test_numbers_must_not_clash_with_extensions_ivrs_or_queues(acme, other):
    Extension.create(number="700", secret="x", tenant=acme)
    Ivr.create(tenant=acme, name="Main", number="701")
    queues.create(acme.id, {"name": "A", "number": "702"})
    for number in ("700", "701", "702"):
        with pytest.raises(queues.QueueError) as exc:
            queues.create(acme.id, {"name": "B", "number": number})
        assert "number" in exc.value.errors
    queues.create(other.id, {"name": "B", "number": "702"})  # another tenant's numbers are its own
    assert queues.queue_for_number(other.id, "702").tenant_id == other.id


def test_names_are_unique_per_tenant(acme, other):
    queues.create(acme.id, {"name": "Sales"})
    with pytest.raises(queues.QueueError) as exc:
        queues.create(acme.id, {"name": "sales"})
    assert "name" in exc.value.errors
    queues.create(other.id, {"name": "Sales"})


def test_fallbacks_are_the_tenants_and_never_loop(acme, other):
    theirs_q = queues.create(other.id, {"name": "Theirs"})
    theirs_ivr = Ivr.create(tenant=other, name="Theirs")
    with pytest.raises(queues.QueueError) as exc:
        queues.create(acme.id, {"name": "A", "fallback": "queue",
                                "fallback_queue_id": theirs_q.id})
    assert "fallback_queue_id" in exc.value.errors
    with pytest.raises(queues.QueueError) as exc:
        queues.create(acme.id, {"name": "A", "fallback": "ivr", "fallback_ivr_id": theirs_ivr.id})
    assert "fallback_ivr_id" in exc.value.errors
    a = queues.create(acme.id, {"name": "A"})
    b = queues.create(acme.id, {"name": "B", "fallback": "queue", "fallback_queue_id": a.id})
    c = queues.create(acme.id, {"name": "C", "fallback": "queue", "fallback_queue_id": b.id})
    with pytest.raises(queues.QueueError) as exc:  # A -> C -> B -> A
        queues.update(acme.id, a.id, {"fallback": "queue", "fallback_queue_id": c.id})
    assert exc.value.errors["fallback_queue_id"] == "That queue leads back to this one."
    with pytest.raises(queues.QueueError):
        queues.update(acme.id, a.id, {"fallback": "queue", "fallback_queue_id": a.id})
    own_ivr = Ivr.create(tenant=acme, name="Main")
    a = queues.update(acme.id, a.id, {"fallback": "ivr", "fallback_ivr_id": own_ivr.id,
                                      "fallback_queue_id": c.id})
    assert a.fallback_ivr_id == own_ivr.id and a.fallback_queue_id is None  # only the one used


def test_members_must_be_the_tenants_agents(acme, other):
    stranger = make_agent(other, "stranger")
    clerk = make_agent(acme, "clerk", role="user")
    alice = make_agent(acme, "alice")
    q = queues.create(acme.id, {"name": "Sales"})
    for bad in ([(stranger.id, 0)], [(clerk.id, 0)], [(alice.id, 101)], [(alice.id, 1), (alice.id, 2)],
                [("x", 0)]):
        with pytest.raises(queues.QueueError) as exc:
            queues.set_members(acme.id, q.id, bad)
        assert "members" in exc.value.errors
    queues.set_members(acme.id, q.id, [(alice.id, 3)])
    queues.update(acme.id, q.id, {"ring_seconds": 20})  # members unchanged
    assert [(m.user_id, m.penalty) for m in QueueMember.select()] == [(alice.id, 3)]
    queues.update(acme.id, q.id, {}, [])
    assert not QueueMember.select().exists()


def test_partial_update_keeps_the_rest(acme):
    q = queues.create(acme.id, {"name": "Sales", "number": "600", "ring_seconds": 25,
                                "announce_position": "on", "announce_wait": ""})
    assert q.announce_position is True and q.announce_wait is False
    q = queues.update(acme.id, q.id, {"max_wait_seconds": "120"})
    assert (q.name, q.number, q.ring_seconds, q.max_wait_seconds) == ("Sales", "600", 25, 120)
    q = queues.update(acme.id, q.id, {"service_level_seconds": "600"})
    assert (q.service_level_seconds, q.max_wait_seconds) == (600, 120)
    q = queues.update(acme.id, q.id, {"service_level_seconds": 1})
    assert Queue.get_by_id(q.id).service_level_seconds == 1
    assert queues.values_of(q)["service_level_seconds"] == 1
    q = queues.update(acme.id, q.id, {"number": "600"})  # its own number is no clash


def test_another_tenants_queue_is_not_found(acme, other):
    theirs = queues.create(other.id, {"name": "Theirs"})
    for call in (lambda: queues.get(acme.id, theirs.id),
                 lambda: queues.update(acme.id, theirs.id, {"name": "Mine"}),
                 lambda: queues.set_members(acme.id, theirs.id, []),
                 lambda: queues.delete(acme.id, theirs.id)):
        with pytest.raises(queues.QueueNotFound):
            call()
    assert queues.queue_for_number(acme.id, "") is None
    assert Queue.get_by_id(theirs.id).name == "Theirs"


def test_delete_is_refused_while_a_did_or_queue_sends_callers(acme):
    a = queues.create(acme.id, {"name": "A"})
    b = queues.create(acme.id, {"name": "B", "fallback": "queue", "fallback_queue_id": a.id})
    with pytest.raises(queues.QueueError) as exc:
        queues.delete(acme.id, a.id)
    assert "queue 'B'" in str(exc.value)
    queues.update(acme.id, b.id, {"fallback": "message"})
    did = Did.create(number="+4930555", tenant=acme, route="queue")
    Did.update(queue=a.id).where(Did.id == did.id).execute()
    with pytest.raises(queues.QueueError) as exc:
        queues.delete(acme.id, a.id)
    assert "DID +4930555" in str(exc.value)
    Did.update(route="greeting", queue=None, closed_route="queue",
               closed_target=a.id).where(Did.id == did.id).execute()
    with pytest.raises(queues.QueueError):
        queues.delete(acme.id, a.id)
    Did.update(closed_route="").where(Did.id == did.id).execute()
    queues.delete(acme.id, a.id)
    assert not Queue.select().where(Queue.id == a.id).exists()


def test_delete_is_refused_while_an_ivr_transfers_to_the_queue(acme):
    import json
    q = queues.create(acme.id, {"name": "Support"})
    tree = {"start": "t", "nodes": {"t": {"type": "transfer",
                                          "target": {"kind": "queue", "value": q.id}}}}
    Ivr.create(tenant=acme, name="Main", tree=json.dumps(tree))
    Ivr.create(tenant=acme, name="Broken", tree="not json")
    with pytest.raises(queues.QueueError) as exc:
        queues.delete(acme.id, q.id)
    assert "IVR 'Main'" in str(exc.value) and "Broken" not in str(exc.value)
