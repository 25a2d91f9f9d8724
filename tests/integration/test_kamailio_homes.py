"""A tenant's contact centre on one node, its home (issue 16, item 1), behind Kamailio.

Two nodes on one PostgreSQL (node a: the suite's Asterisk; node b: test_kamailio's second
instance, ports 50 above) and Kamailio in front with the tenants' homes on: an agent's phone
and a second phone of the same tenant register through Kamailio and land on the same node; a
PSTN caller dials the tenant's DID through Kamailio, reaches the queue on that node, and the
agent (logged in through the agents' service, as the queue tests do) answers on their phone.
The web's console commands follow the agent: a manual dial is posted to the node that has
the agent's phone (asked of the nodes' ARIs) and dialed there only; the other node, given it
directly, refuses it. Then the home's Asterisk stops: Kamailio moves the whole tenant to the
other node, the phone registers again there, and the next DID call is answered there.
"""
from __future__ import annotations

import itertools
import os
import re
import secrets
from dataclasses import replace
from decimal import Decimal

import pytest
from voxcast.accounts.passwords import hash_password

from models import Call, Did, Extension, Tenant, User
from models.entities import AgentSession, Node, Queue, QueueCall, QueueMember
from voxcast.agents import sessions
from voxcast.campaigns import services as campaign_service
from voxcast.console import commands, live
from voxcast.console import nodes as console_nodes
from voxcast.runtime import asterisk, kamailio, pjsip_sync

from .child_process import VoxcastProcess, settings_in
from .conftest import wait_for
from .sipp import Sipp
from .factories import reload, unique_phones
from .test_billing_enforcement import _tenant
from .test_voice_agent import _campaign as _voice_agent_campaign
from .test_kamailio import (NodeB, _app_connected, _answered_by, _b_settings, _contacts,
                            _received, _states)

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="tenants' homes need the nodes' shared PostgreSQL")

PING_S = 1
TIMEOUT_MS = 1500
PROXY = "127.0.0.1"  # Kamailio's address as the nodes see it
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def cluster(runtime, db, stasis_app, artifacts):
    """Node a (the suite's Asterisk, its app as node `a`) and node b, both behind Kamailio
    (VOXCAST_SIP_PROXY), and Kamailio with both in its dispatcher list, homes on."""
    b, env = _b_settings(runtime)
    # one ARI password for the nodes and the web (the test process), which posts to either
    env["VOXCAST_ARI_PASSWORD"] = runtime.ari_password()
    b = settings_in(env, b.instance)
    asterisk.provision(b)
    stasis_app.stop()
    proxied_a = replace(runtime, sip_proxies=(PROXY,))
    pjsip_sync.sync(proxied_a)  # phones through Kamailio keep their Contact on node a too
    app_a = VoxcastProcess(artifacts / "stasis-app-home-a.log",
                           {**os.environ, "VOXCAST_NODE": "a", "VOXCAST_SIP_PROXY": PROXY})
    node_b = NodeB(b, env, artifacts)
    saved = {k: os.environ.get(k) for k in ("VOXCAST_KAMAILIO_PING_S", "VOXCAST_KAMAILIO_TIMEOUT_MS",
                                            "VOXCAST_KAMAILIO_HOMES")}
    try:
        app_a.spawn("--instance", runtime.instance, "ari-app")
        node_b.start()
        wait_for(lambda: _app_connected(runtime), 30, message="node a's Stasis app")
        os.environ.update(VOXCAST_KAMAILIO_PING_S=str(PING_S),
                          VOXCAST_KAMAILIO_TIMEOUT_MS=str(TIMEOUT_MS), VOXCAST_KAMAILIO_HOMES="1")
        kamailio.stop(runtime)
        kamailio.start(runtime, nodes=[kamailio.Node("a", "127.0.0.1", runtime.sip_port),
                                       kamailio.Node("b", "127.0.0.1", b.sip_port)])
        assert "sqlops.so" in (kamailio.state_dir(runtime) / "kamailio.cfg").read_text()
        wait_for(lambda: _states(runtime) == {"a": True, "b": True}, 15,
                 message="both nodes answered Kamailio's OPTIONS")
        yield proxied_a, node_b, kamailio.kamailio_settings(runtime), app_a
    finally:
        kamailio.stop(runtime)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        app_a.stop()
        node_b.stop()
        pjsip_sync.sync(runtime)
        Node.delete().where(Node.name.in_(("a", "b"))).execute()
        stasis_app.start()


