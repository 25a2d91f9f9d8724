"""The supervisor's wallboard and the live statistics: the state and duration of every kind of
open call (voxcast.reports.live), the wallboard's agents, queues and totals, the pages' roles
and feature gate, forced pause and logout (CSRF, another tenant's agent), the CSV and the API."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from models import Call, Campaign, Tenant
from models.entities import AgentSession, PauseReason, Queue, QueueCall, TenantLog, utcnow
from voxcast.accounts import api_keys
from voxcast.agents import sessions, states
from voxcast.console import live as console_live
from voxcast.reports import live
from voxcast.supervision import wallboard

from .agents_support import make_agent

NOW = dt.datetime(2026, 12, 2, 10, 0, 0)
_channels = iter(range(1, 10_000))


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def call(tenant, **fields) -> Call:
    fields.setdefault("number", "+12025550101")
    fields.setdefault("direction", "outbound")
    return Call.create(tenant=tenant, channel_id=f"ch-{next(_channels)}", **fields)


@pytest.fixture
def acme(db, make_tenant):
    tenant, boss = make_tenant("acme", role="supervisor")
    return tenant, boss


def by_number(calls):
    return {c.number: c for c in calls}


def test_every_kind_of_open_call_has_its_state_and_durations(acme, make_tenant):
    tenant, _ = acme
    plain = Campaign.create(tenant=tenant, name="Reminders", type="voice_message")
    amd = Campaign.create(tenant=tenant, name="Survey AMD", type="voice_message",
                          amd_enabled=True)
    sales = Queue.create(tenant=tenant, name="Sales", number="600")
    alice = make_agent(tenant, "alice")
    bob = make_agent(tenant, "bob")
    call(tenant, number="+1001", campaign=plain, started_at=ago(3))                # not placed
    call(tenant, number="+1002", campaign=plain, started_at=ago(8), placed_at=ago(8))
    call(tenant, number="+1003", campaign=amd, started_at=ago(12), placed_at=ago(12),
         answered_at=ago(2))
    call(tenant, number="+1004", campaign=amd, started_at=ago(40), placed_at=ago(40),
         answered_at=ago(30))
    waiting = call(tenant, number="+1005", direction="inbound", did="15550001",
                   started_at=ago(50))  # answered only when an agent takes it
    QueueCall.create(tenant=tenant, queue=sales, call=waiting, caller="+1005",
                     entered_at=ago(45))
    talking = call(tenant, number="+1006", direction="inbound", started_at=ago(100),
                   agent=alice)  # the caller's CDR is marked answered only as it closes
    leg = call(tenant, number="7001", direction="agent", started_at=ago(70),
               answered_at=ago(60), agent=alice)
    QueueCall.create(tenant=tenant, queue=sales, call=talking, agent_call=leg, caller="+1006",
                     entered_at=ago(90), answered_at=ago(60), agent=alice, outcome="answered")
    s = sessions.login(tenant.id, alice.id, now=ago(200))
    AgentSession.update(state="on_call", state_since=ago(60), call=talking.id).where(
        AgentSession.id == s.id).execute()
    held = call(tenant, number="+1007", started_at=ago(20), answered_at=ago(15), agent=bob)
    s2 = sessions.login(tenant.id, bob.id, now=ago(200))
    AgentSession.update(state="on_call", state_since=ago(15), call=held.id).where(
        AgentSession.id == s2.id).execute()
    console_live.publish(s2.id, "held")
    call(tenant, number="+1008", direction="transfer", started_at=ago(5), answered_at=ago(4))
    call(tenant, number="+1009", direction="inbound", started_at=ago(9))  # answer: at the close
    # not in progress: ended, a crash's leftover, another tenant's
    call(tenant, number="+1090", started_at=ago(30), ended_at=ago(1))
    call(tenant, number="+1091", started_at=ago(13 * 3600))
    other, _ = make_tenant("other")
    call(other, number="+1092", started_at=ago(5))

    calls = by_number(live.active_calls(tenant.id, NOW))
    assert set(calls) == {f"+100{i}" for i in range(1, 10)} | {"7001"}
    assert [(n, calls[n].leg, calls[n].state, calls[n].duration, calls[n].state_seconds)
            for n in sorted(calls)] == [
        ("+1001", "outbound", "dialing", 3, 3),
        ("+1002", "outbound", "ringing", 8, 8),
        ("+1003", "outbound", "amd", 12, 2),
        ("+1004", "outbound", "in_flow", 40, 30),
        ("+1005", "queue", "queued", 50, 45),
        ("+1006", "queue", "talking", 100, 60),
        ("+1007", "outbound", "on_hold", 20, 15),
        ("+1008", "transfer", "talking", 5, 4),
        ("+1009", "inbound", "in_flow", 9, 9),
        ("7001", "agent", "talking", 70, 60),
    ]
    assert (calls["+1005"].queue, calls["+1005"].agent) == ("Sales", "")
    assert (calls["+1006"].queue, calls["+1006"].agent) == ("Sales", "alice")
    assert (calls["7001"].queue, calls["7001"].agent) == ("Sales", "alice")
    assert calls["+1003"].campaign == "Survey AMD" and calls["+1007"].agent == "bob"
    assert list(live.active_calls(tenant.id, NOW)) == sorted(
        calls.values(), key=lambda c: (c.started_at, c.call_id))


def test_wallboard_agents_queues_and_totals(acme):
    tenant, _ = acme
    sales = Queue.create(tenant=tenant, name="Sales", number="600")
    Queue.create(tenant=tenant, name="Support", number="601")
    lunch = PauseReason.create(tenant=tenant, name="Lunch")
    alice, bob, carol = (make_agent(tenant, n) for n in ("alice", "bob", "carol"))
    for user in (alice, bob, carol):
        sessions.login(tenant.id, user.id, now=ago(600))
    talking = call(tenant, number="+1006", direction="inbound", started_at=ago(100),
                   answered_at=ago(99), agent=alice)
    sa = sessions.current(alice.id)
    assert states.offer_started(sa.id, talking.id, now=ago(70))
    assert states.offer_answered(sa.id, talking.id, now=ago(65))
    assert states.set_state(sessions.current(bob.id).id, "paused", pause_reason_id=lunch.id,
                            now=ago(120))
    # today in the queue: answered within 20 s, answered after 40 s, abandoned; one waits now
    QueueCall.create(tenant=tenant, queue=sales, caller="1", entered_at=ago(3000),
                     answered_at=ago(2990), ended_at=ago(2900), outcome="answered",
                     wait_seconds=10)
    QueueCall.create(tenant=tenant, queue=sales, caller="2", entered_at=ago(2000),
                     answered_at=ago(1960), ended_at=ago(1900), outcome="answered",
                     wait_seconds=40)
    QueueCall.create(tenant=tenant, queue=sales, caller="3", entered_at=ago(1000),
                     ended_at=ago(990), outcome="abandoned", wait_seconds=10)
    QueueCall.create(tenant=tenant, queue=sales, caller="4", entered_at=ago(7200),
                     ended_at=ago(7100), outcome="abandoned")  # before `since`
    waiting = call(tenant, number="+1005", direction="inbound", started_at=ago(50),
                   answered_at=ago(49))
    QueueCall.create(tenant=tenant, queue=sales, call=waiting, caller="+1005",
                     entered_at=ago(45))

    board = wallboard.build(tenant.id, NOW, since=ago(3600))
    agents = {a.username: a for a in board.agents}
    assert [a.username for a in board.agents] == ["alice", "bob", "carol"]
    assert (agents["alice"].state, agents["alice"].state_seconds,
            agents["alice"].call.number, agents["alice"].call.state) == (
        "on_call", 65, "+1006", "talking")
    assert (agents["bob"].state, agents["bob"].pause_reason, agents["bob"].state_seconds,
            agents["bob"].call) == ("paused", "Lunch", 120, None)
    assert (agents["carol"].state, agents["carol"].state_seconds) == ("ready", 600)
    queues = {q.name: q for q in board.queues}
    f = queues["Sales"].figures
    assert (f.waiting, round(f.longest_wait), f.answered, f.abandoned) == (1, 45, 2, 1)
    assert round(f.service_level, 1) == 33.3  # 1 of 3 ended calls answered within 20 s
    assert queues["Support"].figures.waiting == 0
    assert board.totals == {"agents": 3, "ready": 1, "ringing": 0, "on_call": 1, "wrapup": 0,
                            "paused": 1, "calls": 2, "waiting": 1, "longest_wait": 45}
    data = json.loads(json.dumps(board.as_dict()))  # plain JSON all the way down
    assert data["agents"][0]["call"]["number"] == "+1006"


def test_wallboard_queues_each_against_their_own_service_level_target(acme):
    """The same answered waits (5, 15, 25, 45 s) and an abandon in a 10 s and a 30 s queue:
    20 % and 60 %, each queue's target in the feed."""
    tenant, _ = acme
    fast = Queue.create(tenant=tenant, name="Fast", service_level_seconds=10)
    slow = Queue.create(tenant=tenant, name="Slow", service_level_seconds=30)
    for queue in (fast, slow):
        for wait in (5, 15, 25, 45):
            QueueCall.create(tenant=tenant, queue=queue, entered_at=ago(1000),
                             answered_at=ago(1000 - wait), ended_at=ago(500),
                             outcome="answered", wait_seconds=wait)
        QueueCall.create(tenant=tenant, queue=queue, entered_at=ago(900), ended_at=ago(890),
                         outcome="abandoned", wait_seconds=10)
    board = wallboard.build(tenant.id, NOW, since=ago(3600))
    got = {q["name"]: (q["service_seconds"], q["answered"], q["abandoned"], q["service_level"])
           for q in json.loads(json.dumps(board.as_dict()))["queues"]}
    assert got == {"Fast": (10, 4, 1, 20.0), "Slow": (30, 4, 1, 60.0)}


