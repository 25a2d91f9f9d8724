"""The contact centre set-up pages: pause reasons, dispositions, queues with members, the
agents-now page; other tenants' ids are not found, the agents feature gates them, agents and
plain users may not change them."""
from __future__ import annotations

import pytest

from models import Tenant
from models.entities import AgentDisposition, AgentSession, PauseReason, Queue, QueueMember
from voxcast.agents import sessions

from .agents_support import make_agent


@pytest.fixture
def admin(app, make_tenant, auth):
    tenant, user = make_tenant("acme", role="tenant")
    auth.login(user.username, f"pw-{user.username}")
    return tenant, user


QUEUE = {"name": "Sales", "number": "600", "strategy": "longest_idle", "ring_seconds": "20",
         "max_wait_seconds": "300", "music_class": "default", "announce_every_seconds": "60",
         "announce_position": "y", "wrapup_seconds": "15", "service_level_seconds": "20",
         "fallback": "message",
         "fallback_queue_id": "", "fallback_ivr_id": "", "fallback_text": ""}


def test_pause_reasons_add_edit_delete(admin, auth, client):
    tenant, _ = admin
    res = auth.post("/pause-reasons/", {"name": "Lunch", "active": "y"}, follow_redirects=True)
    assert "Pause reason &#39;Lunch&#39; added." in res.get_data(as_text=True)
    row = PauseReason.get(PauseReason.tenant == tenant.id)
    res = auth.post("/pause-reasons/", {"name": "lunch", "active": "y"})
    assert res.status_code == 400 and "already exists" in res.get_data(as_text=True)
    auth.post(f"/pause-reasons/{row.id}", {"name": "Long lunch"})  # box unticked: off
    row = PauseReason.get_by_id(row.id)
    assert (row.name, row.active) == ("Long lunch", False)
    auth.post(f"/pause-reasons/{row.id}/delete")
    assert not PauseReason.select().exists()


def test_dispositions_add_edit_delete(admin, auth):
    tenant, _ = admin
    res = auth.post("/dispositions/", {"name": "Call back", "kind": "callback", "position": "5",
                                       "active": "y"}, follow_redirects=True)
    assert res.status_code == 200 and "Call back" in res.get_data(as_text=True)
    row = AgentDisposition.get(AgentDisposition.tenant == tenant.id)
    assert (row.kind, row.position, row.active) == ("callback", 5, True)
    assert auth.post("/dispositions/", {"name": "X", "kind": "weird"}).status_code == 400
    auth.post(f"/dispositions/{row.id}", {"name": "Callback", "kind": "dnc", "position": "2",
                                          "active": "y"})
    row = AgentDisposition.get_by_id(row.id)
    assert (row.name, row.kind, row.position) == ("Callback", "dnc", 2)
    auth.post(f"/dispositions/{row.id}/delete")
    assert not AgentDisposition.select().exists()