class Phone:
    """An extension of the tenant and the sipp phone that registers as it through Kamailio."""

    def __init__(self, tenant, number: str, port: int, workdir, user=None):
        self.number, self.port, self.workdir = number, port, workdir
        self.ext = Extension.create(number=number, secret=secrets.token_urlsafe(12),
                                    tenant=tenant, user=user)
        self.answering: Sipp | None = None

    def register(self, kam) -> Sipp:
        reg = Sipp("uac_register.xml", self.workdir,
                   [f"127.0.0.1:{kam.port}", "-s", self.number, "-au", self.number,
                    "-ap", self.ext.secret, "-p", str(self.port), "-m", "1", "-timeout", "20s"],
                   name=f"home-register-{self.number}-{next(_seq)}")
        reg.start()
        assert reg.wait(30) == 0, reg.diagnostics()
        return reg

    def answer(self, talk_ms: int = 1500) -> Sipp:
        self.answering = Sipp("uas_agent_proxied.xml", self.workdir,
                              ["-p", str(self.port), "-mp", str(self.port + 60), "-m", "1",
                               "-d", str(talk_ms), "-timeout", "60s"],
                              name=f"home-phone-{self.number}-{next(_seq)}").start()
        return self.answering

    def stop(self) -> None:
        if self.answering:
            self.answering.stop()


def _registered_on(a, b, number: str) -> set[str]:
    return {name for name, s in (("a", a), ("b", b)) if _contacts(s, number)}


def _endpoints_everywhere(nodes, numbers) -> None:
    for settings in nodes:
        pjsip_sync.sync(settings)
        for number in numbers:
            wait_for(lambda s=settings, n=number: re.search(
                rf"Endpoint:\s+{n}/", asterisk.cli(s, "pjsip show endpoints")), 10,
                message=f"endpoint {number} on {settings.instance}")


def _expires(reg: Sipp) -> int:
    """What the registrar granted: the expires of the 200's Contact (or Expires header)."""
    ok = next(block for block in _received(reg) if block.startswith("SIP/2.0 200"))
    return min(int(v) for v in re.findall(r"expires[=:]\s*(\d+)", ok, re.I))


def _caller(workdir, kam, did: str, port: int) -> Sipp:
    return Sipp("uac_call_did_proxied.xml", workdir,
                [f"127.0.0.1:{kam.port}", "-s", did, "-p", str(port), "-mp", str(port + 60),
                 "-m", "1", "-timeout", "40s"], name=f"home-caller-{next(_seq)}").start()


def _answered_queue_call(queue) -> QueueCall:
    return wait_for(lambda: QueueCall.get_or_none(QueueCall.queue == queue.id,
                                                  QueueCall.ended_at.is_null(False),
                                                  QueueCall.outcome == "answered"),
                    20, message="the queue call answered and closed")


