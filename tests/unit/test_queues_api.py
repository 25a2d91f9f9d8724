"""/api/v1/queues and /api/v1/agents through the Flask test client: CRUD with members, the
service's field errors, another tenant's ids answered 404, the agents feature, live states,
stats and the supervisor's log-out."""
from __future__ import annotations

from models import Tenant
from models.entities import AgentSession, Queue, QueueMember
from voxcast.agents import sessions, states

from .agents_support import make_agent
from .api_support import Api, admin_api, tenant_key  # noqa: F401


def test_queue_crud_with_members(client, tenant_key):
    tenant, secret = tenant_key("acme")
    api = Api(client, secret)
    alice, bob = make_agent(tenant, "alice"), make_agent(tenant, "bob")
    r = api.post("/api/v1/queues", json={"name": "Sales", "number": "600", "ring_seconds": 20,
                                         "members": [{"user_id": alice.id, "penalty": 2},
                                                     {"user_id": bob.id}]})
    assert r.status_code == 201, r.json
    q = r.json
    assert q["tenant_id"] == tenant.id and q["ring_seconds"] == 20 and q["strategy"] == "longest_idle"
    assert q["members"] == [{"user_id": bob.id, "penalty": 0}, {"user_id": alice.id, "penalty": 2}]
    r = api.patch(f"/api/v1/queues/{q['id']}", json={"strategy": "ring_all"})
    assert r.status_code == 200 and r.json["strategy"] == "ring_all" and len(r.json["members"]) == 2
    r = api.patch(f"/api/v1/queues/{q['id']}", json={"members": []})
    assert r.json["members"] == [] and not QueueMember.select().exists()
    assert api.get("/api/v1/queues").json["total"] == 1
    assert api.get(f"/api/v1/queues/{q['id']}").json["name"] == "Sales"
    assert api.delete(f"/api/v1/queues/{q['id']}").status_code == 204
    assert api.get(f"/api/v1/queues/{q['id']}").status_code == 404


def test_queue_errors_name_the_field(client, tenant_key):
    tenant, secret = tenant_key("acme")
    api = Api(client, secret)
    r = api.post("/api/v1/queues", json={"name": "Q", "ring_seconds": 1, "colour": "red"})
    assert r.status_code == 422 and {"ring_seconds", "colour"} <= set(r.json["error"]["fields"])
    r = api.post("/api/v1/queues", json={"name": "Q", "fallback": "queue"})
    assert r.status_code == 422 and "fallback_queue_id" in r.json["error"]["fields"]
    a = api.post("/api/v1/queues", json={"name": "A"}).json
    api.post("/api/v1/queues", json={"name": "B", "fallback": "queue", "fallback_queue_id": a["id"]})
    r = api.delete(f"/api/v1/queues/{a['id']}")
    assert r.status_code == 409 and "queue 'B'" in r.json["error"]["message"]


def test_another_tenants_queue_and_agents_are_not_found(client, tenant_key):
    acme, acme_secret = tenant_key("acme")
    other, other_secret = tenant_key("other")
    theirs = Queue.create(tenant=other, name="Theirs-secret")
    stranger = make_agent(other, "stranger")
    s = sessions.login(other.id, stranger.id)
    api = Api(client, acme_secret)
    assert api.get(f"/api/v1/queues/{theirs.id}").status_code == 404
    assert api.patch(f"/api/v1/queues/{theirs.id}", json={"name": "Mine"}).status_code == 404
    assert api.delete(f"/api/v1/queues/{theirs.id}").status_code == 404
    assert "Theirs-secret" not in api.get("/api/v1/queues").get_data(as_text=True)
    r = api.post("/api/v1/queues", json={"name": "Q", "members": [{"user_id": stranger.id}]})
    assert r.status_code == 422 and "members" in r.json["error"]["fields"]
    r = api.post("/api/v1/queues", json={"name": "Q", "tenant_id": other.id})
    assert r.status_code == 422
    assert api.get("/api/v1/agents").json["items"] == []
    assert api.post(f"/api/v1/agents/{s.id}/logout").status_code == 404
    assert AgentSession.get_by_id(s.id).ended_at is None
    assert Queue.get_by_id(theirs.id).name == "Theirs-secret"


