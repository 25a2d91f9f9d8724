"""A tenant's contact centre on its home node, the parts that need no second process: a node
paces a Voice Agent campaign only for the agents whose phone is registered on it (so a node
without them never dials for them, not even predictively for agents on calls elsewhere), the
web posts console commands to the node that has the agent's call or phone, and a node that
does not have the phone refuses a manual dial rather than ringing it too."""
from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import pytest
from voxcast.accounts.passwords import hash_password

from models import Call, Campaign, Tenant, User
from models.entities import AgentSession, Extension, Node, utcnow
from voxcast.cluster import nodes
from voxcast.console import nodes as console_nodes
from voxcast.dialing import predictive, voice_agent


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def _agents(master, states_: tuple[str, ...], since_s: float = 30) -> list[User]:
    now = utcnow()
    users = []
    for i, state in enumerate(states_):
        user = User.create(username=f"home-ag{i}", tenant=master, role="agent",
                           password_hash=hash_password("x"))
        ext = Extension.create(tenant=master, number=f"760{i}", user=user, secret="s" * 16)
        AgentSession.create(tenant=master, user=user, extension=ext, state=state,
                            state_since=now - dt.timedelta(seconds=since_s),
                            wrapup_until=now + dt.timedelta(seconds=5) if state == "wrapup"
                            else None)
        users.append(user)
    return users


def test_the_snapshot_keeps_each_agents_extension_and_filters_by_registration(master):
    users = _agents(master, ("ready", "on_call", "wrapup", "paused"))
    snap = voice_agent.agent_snapshot(master.id, [u.id for u in users])
    assert snap.ready_extensions == ("7600",)
    assert snap.on_call_extensions == ("7601",) and snap.wrapup_extensions == ("7602",)
    assert snap.working == 3
    here = snap.registered_here({"7600", "7601", "7602"}.__contains__)
    assert here == snap
    elsewhere = snap.registered_here(lambda ext: False)
    assert elsewhere.working == 0 and elsewhere.on_call_since == () == elsewhere.wrapup_until
    only_on_call = snap.registered_here({"7601"}.__contains__)
    assert only_on_call.on_call_since == snap.on_call_since and only_on_call.ready_extensions == ()


class _Writer:
    def __init__(self):
        self.posted = []

    async def run(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)

    def post(self, fn, *args, **kwargs):
        self.posted.append(fn.__name__)


def _dialer(registered: set[str]):
    from ari_app.dialer import Dialer
    ctx = SimpleNamespace(writer=_Writer(), agents=SimpleNamespace(registered=registered.__contains__),
                          cluster=object(), channels=None)
    dialer = Dialer.__new__(Dialer)  # only its pacing reads: no ARI, no token bucket needed
    dialer.ctx = ctx
    dialer._ready, dialer._snapshots, dialer._history, dialer._totals = {}, {}, {}, {}
    dialer._published, dialer._agent_calls = {}, {}
    return dialer


def _plan(master, users, mode: str):
    campaign = Campaign.create(tenant=master, name=f"VA {mode}", type="voice_agent")
    return SimpleNamespace(id=campaign.id, tenant_id=master.id, agent_ids=[u.id for u in users],
                           dial_ratio=1.0, abandon_cap_pct=3.0, wrapup_seconds=0,
                           pacing_mode=mode)