# -- the pages ---------------------------------------------------------------------------

@pytest.fixture
def boss(app, make_tenant, auth):
    tenant, user = make_tenant("acme", role="supervisor", timezone="Europe/Berlin")
    auth.login(user.username, f"pw-{user.username}")
    return tenant, user


@pytest.mark.parametrize("role,status", [("tenant", 200), ("supervisor", 200), ("user", 403),
                                         ("agent", 403)])
def test_pages_for_managers_only(app, make_tenant, auth, client, role, status):
    tenant, user = make_tenant("acme", role=role)
    auth.login(user.username, f"pw-{user.username}")
    for url in ("/supervisor/", "/supervisor/wallboard.json", "/supervisor/live",
                "/supervisor/live.json", "/supervisor/live.csv"):
        assert client.get(url).status_code == status, url
    nav = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert ('href="/supervisor/"' in nav) == (status == 200)


def test_wallboard_needs_agents_live_statistics_need_reports(boss, client):
    tenant, _ = boss
    Tenant.update(features="voice_message reports").where(Tenant.id == tenant.id).execute()
    assert client.get("/supervisor/").status_code == 403
    assert client.get("/supervisor/wallboard.json").status_code == 403
    assert client.get("/supervisor/live").status_code == 200
    Tenant.update(features="voice_message agents").where(Tenant.id == tenant.id).execute()
    assert client.get("/supervisor/").status_code == 200
    assert client.get("/supervisor/live").status_code == 403
    assert client.get("/supervisor/live.csv").status_code == 403