def test_agents_live_stats_and_logout(client, tenant_key):
    tenant, secret = tenant_key("acme")
    api = Api(client, secret)
    alice = make_agent(tenant, "alice")
    s = sessions.login(tenant.id, alice.id)
    states.set_state(s.id, "paused")
    items = api.get("/api/v1/agents").json["items"]
    assert [(i["username"], i["state"], i["version"]) for i in items] == [("alice", "paused", 1)]
    r = api.get("/api/v1/agents/stats?since=2020-01-01T00:00:00Z")
    assert r.status_code == 200
    assert [i["user_id"] for i in r.json["items"]] == [alice.id]
    assert set(r.json["items"][0]["seconds"]) >= {"ready", "paused", "login"}
    assert api.get("/api/v1/agents/stats?since=yesterday").status_code == 400
    assert api.get("/api/v1/agents/stats?since=0001-01-01T00:00:00%2B14:00").status_code == 400
    assert api.get("/api/v1/queues/stats?since=9999-12-31T23:59:59").status_code == 400
    r = api.post(f"/api/v1/agents/{s.id}/logout")
    assert r.status_code == 200 and r.json["state"] == "logged_out"
    assert api.post(f"/api/v1/agents/{s.id}/logout").status_code == 409


def test_the_agents_feature_and_the_provider_key(client, tenant_key, admin_api):
    tenant, secret = tenant_key("acme")
    Tenant.update(features="api voice_message").where(Tenant.id == tenant.id).execute()
    api = Api(client, secret)
    assert api.get("/api/v1/queues").status_code == 403
    assert api.get("/api/v1/agents").status_code == 403
    r = admin_api.post("/api/v1/queues", json={"name": "Provided", "tenant_id": tenant.id})
    assert r.status_code == 201 and r.json["tenant_id"] == tenant.id
    assert admin_api.get("/api/v1/agents").status_code == 400  # which tenant?
    assert admin_api.get(f"/api/v1/agents?tenant_id={tenant.id}").json["items"] == []


def test_pause_reasons_and_dispositions_api(client, tenant_key):
    tenant, secret = tenant_key("acme")
    other, _ = tenant_key("other")
    api = Api(client, secret)
    r = api.post("/api/v1/pause-reasons", json={"name": "Lunch"})
    assert r.status_code == 201 and r.json == {"id": r.json["id"], "tenant_id": tenant.id,
                                               "name": "Lunch", "system": False, "active": True}
    rid = r.json["id"]
    r = api.post("/api/v1/pause-reasons", json={"name": "lunch"})
    assert r.status_code == 422 and "name" in r.json["error"]["fields"]
    assert api.patch(f"/api/v1/pause-reasons/{rid}", json={"active": False}).json["active"] is False
    assert api.get("/api/v1/pause-reasons").json["total"] == 1
    system = states.system_reason(tenant.id)
    assert api.delete(f"/api/v1/pause-reasons/{system.id}").status_code == 409
    assert api.delete(f"/api/v1/pause-reasons/{rid}").status_code == 204
    r = api.post("/api/v1/dispositions", json={"name": "Call back", "kind": "callback",
                                               "position": 3})
    assert r.status_code == 201 and r.json["kind"] == "callback"
    did = r.json["id"]
    assert api.post("/api/v1/dispositions", json={"name": "X", "kind": "maybe"}).status_code == 422
    assert api.patch(f"/api/v1/dispositions/{did}", json={"position": 1}).json["position"] == 1
    from models.entities import AgentDisposition, PauseReason
    theirs_d = AgentDisposition.create(tenant=other, name="Theirs")
    theirs_r = PauseReason.create(tenant=other, name="Theirs")
    assert api.get(f"/api/v1/dispositions/{theirs_d.id}").status_code == 404
    assert api.delete(f"/api/v1/dispositions/{theirs_d.id}").status_code == 404
    assert api.patch(f"/api/v1/pause-reasons/{theirs_r.id}", json={"name": "M"}).status_code == 404
    assert api.delete(f"/api/v1/dispositions/{did}").status_code == 204
    assert AgentDisposition.get_by_id(theirs_d.id).name == "Theirs"