def test_given_two_nodes_behind_kamailio_when_a_tenants_phones_and_did_calls_arrive_then_they_meet_on_its_home_and_move_with_it(
        cluster, runtime, master, workdir):
    a, node_b, kam, _ = cluster
    b = node_b.settings
    port = kam.port + 10  # phones at +10, +11; callers at +15.. (media 60 above each)

    # A tenant whose home is node b (the node the test can stop): tenants hash over the two
    # nodes, so a few fresh tenants find one; its first phone's registration shows where.
    for attempt in range(8):
        tenant = _tenant("5.00", prefix="1555")  # rated for the console's manual dial
        slug = tenant.slug
        user = User.create(tenant=tenant, username=f"{slug}-agent", role="agent",
                           password_hash=hash_password("x"), first_name="Agent")
        base = 74000 + (os.getpid() % 100) * 100 + attempt * 10
        agent = Phone(tenant, str(base + 1), port, workdir, user=user)
        other = Phone(tenant, str(base + 2), port + 1, workdir)
        _endpoints_everywhere((a, b), (agent.number, other.number))
        reg = agent.register(kam)
        where = _registered_on(a, b, agent.number)
        assert len(where) == 1, where  # on exactly one node
        if where == {"b"}:
            break
    else:
        pytest.fail("no tenant of 8 hashed to node b")

    # Kamailio asked the database once and keeps the phone's tenant
    assert f"t{tenant.id}" in kamailio.rpc(runtime, "htable.get", "homes", f"u:{agent.number}")
    # registered through Kamailio for at most a minute (its Expires of 300 capped)
    assert _expires(reg) <= kamailio.REGISTER_EXPIRES_MAX
    # another phone of the tenant, another user name: the same node (the tenant's hash)
    other.register(kam)
    assert _registered_on(a, b, other.number) == {"b"}

    try:
        _console_dial_on_the_phones_node(a, b, workdir, tenant, user, agent)
        _voice_agent_campaign_dialed_by_the_phones_node(a, b, workdir, tenant, user, agent)
    finally:
        agent.stop()
        sessions.end_for_user(user.id, "logout")

    # the agent logs in; the tenant's DID goes to the queue
    sessions.login(tenant.id, user.id)
    queue = Queue.create(tenant=tenant, name=f"{slug}-q", strategy="longest_idle",
                         ring_seconds=8, max_wait_seconds=25, announce_every_seconds=0,
                         wrapup_seconds=1, fallback="message")
    QueueMember.create(tenant=tenant, queue=queue, user=user, penalty=0)
    did = f"1555887{base % 10000:04d}"
    Did.create(number=did, tenant=tenant, route="queue", queue=queue)

    try:
        # a PSTN caller through Kamailio: to the tenant's home, where the agent answers
        phone = agent.answer()
        caller = _caller(workdir, kam, did, port + 5)
        assert caller.wait(45) == 0, caller.diagnostics()
        assert phone.wait(20) == 0, phone.diagnostics()
        assert _answered_by(caller) == [b.sip_port]
        assert f"t{tenant.id}" in kamailio.rpc(runtime, "htable.get", "homes", f"d:{did}")
        first = _answered_queue_call(queue)
        assert first.agent_id == user.id and first.offers == 1
        assert Call.get_by_id(first.call_id).node == "b"
        assert Call.get_by_id(first.agent_call_id).node == "b"
        invite = next(block for block in _received(phone) if block.startswith("INVITE "))
        assert re.search(rf"^Record-Route:.*127\.0\.0\.1:{kam.port}", invite, re.M | re.I)

        # the home's Asterisk stops: Kamailio marks it down and moves the whole tenant to a
        node_b.stop_asterisk()
        wait_for(lambda: _states(runtime) == {"a": True, "b": False}, 10,
                 message="Kamailio marked node b down")
        # the phones register again (as they do within a minute): both on node a now
        agent.register(kam)
        other.register(kam)
        assert _registered_on(a, b, agent.number) == {"a"}
        assert _registered_on(a, b, other.number) == {"a"}
        wait_for(lambda: AgentSession.get(AgentSession.user == user.id,
                                          AgentSession.ended_at.is_null()).state == "ready", 15,
            message="the agent ready again after the wrap-up")

        phone = agent.answer()
        caller = _caller(workdir, kam, did, port + 6)
        assert caller.wait(45) == 0, caller.diagnostics()
        assert phone.wait(20) == 0, phone.diagnostics()
        assert _answered_by(caller) == [a.sip_port]
        second = wait_for(lambda: QueueCall.get_or_none(
            QueueCall.queue == queue.id, QueueCall.id != first.id,
            QueueCall.ended_at.is_null(False)), 20, message="the second queue call closed")
        assert second.outcome == "answered" and second.agent_id == user.id
        assert Call.get_by_id(second.call_id).node == "a"
        assert Call.get_by_id(second.agent_call_id).node == "a"
    finally:
        agent.stop()
        sessions.end_for_user(user.id, "logout")
        node_b.start_asterisk()