def test_wallboard_page_and_feed(boss, client):
    tenant, _ = boss
    alice = make_agent(tenant, "alice")
    sessions.login(tenant.id, alice.id)
    PauseReason.create(tenant=tenant, name="Training")
    html = client.get("/supervisor/").get_data(as_text=True)
    assert 'id="wallboard"' in html and "wallboard.js" in html
    assert "Training" in html and "Europe/Berlin" in html
    assert 'action="/supervisor/agents/0/pause"' not in html  # actions are set per row by JS
    assert 'data-pause-url="/supervisor/agents/0/pause"' in html
    assert 'data-monitor-url="/supervisor/agents/0/monitor"' in html  # B2's buttons
    data = client.get("/supervisor/wallboard.json").get_json()
    assert data["zone"] == "Europe/Berlin"
    assert [(a["username"], a["state"]) for a in data["agents"]] == [("alice", "ready")]
    # the queues count from Berlin's midnight (23:00 or 22:00 UTC the day before)
    since = dt.datetime.fromisoformat(data["since"].rstrip("Z"))
    assert since.hour in (22, 23)


def test_forced_pause_and_logout(boss, auth, client):
    tenant, _ = boss
    alice = make_agent(tenant, "alice")
    s = sessions.login(tenant.id, alice.id)
    lunch = PauseReason.create(tenant=tenant, name="Lunch")
    # without the CSRF token: refused, nothing moves
    res = client.post(f"/supervisor/agents/{alice.id}/pause", data={"pause_reason_id": lunch.id})
    assert res.status_code == 400
    assert AgentSession.get_by_id(s.id).state == "ready"
    res = auth.post(f"/supervisor/agents/{alice.id}/pause", {"pause_reason_id": str(lunch.id)},
                    follow_redirects=True)
    assert "alice is paused." in res.get_data(as_text=True)
    row = AgentSession.get_by_id(s.id)
    assert (row.state, row.pause_reason_id) == ("paused", lunch.id)
    assert TenantLog.select().where(TenantLog.action == "agent.state",
                                    TenantLog.detail.contains("Lunch")).exists()
    # on a call: a pause is refused with the reason, a logout is not
    AgentSession.update(state="on_call").where(AgentSession.id == s.id).execute()
    res = auth.post(f"/supervisor/agents/{alice.id}/pause", {}, follow_redirects=True)
    assert "alice is on a call" in res.get_data(as_text=True)
    assert AgentSession.get_by_id(s.id).state == "on_call"
    res = auth.post(f"/supervisor/agents/{alice.id}/logout", follow_redirects=True)
    assert "alice is logged out." in res.get_data(as_text=True)
    row = AgentSession.get_by_id(s.id)
    assert (row.state, row.end_reason) == ("logged_out", "supervisor")
    assert row.ended_at is not None and sessions.current(alice.id) is None
    res = auth.post(f"/supervisor/agents/{alice.id}/logout", follow_redirects=True)
    assert "alice is not logged in." in res.get_data(as_text=True)