def test_queue_create_with_members_and_field_errors(admin, auth, client):
    tenant, _ = admin
    alice, bob = make_agent(tenant, "alice"), make_agent(tenant, "bob")
    assert "alice" in client.get("/queues/new").get_data(as_text=True)
    bad = dict(QUEUE, ring_seconds="1", member=[str(alice.id)], **{f"penalty_{alice.id}": "3"})
    res = auth.post("/queues/new", bad)
    html = res.get_data(as_text=True)
    assert res.status_code == 400 and "From 5 to 120 seconds." in html
    assert 'value="3"' in html  # what was typed is kept
    assert not Queue.select().exists()
    data = dict(QUEUE, member=[str(alice.id), str(bob.id)],
                **{f"penalty_{alice.id}": "3", f"penalty_{bob.id}": "0"})
    res = auth.post("/queues/new", data, follow_redirects=True)
    assert res.status_code == 200
    q = Queue.get(Queue.tenant == tenant.id)
    assert (q.ring_seconds, q.wrapup_seconds, q.announce_position, q.announce_wait) == (
        20, 15, True, False)
    assert sorted((m.user_id, m.penalty) for m in QueueMember.select()) == [
        (alice.id, 3), (bob.id, 0)]
    listing = client.get("/queues/").get_data(as_text=True)
    assert "Sales" in listing and "600" in listing
    assert '<td class="sl-target">20 s</td>' in listing
    # the service-level target: checked (1-600), saved, shown per queue in the list
    res = auth.post(f"/queues/{q.id}", dict(QUEUE, service_level_seconds="0"))
    assert res.status_code == 400 and "From 1 to 600 seconds." in res.get_data(as_text=True)
    assert 'name="service_level_seconds"' in client.get(f"/queues/{q.id}").get_data(as_text=True)
    auth.post(f"/queues/{q.id}", dict(QUEUE, service_level_seconds="45", member=[str(alice.id)],
                                      **{f"penalty_{alice.id}": "3"}))
    assert Queue.get_by_id(q.id).service_level_seconds == 45
    support = Queue.create(tenant=tenant, name="Support", service_level_seconds=10)
    listing = client.get("/queues/").get_data(as_text=True)
    assert '<td class="sl-target">45 s</td>' in listing and '<td class="sl-target">10 s</td>' in listing
    support.delete_instance()
    # edit: bob leaves, alice's penalty changes
    auth.post(f"/queues/{q.id}", dict(QUEUE, member=[str(alice.id)], **{f"penalty_{alice.id}": "1"}))
    assert [(m.user_id, m.penalty) for m in QueueMember.select()] == [(alice.id, 1)]
    auth.post(f"/queues/{q.id}/delete")
    assert not Queue.select().exists()


def test_another_tenants_rows_are_not_found_and_their_agents_refused(admin, auth):
    tenant, _ = admin
    other = Tenant.create(name="Other", slug="other")
    stranger = make_agent(other, "stranger")
    theirs_q = Queue.create(tenant=other, name="Theirs")
    theirs_r = PauseReason.create(tenant=other, name="Theirs")
    theirs_d = AgentDisposition.create(tenant=other, name="Theirs")
    assert auth.client.get(f"/queues/{theirs_q.id}").status_code == 404
    assert auth.post(f"/queues/{theirs_q.id}/delete").status_code == 404
    assert auth.post(f"/pause-reasons/{theirs_r.id}", {"name": "Mine"}).status_code == 404
    assert auth.post(f"/dispositions/{theirs_d.id}/delete").status_code == 404
    res = auth.post("/queues/new", dict(QUEUE, member=[str(stranger.id)]))
    assert res.status_code == 400 and "Members must be your agents." in res.get_data(as_text=True)
    res = auth.post("/queues/new", dict(QUEUE, fallback="queue", fallback_queue_id=str(theirs_q.id)))
    assert res.status_code == 400 and "Choose one of your queues." in res.get_data(as_text=True)
    assert Queue.get_by_id(theirs_q.id).name == "Theirs"
    assert PauseReason.get_by_id(theirs_r.id).name == "Theirs"


def test_agents_now_and_forced_logout(admin, auth, client):
    tenant, _ = admin
    alice = make_agent(tenant, "alice")
    s = sessions.login(tenant.id, alice.id)
    html = client.get("/agents/").get_data(as_text=True)
    assert 'data-user="alice"' in html and "Ready" in html
    auth.post(f"/agents/{s.id}/logout")
    assert AgentSession.get_by_id(s.id).end_reason == "supervisor"
    assert "No agent is logged in." in client.get("/agents/").get_data(as_text=True)


def test_without_the_agents_feature_the_pages_are_refused_and_hidden(admin, client):
    tenant, _ = admin
    assert 'href="/queues/"' in client.get("/dashboard/").get_data(as_text=True)
    Tenant.update(features="voice_message").where(Tenant.id == tenant.id).execute()
    for url in ("/queues/", "/pause-reasons/", "/dispositions/", "/agents/"):
        assert client.get(url).status_code == 403
    assert 'href="/queues/"' not in client.get("/dashboard/").get_data(as_text=True)