def test_queue_stats_api_and_list_page(client, tenant_key):
    tenant, secret = tenant_key("acme")
    api = Api(client, secret)
    q = api.post("/api/v1/queues", json={"name": "Sales"}).json
    from models.entities import QueueCall
    QueueCall.create(tenant=tenant, queue=q["id"])
    r = api.get("/api/v1/queues/stats")
    assert r.status_code == 200
    assert [(i["queue_id"], i["waiting"]) for i in r.json["items"]] == [(q["id"], 1)]


def test_agent_state_api(client, tenant_key):
    from models.entities import PauseReason
    tenant, secret = tenant_key("acme")
    other, _ = tenant_key("other")
    api = Api(client, secret)
    alice = make_agent(tenant, "alice")
    lunch = PauseReason.create(tenant=tenant, name="Lunch")
    theirs = PauseReason.create(tenant=other, name="Theirs")
    s = sessions.login(tenant.id, alice.id)
    r = api.post(f"/api/v1/agents/{s.id}/state", json={"state": "paused",
                                                       "pause_reason_id": lunch.id})
    assert r.status_code == 200 and (r.json["state"], r.json["pause_reason"]) == ("paused", "Lunch")
    r = api.post(f"/api/v1/agents/{s.id}/state", json={"state": "paused",
                                                       "pause_reason_id": theirs.id})
    assert r.status_code == 422 and "pause_reason_id" in r.json["error"]["fields"]
    assert api.post(f"/api/v1/agents/{s.id}/state", json={"state": "on_call"}).status_code == 422
    assert api.post(f"/api/v1/agents/{s.id}/state", json={"state": "ready"}).json["state"] == "ready"
    states.offer_started(s.id, None)
    states.offer_answered(s.id, None)
    assert api.post(f"/api/v1/agents/{s.id}/state", json={"state": "paused"}).status_code == 409
    stranger = make_agent(other, "stranger")
    s2 = sessions.login(other.id, stranger.id)
    assert api.post(f"/api/v1/agents/{s2.id}/state", json={"state": "paused"}).status_code == 404
    assert AgentSession.get_by_id(s2.id).state == "ready"


def test_queue_service_level_target_set_checked_and_used_per_queue(client, tenant_key):
    """service_level_seconds through the API (default 20, 1-600) and the live figures of two
    queues with the same waits measured against their own targets (10 s, 30 s)."""
    from models.entities import QueueCall, utcnow
    tenant, secret = tenant_key("acme")
    api = Api(client, secret)
    fast = api.post("/api/v1/queues", json={"name": "Fast", "service_level_seconds": 10}).json
    slow = api.post("/api/v1/queues", json={"name": "Slow"}).json
    assert (fast["service_level_seconds"], slow["service_level_seconds"]) == (10, 20)
    r = api.patch(f"/api/v1/queues/{slow['id']}", json={"service_level_seconds": 30})
    assert r.status_code == 200 and r.json["service_level_seconds"] == 30
    assert Queue.get_by_id(slow["id"]).service_level_seconds == 30
    for bad in (0, 601, "20"):
        r = api.patch(f"/api/v1/queues/{slow['id']}", json={"service_level_seconds": bad})
        assert r.status_code == 422 and "service_level_seconds" in r.json["error"]["fields"]
    assert Queue.get_by_id(slow["id"]).service_level_seconds == 30
    for qid in (fast["id"], slow["id"]):
        for wait in (5, 15, 25, 45):
            QueueCall.create(tenant=tenant, queue=qid, outcome="answered", wait_seconds=wait,
                             entered_at=utcnow(), answered_at=utcnow(), ended_at=utcnow())
    r = api.get("/api/v1/queues/stats")
    got = {i["queue_id"]: (i["service_seconds"], i["answered"], i["service_level"])
           for i in r.json["items"]}
    assert got == {fast["id"]: (10, 4, 25.0), slow["id"]: (30, 4, 75.0)}
