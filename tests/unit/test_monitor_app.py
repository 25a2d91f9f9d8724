"""The Stasis app's side of monitoring (ari_app.flows.monitor): a checked command rings the
supervisor's phone; their answer puts a snoop on the agent's channel in the mode's directions
and bridges it with them; a mode change swaps the snoop (the new one bridged before the old
goes); the snoop ending (the agent's call is over) or stop hangs the supervisor up; a stale
command rings nothing. ARI is a stand-in that records requests and plays Asterisk's part for
snoops (their StasisStart)."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

import models
from models.entities import AgentSession, Call, Extension, Tenant, TenantLog
from voxcast.agents import sessions

from ari_app.calls import ChannelCounter, Router
from ari_app.events import Event
from ari_app.flows.monitor import MonitorCommands
from ari_app.tasks import TaskSet
from ari_app.writer import Writer

from .agents_support import make_agent

AGENT_CHANNEL = "agent-chan-1"


class SnoopingAri:
    app = "voxcast"

    def __init__(self):
        self.requests: list[tuple[str, str, dict]] = []
        self.router = None

    async def originate(self, endpoint, channel_id, app_args, caller_id="", timeout=30,
                        variables=None):
        self.requests.append(("POST", "/channels", {"endpoint": endpoint,
                                                    "channelId": channel_id}))

    async def snoop(self, channel_id, snoop_id, spy="both", whisper="none", app_args="snoop"):
        self.requests.append(("POST", f"/channels/{channel_id}/snoop",
                              {"snoopId": snoop_id, "spy": spy, "whisper": whisper}))
        asyncio.get_running_loop().call_soon(self.router.dispatch, Event(
            type="StasisStart", channel_id=snoop_id, args=("snoop",)))

    async def post(self, path, **params):
        self.requests.append(("POST", path, params))

    async def delete(self, path, **params):
        self.requests.append(("DELETE", path, params))

    async def hangup(self, channel_id, reason="normal"):
        self.requests.append(("DELETE", f"/channels/{channel_id}", {}))
        asyncio.get_running_loop().call_soon(self.router.dispatch, Event(
            type="ChannelDestroyed", channel_id=channel_id))


@pytest.fixture
def app_db(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    models.create_schema()
    writer = Writer()
    yield writer
    writer.close()
    models.database.close()


def _setup():
    tenant = Tenant.create(name="acme", slug="acme")
    boss = make_agent(tenant, "boss", role="supervisor", extension=False)
    Extension.create(number="8801", secret="s", tenant=tenant, user=boss)
    alice = make_agent(tenant, "alice")
    s = sessions.login(tenant.id, alice.id)
    call = Call.create(tenant=tenant, channel_id="c1", number="+12025550101",
                       direction="inbound", agent=alice)
    AgentSession.update(state="on_call", call=call.id).where(AgentSession.id == s.id).execute()
    return tenant, boss, alice, AgentSession.get_by_id(s.id)


def _start(tenant, boss, alice, session, mode):
    return {"action": "start", "tenant_id": str(tenant.id), "supervisor_id": str(boss.id),
            "supervisor_name": boss.username, "extension": "8801", "agent_id": str(alice.id),
            "agent_name": alice.username, "agent_session_id": str(session.id), "mode": mode}


def _user_event(variables) -> Event:
    return Event(type="ChannelUserevent", raw={"type": "ChannelUserevent",
                                               "eventname": "voxcast-monitor",
                                               "userevent": variables})


async def _settle():
    for _ in range(100):
        await asyncio.sleep(0.01)
        busy = [t for t in asyncio.all_tasks()
                if t.get_name().startswith(("monitor-", "call-")) and not t.done()
                and t is not asyncio.current_task()]
        if not busy or all(t.get_name().startswith("call-") for t in busy):
            await asyncio.sleep(0.05)
            return


def _ctx(writer, session_id):
    ari = SnoopingAri()
    bridge = SimpleNamespace(agent_channel_id=AGENT_CHANNEL, ended=False)
    ctx = SimpleNamespace(writer=writer, router=Router(), tasks=TaskSet(), ari=ari,
                          channels=ChannelCounter(),
                          agents=SimpleNamespace(bridges={session_id: bridge}), console=None)
    ctx.router.ctx = ctx
    ari.router = ctx.router
    return ctx, MonitorCommands(ctx)


def test_given_a_whisper_when_answered_and_switched_to_barge_then_the_snoop_directions_follow(app_db):
    tenant, boss, alice, session = _setup()

    async def go():
        ctx, bus = _ctx(app_db, session.id)
        ctx.router.dispatch(_user_event(_start(tenant, boss, alice, session, "listen")))
        await _settle()
        (call,) = bus.calls.values()
        assert ctx.ari.requests == [("POST", "/channels", {"endpoint": "PJSIP/8801",
                                                           "channelId": call.channel_id})]
        assert ctx.channels.by_tenant[tenant.id] == 1
        # still ringing: a change of mind is only remembered
        ctx.router.dispatch(_user_event(_start(tenant, boss, alice, session, "whisper")))
        await _settle()
        assert len(ctx.ari.requests) == 1
        ctx.router.dispatch(Event(type="StasisStart", channel_id=call.channel_id,
                                  args=("monitor",)))  # the supervisor answers
        await _settle()
        snoops = [(path, p) for m, path, p in ctx.ari.requests if path.endswith("/snoop")]
        assert snoops == [(f"/channels/{AGENT_CHANNEL}/snoop",
                           {"snoopId": f"{call.channel_id}-s1", "spy": "both",
                            "whisper": "out"})]
        adds = [p["channel"] for m, path, p in ctx.ari.requests if path.endswith("/addChannel")]
        assert adds == [call.channel_id, f"{call.channel_id}-s1"]
        ctx.router.dispatch(_user_event(_start(tenant, boss, alice, session, "barge")))
        await _settle()
        after = ctx.ari.requests[-3:]
        assert after[0] == ("POST", f"/channels/{AGENT_CHANNEL}/snoop",
                            {"snoopId": f"{call.channel_id}-s2", "spy": "both",
                             "whisper": "both"})
        assert after[1] == ("POST", f"/bridges/{call.bridge_id}/addChannel",
                            {"channel": f"{call.channel_id}-s2"})
        assert after[2] == ("DELETE", f"/channels/{call.channel_id}-s1", {})  # after, not before
        assert not call.done  # the replaced snoop's end is no end of the call
        # the agent's call ends: Asterisk ends the snoop, the supervisor is hung up
        ctx.router.dispatch(Event(type="ChannelDestroyed", channel_id=f"{call.channel_id}-s2"))
        await _settle()
        assert ("DELETE", f"/channels/{call.channel_id}", {}) in ctx.ari.requests
        assert call.done and not bus.calls and ctx.channels.by_tenant[tenant.id] == 0
        assert ("DELETE", f"/bridges/{call.bridge_id}", {}) in ctx.ari.requests
        await ctx.writer.run(lambda: None)  # the tenant log's jobs, queued before, are done

    asyncio.run(go())
    rows = [(r.action, r.detail) for r in TenantLog.select().order_by(TenantLog.id)
            if r.action.startswith("agent.monitor")]
    assert [a for a, _ in rows] == ["agent.monitor", "agent.monitor", "agent.monitor_end"]
    assert "whispers to alice" in rows[0][1] and "barges into the call of alice" in rows[1][1]


def test_given_stop_or_a_stale_command_then_the_phone_is_hung_up_or_never_rung(app_db):
    tenant, boss, alice, session = _setup()

    async def go():
        ctx, bus = _ctx(app_db, session.id)
        stale = {**_start(tenant, boss, alice, session, "listen"),
                 "agent_session_id": str(session.id + 1)}
        ctx.router.dispatch(_user_event(stale))
        ctx.router.dispatch(_user_event({**_start(tenant, boss, alice, session, "listen"),
                                         "extension": "9999"}))  # not the supervisor's phone
        await _settle()
        assert ctx.ari.requests == [] and not bus.calls
        ctx.router.dispatch(_user_event(_start(tenant, boss, alice, session, "listen")))
        await _settle()
        (call,) = bus.calls.values()
        ctx.router.dispatch(_user_event({"action": "stop", "tenant_id": str(tenant.id),
                                         "supervisor_id": str(boss.id)}))
        await _settle()
        assert ctx.ari.requests[-1] == ("DELETE", f"/channels/{call.channel_id}", {})
        assert call.done and not bus.calls

    asyncio.run(go())


@pytest.mark.parametrize("agent_here", [True, False])
def test_given_a_console_call_then_the_snoop_goes_on_the_agents_leg_while_they_are_on_it(
        app_db, agent_here):
    from ari_app.flows.monitor import agent_channel
    leg = SimpleNamespace(channel_id="console-agent-7", done=False)
    call = SimpleNamespace(agent_here=agent_here, agent=leg)
    ctx = SimpleNamespace(agents=SimpleNamespace(bridges={}),
                          console=SimpleNamespace(calls={7: call}))
    assert agent_channel(ctx, 7) == ("console-agent-7" if agent_here else None)
    assert agent_channel(ctx, 8) is None
    ctx.agents.bridges[7] = SimpleNamespace(agent_channel_id="acd-agent", ended=False)
    assert agent_channel(ctx, 7) == "acd-agent"  # an ACD bridge of the session first