@pytest.mark.parametrize("role, status", [("supervisor", 200), ("user", 403), ("agent", 403)])
def test_who_may_manage(app, make_tenant, auth, client, role, status):
    _tenant, user = make_tenant("acme", role=role)
    auth.login(user.username, f"pw-{user.username}")
    assert client.get("/queues/").status_code == status
    assert client.get("/pause-reasons/").status_code == status


def test_agent_statistics_for_days_in_the_tenants_time_zone(admin, auth, client):
    import datetime as dt
    from voxcast.agents import states
    tenant, _ = admin
    Tenant.update(timezone="Europe/Berlin").where(Tenant.id == tenant.id).execute()
    alice = make_agent(tenant, "alice")
    # 23:30 UTC on 4 Jan is 00:30 on 5 Jan in Berlin
    start = dt.datetime(2026, 1, 4, 23, 30)
    s = sessions.login(tenant.id, alice.id, now=start)
    states.offer_started(s.id, None, now=start + dt.timedelta(minutes=1))
    states.offer_answered(s.id, None, now=start + dt.timedelta(minutes=1, seconds=3))
    states.call_ended(s.id, 0, now=start + dt.timedelta(minutes=11, seconds=3))
    sessions.logout(s.id, now=start + dt.timedelta(minutes=30))
    html = client.get("/agents/stats?from=2026-01-05&to=2026-01-05").get_data(as_text=True)
    row = html[html.index('data-user="alice"'):]
    row = row[:row.index("</tr>")]
    assert "<td>0:30</td>" in row and "<td>0:10</td>" in row and "3.0" in row
    html = client.get("/agents/stats?from=2026-01-04&to=2026-01-04").get_data(as_text=True)
    assert 'data-user="alice"' not in html
    assert client.get("/agents/stats?from=garbage").status_code == 200
    assert client.get("/agents/stats?from=0001-01-01&to=9999-12-31").status_code == 200
    res = client.get("/agents/stats.csv?from=2026-01-05&to=2026-01-05")
    assert res.mimetype == "text/csv" and "agents-2026-01-05-2026-01-05.csv" in res.headers[
        "Content-Disposition"]
    lines = res.get_data(as_text=True).splitlines()
    assert lines[0].startswith("username,name,sessions,login_s")
    assert lines[1].startswith("alice,,1,1800,")  # 30 minutes logged in


def test_the_tenant_sets_how_many_misses_pause_an_agent(admin, auth, client):
    tenant, _ = admin
    assert 'name="agent_max_missed" min="0" max="20" value="3"' in client.get(
        "/pause-reasons/").get_data(as_text=True)
    auth.post("/pause-reasons/missed", {"agent_max_missed": "5"})
    assert Tenant.get_by_id(tenant.id).agent_max_missed == 5
    res = auth.post("/pause-reasons/missed", {"agent_max_missed": "99"}, follow_redirects=True)
    assert "From 0 (never) to 20 calls." in res.get_data(as_text=True)
    auth.post("/pause-reasons/missed", {"agent_max_missed": "0"})
    assert Tenant.get_by_id(tenant.id).agent_max_missed == 0


def test_queue_list_shows_live_figures(admin, client):
    from models.entities import QueueCall
    tenant, _ = admin
    alice = make_agent(tenant, "alice")
    q = Queue.create(tenant=tenant, name="Support")
    QueueMember.create(tenant=tenant, queue=q, user=alice)
    sessions.login(tenant.id, alice.id)
    QueueCall.create(tenant=tenant, queue=q)
    QueueCall.create(tenant=tenant, queue=q, outcome="answered", wait_seconds=8,
                     answered_at=QueueCall.entered_at.default(), ended_at=QueueCall.entered_at.default())
    html = client.get("/queues/").get_data(as_text=True)
    row = html[html.index('data-queue="Support"'):]
    row = row[:row.index("</tr>")]
    for cls, value in (("ready", "1"), ("waiting", "1"), ("answered", "1"), ("sl", "100 %")):
        assert f'<td class="{cls}">{value}</td>' in row, cls


