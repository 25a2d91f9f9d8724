"""Listen / whisper / barge requests: who may monitor whom (the tenant's supervisors, an agent
of theirs on a call, never themselves), the supervisor's own registered phone, the Stasis
app's recheck, the wallboard's buttons (CSRF, another tenant's agent) and the API. Asterisk is
a fake transport here; tests/integration/test_supervisor_monitor.py runs the real one."""
from __future__ import annotations

import pytest

from models.entities import AgentSession, Extension
from voxcast.accounts import api_keys
from voxcast.agents import sessions
from voxcast.supervision import monitor

from .agents_support import extension_number, make_agent


class FakeTransport:
    def __init__(self, online=()):
        self.online_numbers = set(online)
        self.posted: list[dict] = []

    def online(self, number: str) -> bool:
        return number in self.online_numbers

    def post_event(self, variables: dict) -> None:
        self.posted.append(variables)


@pytest.fixture
def acme(db, make_tenant):
    tenant, boss = make_tenant("acme", role="supervisor")
    Extension.create(number="8801", secret="s", tenant=tenant, user=boss)
    alice = make_agent(tenant, "alice")
    return tenant, boss, alice


def on_call(tenant, agent) -> AgentSession:
    s = sessions.login(tenant.id, agent.id)
    AgentSession.update(state="on_call", call=None).where(AgentSession.id == s.id).execute()
    from models import Call
    call = Call.create(tenant=tenant, channel_id=f"ch-{s.id}", number="+12025550101",
                       direction="inbound", agent=agent)
    AgentSession.update(call=call.id).where(AgentSession.id == s.id).execute()
    return AgentSession.get_by_id(s.id)


def test_a_supervisor_monitors_their_agent_on_a_call_on_their_own_registered_phone(acme):
    tenant, boss, alice = acme
    s = on_call(tenant, alice)
    fake = FakeTransport(online={"8801"})
    req = monitor.start(fake, tenant.id, boss.id, alice.id, "whisper")
    assert (req.extension, req.agent_session_id, req.mode) == ("8801", s.id, "whisper")
    (posted,) = fake.posted
    assert posted["action"] == "start" and posted["agent_id"] == str(alice.id)
    assert monitor.recheck(posted) == req  # the app's own check agrees


@pytest.mark.parametrize("mode", ["", "spy", "LISTEN"])
def test_an_unknown_mode_is_refused(acme, mode):
    tenant, boss, alice = acme
    on_call(tenant, alice)
    with pytest.raises(monitor.BadMode) as exc:
        monitor.start(FakeTransport({"8801"}), tenant.id, boss.id, alice.id, mode)
    assert exc.value.status == 422 and exc.value.field == "mode"


def test_an_agent_not_on_a_call_cannot_be_monitored(acme):
    tenant, boss, alice = acme
    fake = FakeTransport({"8801"})
    with pytest.raises(monitor.NotOnCall):  # not logged in
        monitor.start(fake, tenant.id, boss.id, alice.id, "listen")
    sessions.login(tenant.id, alice.id)
    with pytest.raises(monitor.NotOnCall) as exc:  # ready, no call
        monitor.start(fake, tenant.id, boss.id, alice.id, "listen")
    assert exc.value.code == "agent-not-on-call" and not fake.posted


def test_another_tenants_agent_is_not_found_and_agents_may_not_monitor(acme, make_tenant):
    tenant, boss, alice = acme
    other, _ = make_tenant("other")
    zed = make_agent(other, "zed")
    on_call(other, zed)
    with pytest.raises(monitor.NoSuchAgent) as exc:
        monitor.start(FakeTransport({"8801"}), tenant.id, boss.id, zed.id, "listen")
    assert exc.value.status == 404
    bob = make_agent(tenant, "bob")
    on_call(tenant, alice)
    with pytest.raises(monitor.NotASupervisor):
        monitor.start(FakeTransport({extension_number(bob)}), tenant.id, bob.id, alice.id,
                      "listen")


def test_the_supervisors_phone_must_be_theirs_and_registered(acme, make_tenant):
    tenant, boss, alice = acme
    on_call(tenant, alice)
    with pytest.raises(monitor.NoPhone) as exc:
        monitor.start(FakeTransport(), tenant.id, boss.id, alice.id, "listen")
    assert "8801" in str(exc.value) and "not registered" in str(exc.value)
    Extension.update(user=None).where(Extension.number == "8801").execute()
    with pytest.raises(monitor.NoPhone) as exc:
        monitor.start(FakeTransport({"8801"}), tenant.id, boss.id, alice.id, "listen")
    assert "no extension" in str(exc.value)


def test_nobody_monitors_themselves(acme):
    tenant, boss, _ = acme
    with pytest.raises(monitor.NotOnCall) as exc:
        monitor.start(FakeTransport({"8801"}), tenant.id, boss.id, boss.id, "listen")
    assert "your own" in str(exc.value)


def test_the_apps_recheck_refuses_what_changed_meanwhile(acme):
    tenant, boss, alice = acme
    on_call(tenant, alice)
    req = monitor.start(FakeTransport({"8801"}), tenant.id, boss.id, alice.id, "barge")
    sessions.end_for_user(alice.id, "logout")  # the agent left (the call is over)
    with pytest.raises(monitor.NotOnCall):
        monitor.recheck(req.variables())
    on_call(tenant, alice)  # a new session: not the call asked about
    with pytest.raises(monitor.NotOnCall):
        monitor.recheck(req.variables())
    forged = {**req.variables(), "agent_session_id": str(AgentSession.get(
        AgentSession.user == alice.id, AgentSession.ended_at.is_null()).id), "extension": "999"}
    with pytest.raises(monitor.NoPhone):
        monitor.recheck(forged)
    with pytest.raises(monitor.MonitorError):
        monitor.recheck({"action": "start", "tenant_id": "x"})
    assert monitor.recheck({"action": "stop", "tenant_id": str(tenant.id),
                            "supervisor_id": str(boss.id)}).action == "stop"