CONTACT = "+15557770131"


def _console_dial_on_the_phones_node(a, b, workdir, tenant, user, agent: Phone) -> None:
    """The web (this process, node a's settings) dials from the console: the command goes to
    node b, where the phone is; node a, sent one directly, refuses it and dials nothing."""
    session = sessions.login(tenant.id, user.id)
    variables = commands.prepare(tenant.id, user.id, "dial", {"number": CONTACT})
    wait_for(lambda: console_nodes.ari_for(a, variables) == b.ari_url, 10,
             message="the web finds the agent's phone on node b")

    commands.send(a, variables, ari_url=a.ari_url)  # to the node without the phone
    refused = wait_for(lambda: (lambda s: s if s.get("kind") == "refused" else None)(
        live.read(AgentSession.get_by_id(session.id).console_status)), 10,
        message="node a refused the dial")
    assert "not registered" in refused.get("message", "")
    assert not Call.select().where(Call.tenant == tenant.id).exists()

    far_end = Sipp.uas("uas_answer.xml", workdir, b.trunk_port, calls=1, timeout=60).start()
    try:
        phone = agent.answer(talk_ms=1500)
        commands.send(a, variables)  # as the web does: to the node that has the phone
        assert phone.wait(40) == 0, phone.diagnostics()
        assert far_end.wait(30) == 0, far_end.diagnostics()
    finally:
        far_end.stop()
    legs = wait_for(lambda: (lambda rows: rows if len(rows) == 2 and all(
        r.ended_at for r in rows) else None)(list(Call.select().where(Call.tenant == tenant.id))),
        15, message="the console call's two legs closed")
    assert {leg.direction for leg in legs} == {"agent", "outbound"}
    assert {leg.node for leg in legs} == {"b"}  # dialed once, by the phone's node only


def _voice_agent_campaign_dialed_by_the_phones_node(a, b, workdir, tenant, user, agent: Phone):
    """Both nodes run the dialer over the same campaigns; only node b, where the agent's phone
    is, paces and dials the Voice Agent campaign (node a counts no agent of it)."""
    sessions.login(tenant.id, user.id)
    phones = unique_phones(2)
    campaign = _voice_agent_campaign(tenant, a, phones, [user], dial_ratio=1.0)
    far_end = Sipp.uas("uas_answer.xml", workdir, b.trunk_port, calls=2, timeout=60).start()
    phone = Sipp("uas_agent_proxied.xml", workdir,
                 ["-p", str(agent.port), "-mp", str(agent.port + 60), "-m", "2", "-d", "1000",
                  "-timeout", "60s"], name=f"home-va-phone-{agent.number}").start()
    try:
        campaign_service.start(campaign, a)
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        assert far_end.wait(15) == 0, far_end.diagnostics()
        assert phone.wait(15) == 0, phone.diagnostics()
    finally:
        far_end.stop()
        phone.stop()
    calls = list(Call.select().where(Call.campaign == campaign.id))
    assert len(calls) == 2 and {c.node for c in calls} == {"b"}
    outcomes = [q.outcome for q in QueueCall.select().where(QueueCall.campaign == campaign.id)]
    assert outcomes == ["answered", "answered"]
    sessions.end_for_user(user.id, "logout")
