"""The Stasis app's side of the console's commands (ari_app.agent_commands): each user event
is checked again on the writer thread before anything is dialled, a refusal is told to that
agent's console only, and a manual dial opens both CDRs, marks the agent ringing and rings
their phone first (ARI here is a stand-in that records the requests)."""
from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

import models
from models.entities import AgentSession, Call, Tenant
from voxcast.agents import sessions, states

from ari_app.agent_commands import AgentCommands
from ari_app.calls import ChannelCounter, Router
from ari_app.events import Event
from ari_app.tasks import TaskSet
from ari_app.writer import Writer

from .agents_support import extension_number, make_agent


class RecordingAri:
    """Asterisk's REST API in a test: every request recorded, each one answered empty."""
    app = "voxcast"

    def __init__(self):
        self.requests: list[tuple[str, str, dict]] = []

    async def request(self, method, path, params=None, json_body=None, parse=True):
        self.requests.append((method, path, dict(params or {})))

    async def originate(self, endpoint, channel_id, app_args, caller_id="", timeout=30,
                        variables=None):
        self.requests.append(("POST", "/channels", {"endpoint": endpoint, "channelId": channel_id,
                                                    "callerId": caller_id}))

    async def post(self, path, **params):
        self.requests.append(("POST", path, params))

    async def delete(self, path, **params):
        self.requests.append(("DELETE", path, params))

    async def play(self, channel_id, media, playback_id=None):
        self.requests.append(("POST", f"/channels/{channel_id}/play", {"media": media}))

    async def hangup(self, channel_id, reason="normal"):
        self.requests.append(("DELETE", f"/channels/{channel_id}", {}))


class NoBilling:
    async def guard_leg(self, tenant_id, number, reference=""):
        return None  # no plan applies: nothing to reserve


@pytest.fixture
def app_db(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    models.create_schema()
    writer = Writer()
    yield writer
    writer.close()
    models.database.close()


def _event(**variables) -> Event:
    return Event(type="ChannelUserevent", raw={"type": "ChannelUserevent",
                                               "eventname": "voxcast-agent",
                                               "userevent": {k: str(v) for k, v in variables.items()}})


def _run(writer, steps):
    async def go():
        ctx = SimpleNamespace(writer=writer, router=Router(), tasks=TaskSet(), agents=None,
                              ari=RecordingAri(), channels=ChannelCounter(), credit=NoBilling())
        ctx.router.ctx = ctx
        bus = AgentCommands(ctx, max_channels=10)
        for variables in steps:
            ctx.router.dispatch(_event(**variables))
            for _ in range(50):  # the bus spawns a task per command
                await asyncio.sleep(0.02)
                if not [t for t in asyncio.all_tasks() if t.get_name().startswith("console-")]:
                    break
        return ctx, bus
    return asyncio.run(go())


def _agents(writer):
    tenant = Tenant.create(name="acme", slug="acme", channel_limit=5)
    ann, bob = make_agent(tenant, "ann"), make_agent(tenant, "bob")
    return tenant, ann, bob, sessions.login(tenant.id, ann.id), sessions.login(tenant.id, bob.id)


def test_given_dial_command_when_checked_then_agents_phone_rings_first(app_db):
    tenant, ann, _bob, session, _ = _agents(app_db)
    ctx, bus = _run(app_db, [dict(action="dial", tenant_id=tenant.id, user_id=ann.id,
                                  session_id=session.id, number="+12025550141")])
    now = AgentSession.get_by_id(session.id)
    assert now.state == "ringing", (now.console_status, ctx.ari.requests)
    calls = {c.direction: c for c in Call.select()}
    assert calls["agent"].number == extension_number(ann) and calls["agent"].agent_id == ann.id
    assert calls["outbound"].number == "+12025550141" and calls["outbound"].agent_id == ann.id
    assert AgentSession.get_by_id(session.id).call_id == calls["outbound"].id
    originates = [p for m, path, p in ctx.ari.requests if path == "/channels"]
    assert [o["endpoint"] for o in originates] == [f"PJSIP/{extension_number(ann)}"]
    assert originates[0]["channelId"] == calls["agent"].channel_id
    assert ctx.channels.by_tenant[tenant.id] == 1  # the agent's leg; the contact's once dialled
    assert session.id in bus.calls
    status = json.loads(AgentSession.get_by_id(session.id).console_status)
    assert status == {"kind": "phone", "number": "+12025550141"}


def test_given_forged_or_stale_commands_when_checked_then_nothing_is_dialled(app_db):
    tenant, ann, bob, session, bob_session = _agents(app_db)
    ctx, bus = _run(app_db, [
        # bob's user id with ann's session: refused, and ann's console is not told
        dict(action="dial", tenant_id=tenant.id, user_id=bob.id, session_id=session.id,
             number="+12025550141"),
        # the tenant's id of another tenant
        dict(action="dial", tenant_id=tenant.id + 1, user_id=ann.id, session_id=session.id,
             number="+12025550141"),
        # a call command while not on a call
        dict(action="hold", tenant_id=tenant.id, user_id=ann.id, session_id=session.id,
             call_id=1),
        # not a console action at all
        dict(action="reboot", tenant_id=tenant.id, user_id=ann.id, session_id=session.id),
    ])
    assert ctx.ari.requests == [] and Call.select().count() == 0 and bus.calls == {}
    ann_now = AgentSession.get_by_id(session.id)
    assert ann_now.state == "ready"
    assert json.loads(ann_now.console_status)["kind"] == "refused"  # her own stale hold
    assert AgentSession.get_by_id(bob_session.id).console_status == ""


def test_given_state_moved_meanwhile_when_dialing_then_the_dial_is_refused(app_db):
    tenant, ann, _bob, session, _ = _agents(app_db)
    assert states.set_state(session.id, "ringing")  # an ACD offer won the race
    ctx, bus = _run(app_db, [dict(action="dial", tenant_id=tenant.id, user_id=ann.id,
                                  session_id=session.id, number="+12025550141")])
    assert ctx.ari.requests == [] and Call.select().count() == 0
    assert "current call" in json.loads(AgentSession.get_by_id(session.id).console_status)["message"]