def test_the_live_signature_moves_with_states_and_queue_calls(admin, client):
    from models.entities import QueueCall
    from voxcast.agents import states
    tenant, _ = admin
    alice = make_agent(tenant, "alice")
    first = client.get("/agents/live.json").json["signature"]
    s = sessions.login(tenant.id, alice.id)
    second = client.get("/agents/live.json").json["signature"]
    states.set_state(s.id, "paused")
    third = client.get("/agents/live.json").json["signature"]
    QueueCall.create(tenant=tenant)
    fourth = client.get("/agents/live.json").json["signature"]
    assert len({first, second, third, fourth}) == 4
    other = Tenant.create(name="Other", slug="other")
    QueueCall.create(tenant=other)
    assert client.get("/agents/live.json").json["signature"] == fourth


def test_a_supervisor_pauses_and_readies_an_agent_but_not_during_a_call(admin, auth, client):
    from voxcast.agents import states
    tenant, _ = admin
    alice = make_agent(tenant, "alice")
    lunch = PauseReason.create(tenant=tenant, name="Lunch")
    foreign = PauseReason.create(tenant=Tenant.create(name="Other", slug="other"), name="X")
    s = sessions.login(tenant.id, alice.id)
    auth.post(f"/agents/{s.id}/state", {"state": "paused", "pause_reason_id": str(lunch.id)})
    row = AgentSession.get_by_id(s.id)
    assert (row.state, row.pause_reason_id) == ("paused", lunch.id)
    res = auth.post(f"/agents/{s.id}/state", {"state": "paused",
                                              "pause_reason_id": str(foreign.id)},
                    follow_redirects=True)
    assert "Choose one of your pause reasons." in res.get_data(as_text=True)
    assert AgentSession.get_by_id(s.id).pause_reason_id == lunch.id
    auth.post(f"/agents/{s.id}/state", {"state": "ready"})
    assert AgentSession.get_by_id(s.id).state == "ready"
    states.offer_started(s.id, None)
    states.offer_answered(s.id, None)
    res = auth.post(f"/agents/{s.id}/state", {"state": "paused"}, follow_redirects=True)
    assert "cannot be changed now" in res.get_data(as_text=True)
    assert AgentSession.get_by_id(s.id).state == "on_call"
    assert auth.post(f"/agents/{s.id}/state", {"state": "wrapup"}).status_code == 302
    assert AgentSession.get_by_id(s.id).state == "on_call"


def test_supervisor_sees_the_call_an_agent_is_on_and_who_waits(admin, client):
    import datetime as dt
    from models import Call
    from models.entities import QueueCall, utcnow
    from voxcast.agents import states
    tenant, _ = admin
    alice = make_agent(tenant, "alice")
    s = sessions.login(tenant.id, alice.id)
    call = Call.create(tenant=tenant, direction="inbound", number="+4930777000", channel_id="c-1")
    states.offer_started(s.id, call.id)
    states.offer_answered(s.id, call.id)
    assert '<span class="call">+4930777000</span>' in client.get("/agents/").get_data(as_text=True)
    q = Queue.create(tenant=tenant, name="Support")
    QueueCall.create(tenant=tenant, queue=q, caller="+4930111", entered_at=utcnow() - dt.timedelta(seconds=90))
    QueueCall.create(tenant=tenant, queue=q, caller="+4930222")
    QueueCall.create(tenant=tenant, queue=q, caller="+4930333", outcome="answered",
                     answered_at=utcnow(), ended_at=utcnow())
    html = client.get(f"/queues/{q.id}").get_data(as_text=True)
    table = html[html.index('id="queue-waiting"'):html.index("</table>", html.index('id="queue-waiting"'))]
    assert table.index("+4930111") < table.index("+4930222") and "+4930333" not in table
