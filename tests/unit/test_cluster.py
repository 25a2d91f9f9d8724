"""Several nodes on one database, the parts that need no second process: each row carries its
node, a node recovers only its own calls, the channel gate counts the other nodes' open calls,
heartbeats tell the dead from the live, and a survivor's take-over closes a dead node's calls
(queued again only where Asterisk's record shows the originate never reached it)."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest

import models
from models import Call, CampaignContact, Tenant
from models.db import node_name
from models.entities import CreditReservation, Node
from voxcast.cdr import records as cdr
from voxcast.cdr.records import Cdrs
from voxcast.cluster import limits, nodes, takeover
from voxcast.dialing.admission import Admission, DncCheck
from voxcast.dialing.claims import Claims
from voxcast.billing.call_credit import CallBilling

from .test_dnc_dialer import _campaign

NOW = dt.datetime(2026, 1, 5, 15, 0)


@pytest.fixture
def database(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'cluster.sqlite3'}", node="a")
    models.create_schema()
    yield models.database
    models.database.close()
    models.init_database(f"sqlite:///{tmp_path / 'cluster.sqlite3'}", node="")


def _local(by_tenant=(), by_campaign=()):
    return SimpleNamespace(by_tenant=Counter(dict(by_tenant)),
                           by_campaign=Counter(dict(by_campaign)))


def _open_call(tenant, campaign, node, n):
    for i in range(n):
        Call.create(tenant=tenant, campaign=campaign, number=f"+1202555{node}{i:03d}",
                    channel_id=f"remote-{node}-{campaign.id}-{i}", node=node)


def test_given_a_node_when_it_claims_then_its_cdrs_and_reservations_carry_its_name(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102"])
    claimed = Claims(Admission([DncCheck()])).claim_due(campaign.id, 10, NOW)
    assert node_name() == "a"
    assert {Call.get_by_id(c.call_id).node for c in claimed} == {"a"}
    res = CreditReservation.create(tenant=acme, amount=1)
    assert res.node == "a"


def test_given_open_calls_of_two_nodes_when_one_recovers_then_it_sees_only_its_own(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101"])
    Claims(Admission([DncCheck()])).claim_due(campaign.id, 10, NOW)
    _open_call(acme, campaign, "b", 2)
    assert [o.claim.phone for o in cdr.open_calls()] == ["+12025550101"]
    assert len(cdr.open_calls("b")) == 2


def test_given_other_nodes_calls_when_claiming_then_the_gate_admits_only_the_room_left(database):
    acme = Tenant.create(name="Acme", slug="acme", channel_limit=5)
    campaign = _campaign(acme, [f"+120255501{i:02d}" for i in range(10)])
    campaign.channel_limit = 4
    campaign.save()
    _open_call(acme, campaign, "b", 2)  # two calls of this campaign on node b
    gate = limits.ClusterChannels("a", lambda: _local({acme.id: 1}, {campaign.id: 1}))
    claimed = Claims(Admission([DncCheck(), gate])).claim_due(campaign.id, 10, NOW)
    assert len(claimed) == 1  # campaign: 4 - 2 remote - 1 local
    pending = CampaignContact.select().where(CampaignContact.state == "pending").count()
    assert pending == 9  # the refused ones are as if never claimed
    by_tenant, by_campaign = limits.remote_open("a")
    assert by_tenant[acme.id] == 2 and by_campaign[campaign.id] == 2


def test_given_the_tenant_full_on_other_nodes_then_nothing_is_admitted(database):
    acme = Tenant.create(name="Acme", slug="acme", channel_limit=3)
    first = _campaign(acme, ["+12025550101", "+12025550102"])
    other = Tenant.create(name="Other", slug="other")
    _open_call(acme, first, "b", 3)
    _open_call(other, _campaign(other, ["+12025550199"]), "c", 5)  # another tenant's: no matter
    gate = limits.ClusterChannels("a", lambda: _local())
    assert Claims(Admission([DncCheck(), gate])).claim_due(first.id, 10, NOW) == []
    Call.update(ended_at=NOW).where(Call.node == "b").execute()  # b's calls end
    assert len(Claims(Admission([DncCheck(), gate])).claim_due(first.id, 10, NOW)) == 2


def test_heartbeats_tell_live_dead_and_stopped_nodes(database):
    nodes.beat("a", now=NOW)
    nodes.beat("b", now=NOW - dt.timedelta(seconds=30))
    nodes.beat("c", now=NOW)
    nodes.stopped("c")
    assert sorted(nodes.live(NOW)) == ["a"]
    assert [n.name for n in nodes.dead("a", NOW)] == ["b"]  # c is stopped but fresh
    assert nodes.begin_takeover("b", "a", NOW)
    assert not nodes.begin_takeover("b", "c", NOW)  # a has it
    assert nodes.beat("b", now=NOW) == "taking_over"  # b is back: it must wait
    nodes.end_takeover("b", "a")
    assert nodes.state_of("b") == "down"
    assert nodes.beat("b", now=NOW) == "up"


def test_the_registry_gives_kamailio_the_nodes_not_taken_over(database):
    nodes.beat("a", now=NOW, sip_address="127.0.0.1:15060")
    nodes.beat("b", now=NOW, sip_address="127.0.0.1:15110")
    nodes.beat("c", now=NOW - dt.timedelta(minutes=5), sip_address="127.0.0.1:15160")
    assert nodes.begin_takeover("c", "a", NOW)
    nodes.end_takeover("c", "a")
    assert nodes.sip_addresses() == [("a", "127.0.0.1:15060"), ("b", "127.0.0.1:15110")]
    from voxcast.runtime import kamailio
    listed = kamailio.parse_nodes(" ".join(f"{n}={a}" for n, a in nodes.sip_addresses()))
    assert [(n.name, n.port) for n in listed] == [("a", 15060), ("b", 15110)]


def test_given_a_node_back_in_time_then_no_survivor_takes_it_over(database):
    nodes.beat("b", now=NOW - dt.timedelta(seconds=30))
    nodes.beat("b", now=NOW)
    assert not nodes.begin_takeover("b", "a", NOW)


def test_given_a_dead_node_when_taken_over_then_its_calls_close_and_only_never_placed_ones_requeue(
        database, tmp_path):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102", "+12025550103"])
    claims = Claims(Admission([DncCheck()]))
    claimed = claims.claim_due(campaign.id, 10, NOW)
    # These calls belong to node b, which died; b's Asterisk recorded the first two channels.
    Call.update(node="b").execute()
    CreditReservation.update(node="b").execute()
    placed, answered_gone, never = claimed
    Call.update(placed_at=NOW).where(Call.id == placed.call_id).execute()
    log = tmp_path / "voxcast-channels.csv"
    t = NOW.replace(tzinfo=dt.timezone.utc).timestamp()
    log.write_text(f'"CHAN_START","{t + 1}","{placed.channel_id}","1",""\n'
                   f'"CHAN_START","{t + 1}","{answered_gone.channel_id}","2",""\n'
                   f'"ANSWER","{t + 2}","{answered_gone.channel_id}","2",""\n'
                   f'"HANGUP","{t + 9}","{answered_gone.channel_id}","2","{{""hangupcause"":16}}"\n')
    Node.create(name="b", last_seen=NOW - dt.timedelta(minutes=1), channel_log=str(log))
    billing = CallBilling()
    done = takeover.take_over("b", "a", Cdrs(Admission([DncCheck(), billing])), billing,
                              NOW)
    assert done is not None and done.calls == 3 and done.requeued == 1 and done.traced
    assert Call.select().where(Call.ended_at.is_null()).count() == 0
    states = {e.phone: (e.state, e.attempts) for e in CampaignContact.select()}
    assert states[never.phone] == ("pending", 0)  # never reached Asterisk: dialed later
    assert states[placed.phone][0] != "pending" and states[answered_gone.phone][0] != "pending"
    assert nodes.state_of("b") == "down"
    assert takeover.take_over("b", "a", Cdrs(Admission([DncCheck()])), billing, NOW) is None


def test_given_a_dead_node_without_a_readable_record_then_unplaced_calls_count_as_dialed(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101"])
    Claims(Admission([DncCheck()])).claim_due(campaign.id, 10, NOW)
    Call.update(node="b").execute()
    Node.create(name="b", last_seen=NOW - dt.timedelta(minutes=1), channel_log="/nonexistent")
    billing = CallBilling()
    done = takeover.take_over("b", "a", Cdrs(Admission([DncCheck(), billing])), billing, NOW)
    assert done.requeued == 0 and not done.traced
    assert CampaignContact.get().state != "pending"  # never dialed twice