def test_given_agents_on_another_node_then_this_node_paces_nothing_for_them(master):
    users = _agents(master, ("ready",) + ("on_call",) * 5 + ("wrapup",) * 5, since_s=200)
    phones = {f"760{i}" for i in range(11)}
    ratio, predictive_plan = _plan(master, users, "ratio"), _plan(master, users, "predictive")

    home = _dialer(phones)
    assert asyncio.run(home._ready_agents(ratio)) == (1, 1)
    ready, working, lines, anywhere = asyncio.run(home._predictive_lines(predictive_plan))
    assert (ready, working, anywhere) == (1, 11, 11)  # its lines are the pacing's own call
    assert home.ctx.writer.posted == ["publish_pacing"]  # the dial level on the campaign page

    other = _dialer(set())  # the same agents in the database, their phones not here
    assert asyncio.run(other._ready_agents(ratio)) == (0, 1)
    ready, working, lines, anywhere = asyncio.run(other._predictive_lines(predictive_plan))
    assert (ready, working, lines) == (0, 0, 0) and anywhere == 11
    assert other.ctx.writer.posted == []  # never overwrites the home node's figures
    # counted from the database alone, the agents on calls and in wrap-up on the home node
    # would have this node dial "for those about to be ready"
    snap = voice_agent.agent_snapshot(master.id, [u.id for u in users])
    now = utcnow()
    unfiltered = predictive.decide(
        predictive.PacingSettings("predictive", 1.0, 3.0, 0.0, 10.0),
        predictive.LiveFigures(ready=0, on_call_elapsed=tuple(
            (now - s).total_seconds() for s in snap.on_call_since),
            wrapup_left=tuple((u - now).total_seconds() for u in snap.wrapup_until)))
    assert unfiltered.lines > 0


def _settings(**kw):
    return SimpleNamespace(ari_url="http://127.0.0.1:1/ari", node_stale_s=15.0, **kw)


def _live_nodes():
    now = utcnow()
    for name, port in (("a", 18001), ("b", 18002)):
        nodes.beat(name, now=now, sip_address=f"127.0.0.1:{port}",
                   ari_url=f"http://127.0.0.1:{port}/ari")
    Node.create(name="c", last_seen=now - dt.timedelta(minutes=5), ari_url="http://c/ari")


def test_without_nodes_commands_go_to_the_webs_own_ari(master):
    assert console_nodes.ari_for(_settings(), {"action": "dial", "session_id": "1"},
                                 online=lambda url, ext: True) == "http://127.0.0.1:1/ari"


def test_a_nodes_heartbeat_publishes_its_ari_and_only_live_nodes_are_asked(master):
    _live_nodes()
    assert nodes.ari_urls() == {"a": "http://127.0.0.1:18001/ari",
                                "b": "http://127.0.0.1:18002/ari"}


def test_given_nodes_a_dial_goes_to_the_node_where_the_agents_phone_is_registered(master):
    _live_nodes()
    user, = _agents(master, ("ready",))
    session = AgentSession.get(AgentSession.user == user.id)
    asked = []

    def online(url, ext):
        asked.append((url, ext))
        return url.endswith(":18002/ari")
    variables = {"action": "dial", "session_id": str(session.id)}
    assert console_nodes.ari_for(_settings(), variables, online=online) == \
        "http://127.0.0.1:18002/ari"
    assert ("http://c/ari", "7600") not in asked  # a dead node is not asked
    # registered nowhere: the web's own ARI, whose node then refuses it as on one node
    assert console_nodes.ari_for(_settings(), variables, online=lambda u, e: False) == \
        "http://127.0.0.1:1/ari"


def test_given_nodes_a_command_about_a_call_goes_to_the_node_of_that_call(master):
    _live_nodes()
    user, = _agents(master, ("on_call",))
    session = AgentSession.get(AgentSession.user == user.id)
    call = Call.create(tenant=master, number="7600", channel_id="home-1", direction="agent",
                       node="b")
    variables = {"action": "hold", "session_id": str(session.id), "call_id": str(call.id)}
    assert console_nodes.ari_for(_settings(), variables, online=lambda u, e: False) == \
        "http://127.0.0.1:18002/ari"


def test_a_node_without_the_agents_phone_refuses_a_manual_dial_in_a_cluster():
    from ari_app.agent_commands import AgentCommands
    here = SimpleNamespace(registered={"7600"}.__contains__)
    commands = AgentCommands.__new__(AgentCommands)
    commands.ctx = SimpleNamespace(cluster=object(), agents=here)
    assert commands.phone_here("7600") and not commands.phone_here("7601")
    commands.ctx = SimpleNamespace(cluster=None, agents=here)  # one node: as before
    assert commands.phone_here("7601")