def test_forced_moves_on_another_tenants_agent_are_not_found(boss, auth, make_tenant):
    other, _ = make_tenant("other")
    zed = make_agent(other, "zed")
    s = sessions.login(other.id, zed.id)
    reason = PauseReason.create(tenant=other, name="Theirs")
    assert auth.post(f"/supervisor/agents/{zed.id}/pause",
                     {"pause_reason_id": str(reason.id)}).status_code == 404
    assert auth.post(f"/supervisor/agents/{zed.id}/logout").status_code == 404
    assert AgentSession.get_by_id(s.id).state == "ready"
    # our own agent with another tenant's pause reason: refused, not paused
    tenant, _ = boss
    alice = make_agent(tenant, "alice")
    mine = sessions.login(tenant.id, alice.id)
    res = auth.post(f"/supervisor/agents/{alice.id}/pause", {"pause_reason_id": str(reason.id)},
                    follow_redirects=True)
    assert "No such pause reason." in res.get_data(as_text=True)
    assert AgentSession.get_by_id(mine.id).state == "ready"


def test_live_calls_page_csv_in_the_viewers_zone(boss, client, make_tenant):
    tenant, _ = boss
    started = utcnow().replace(microsecond=0) - dt.timedelta(seconds=30)
    call(tenant, number="+12025550123", direction="inbound", started_at=started,
         answered_at=started)
    other, _ = make_tenant("other")
    call(other, number="+12025550199", started_at=started)
    html = client.get("/supervisor/live").get_data(as_text=True)
    assert "+12025550123" in html and "5550199" not in html and "Europe/Berlin" in html
    body = client.get("/supervisor/live.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][6] == "started_at (Europe/Berlin)"
    assert len(rows) == 2 and rows[1][3] == "+12025550123" and rows[1][5] == "in_flow"
    local = started.replace(tzinfo=dt.timezone.utc).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert rows[1][6] == local.strftime("%Y-%m-%d %H:%M:%S")
    data = client.get("/supervisor/live.json").get_json()
    assert [c["number"] for c in data["calls"]] == ["+12025550123"]


def test_api_wallboard_and_live_calls(app, make_tenant, client):
    tenant, user = make_tenant("acme", role="tenant")
    _key, secret = api_keys.create(tenant_id=tenant.id, user=user, name="wallboard")
    headers = {"Authorization": f"Bearer {secret}"}
    alice = make_agent(tenant, "alice")
    sessions.login(tenant.id, alice.id)
    call(tenant, number="+12025550123", direction="inbound", started_at=utcnow())
    res = client.get("/api/v1/wallboard", headers=headers)
    assert res.status_code == 200
    data = res.get_json()
    assert [a["username"] for a in data["agents"]] == ["alice"]
    assert data["totals"]["calls"] == 1 and data["calls"][0]["state"] == "in_flow"
    res = client.get("/api/v1/reports/live-calls", headers=headers)
    assert [c["number"] for c in res.get_json()["items"]] == ["+12025550123"]
    assert client.get("/api/v1/wallboard").status_code == 401
    assert client.get("/api/v1/wallboard?since=yesterday", headers=headers).status_code == 400


def test_running_voice_agent_campaigns_with_their_abandon_rate(acme):
    tenant, _ = acme
    running = Campaign.create(tenant=tenant, name="Renewals", type="voice_agent",
                              status="running", pacing_mode="predictive")
    Campaign.create(tenant=tenant, name="Draft", type="voice_agent")
    Campaign.create(tenant=tenant, name="Message", type="voice_message", status="running")
    now = utcnow().replace(microsecond=0)
    for n, outcome in enumerate(["answered", "answered", "answered", "abandoned"]):
        c = call(tenant, number=f"+2{n}", campaign=running, started_at=now - dt.timedelta(
            minutes=5), answered_at=now - dt.timedelta(minutes=5), ended_at=now)
        QueueCall.create(tenant=tenant, campaign=running, call=c, caller=c.number,
                         entered_at=now - dt.timedelta(minutes=5), ended_at=now,
                         outcome=outcome)
    waiting = call(tenant, number="+29", campaign=running, started_at=now, placed_at=now,
                   answered_at=now)
    QueueCall.create(tenant=tenant, campaign=running, call=waiting, caller="+29",
                     entered_at=now)
    board = wallboard.build(tenant.id, now, since=now - dt.timedelta(hours=1))
    assert [c.name for c in board.campaigns] == ["Renewals"]
    row = board.as_dict()["campaigns"][0]
    assert (row["pacing_mode"], row["abandon_cap_pct"], row["calls"], row["waiting"]) == (
        "predictive", 3.0, 1, 1)
    # A's figures: the contact waiting now counts as live-answered too (5), one abandoned
    assert (row["live_answered"], row["abandoned"], row["abandon_pct"]) == (5, 1, 20.0)


def test_monitor_buttons_appear_when_the_monitor_endpoint_exists(app, make_tenant, auth, client):
    """B2's supervisor_monitor.start (webui/supervisor_monitor.py)."""
    assert "supervisor_monitor.start" in app.view_functions
    tenant, user = make_tenant("acme", role="tenant")
    auth.login(user.username, f"pw-{user.username}")
    html = client.get("/supervisor/").get_data(as_text=True)
    assert 'data-monitor-url="/supervisor/agents/0/monitor"' in html
    for mode in ("listen", "whisper", "barge"):
        assert f'name="mode" value="{mode}"' in html and f"monitor-{mode}" in html


def test_live_calls_filters_page_csv_json_and_api(boss, client, make_tenant):
    tenant, _ = boss
    sales = Queue.create(tenant=tenant, name="Sales", number="600")
    now = utcnow().replace(microsecond=0)
    waiting = call(tenant, number="+12025550131", direction="inbound", started_at=now)
    QueueCall.create(tenant=tenant, queue=sales, call=waiting, caller=waiting.number,
                     entered_at=now)
    call(tenant, number="+12025550132", started_at=now)  # a manual dial ringing
    html = client.get(f"/supervisor/live?leg=queue&queue_id={sales.id}").get_data(as_text=True)
    assert "+12025550131" in html and "+12025550132" not in html
    assert f'data-poll="/supervisor/live.json?leg=queue&amp;queue_id={sales.id}"' in html
    body = client.get("/supervisor/live.csv?state=ringing").get_data(as_text=True)
    assert "+12025550132" in body and "+12025550131" not in body
    data = client.get("/supervisor/live.json?state=queued").get_json()
    assert [c["number"] for c in data["calls"]] == ["+12025550131"]
    assert len(client.get("/supervisor/live.json?state=bogus").get_json()["calls"]) == 2
    _admin_tenant, admin = make_tenant("acme", role="tenant")  # keys are the admin's
    _key, secret = api_keys.create(tenant_id=tenant.id, user=admin, name="live")
    headers = {"Authorization": f"Bearer {secret}"}
    res = client.get(f"/api/v1/reports/live-calls?queue_id={sales.id}", headers=headers)
    assert [c["number"] for c in res.get_json()["items"]] == ["+12025550131"]
    res = client.get("/api/v1/reports/live-calls?state=bogus", headers=headers)
    assert res.status_code == 400 and "state" in res.get_json()["error"]["fields"]