def test_only_monitor_user_events_are_parsed():
    assert monitor.parse({"eventname": "voxcast-agent", "userevent": {"action": "start"}}) is None
    assert monitor.parse({"eventname": monitor.EVENT, "userevent": {"action": "rm"}}) is None
    assert monitor.parse({"eventname": monitor.EVENT,
                          "userevent": {"action": "stop", "supervisor_id": 3}}) == {
        "action": "stop", "supervisor_id": "3"}


def test_the_tenant_log_says_who_monitored_whom_and_how(acme):
    from models.entities import TenantLog
    tenant, boss, alice = acme
    on_call(tenant, alice)
    req = monitor.start(FakeTransport({"8801"}), tenant.id, boss.id, alice.id, "whisper")
    monitor.log_started(req)
    monitor.log_ended(req, 42)
    rows = list(TenantLog.select().where(TenantLog.tenant == tenant.id).order_by(TenantLog.id))
    assert [(r.action, r.user_id, r.username) for r in rows[-2:]] == [
        ("agent.monitor", boss.id, boss.username), ("agent.monitor_end", boss.id, boss.username)]
    assert rows[-2].detail == f"{boss.username} whispers to alice (phone 8801)"
    assert "after 42 s" in rows[-1].detail


# -- the wallboard's buttons and the API -------------------------------------------------------

@pytest.fixture
def fake(app):
    transport = FakeTransport({"8801"})
    app.extensions["voxcast_monitor_transport"] = transport
    yield transport
    app.extensions.pop("voxcast_monitor_transport", None)


def test_the_wallboard_buttons_ring_the_supervisors_phone(acme, auth, client, fake):
    tenant, boss, alice = acme
    auth.login(boss.username, f"pw-{boss.username}")
    on_call(tenant, alice)
    url = f"/supervisor/agents/{alice.id}/monitor"
    assert client.post(url, data={"mode": "listen"}).status_code == 400  # no CSRF token
    assert not fake.posted
    res = auth.post(url, {"mode": "listen"}, follow_redirects=True)
    assert "Listening to alice on your phone (8801): answer it when it rings." in res.get_data(as_text=True)
    assert fake.posted[-1]["mode"] == "listen"
    res = auth.post(url, {"mode": "shout"}, follow_redirects=True)
    assert "Choose listen, whisper or barge." in res.get_data(as_text=True)
    html = client.get("/supervisor/").get_data(as_text=True)
    assert 'action="/supervisor/monitor/stop"' in html and "Stop monitoring" in html
    res = auth.post("/supervisor/monitor/stop", {}, follow_redirects=True)
    assert "Monitoring stopped." in res.get_data(as_text=True)
    assert fake.posted[-1]["action"] == "stop" and len(fake.posted) == 2


def test_the_buttons_on_another_tenants_agent_are_not_found(acme, auth, make_tenant, fake):
    tenant, boss, _ = acme
    other, _ = make_tenant("other")
    zed = make_agent(other, "zed")
    on_call(other, zed)
    auth.login(boss.username, f"pw-{boss.username}")
    assert auth.post(f"/supervisor/agents/{zed.id}/monitor", {"mode": "listen"}).status_code == 404
    assert not fake.posted


def test_agents_cannot_use_the_buttons(acme, auth, client, fake):
    tenant, _, alice = acme
    bob = make_agent(tenant, "bob")
    on_call(tenant, alice)
    auth.login(bob.username, f"pw-{bob.username}")
    assert auth.post(f"/supervisor/agents/{alice.id}/monitor",
                     {"mode": "listen"}).status_code == 403
    assert not fake.posted


def test_api_monitor_an_agent_session(acme, client, make_tenant, fake):
    tenant, boss, alice = acme
    _, admin = make_tenant("acme", role="tenant")
    _key, secret = api_keys.create(tenant_id=tenant.id, user=admin, name="monitor")
    headers = {"Authorization": f"Bearer {secret}"}
    s = on_call(tenant, alice)
    url = f"/api/v1/agents/{s.id}/monitor"
    res = client.post(url, json={"mode": "listen"}, headers=headers)  # the key's owner: no phone
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "no-supervisor-phone"
    res = client.post(url, json={"mode": "barge", "supervisor_id": boss.id}, headers=headers)
    assert res.status_code == 202, res.get_json()
    assert res.get_json() == {"action": "start", "mode": "barge", "agent_session_id": s.id,
                              "agent_id": alice.id, "supervisor_id": boss.id,
                              "extension": "8801"}
    res = client.post(url, json={"mode": "stop", "supervisor_id": boss.id}, headers=headers)
    assert res.status_code == 202 and res.get_json()["action"] == "stop"
    assert client.post(url, json={"mode": "yell"}, headers=headers).status_code == 422
    assert client.post(url, json={"mode": "listen"}).status_code == 401
    other, _ = make_tenant("other")
    zed = make_agent(other, "zed")
    theirs = on_call(other, zed)
    res = client.post(f"/api/v1/agents/{theirs.id}/monitor",
                      json={"mode": "listen", "supervisor_id": boss.id}, headers=headers)
    assert res.status_code == 404
    AgentSession.update(state="ready", call=None).where(AgentSession.id == s.id).execute()
    res = client.post(url, json={"mode": "listen", "supervisor_id": boss.id}, headers=headers)
    assert res.status_code == 409 and res.get_json()["error"]["code"] == "agent-not-on-call"
    assert len(fake.posted) == 2
