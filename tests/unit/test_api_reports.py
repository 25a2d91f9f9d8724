"""/api/v1/reports/* and /api/v1/saved-reports: the statistics in the tenant's (or the asked)
time zone, the builder run with reasons for a bad definition, saved reports CRUD and run,
another tenant's saved report 404, bad ranges and zones 400."""
from __future__ import annotations

import datetime as dt

import pytest

from models import Call, Tenant
from models.entities import AgentSession, AgentStateLog, Campaign, Queue, QueueCall
from tests.unit.agents_support import make_agent
from tests.unit.api_support import Api, admin_api, tenant_key  # noqa: F401  (fixtures)


@pytest.fixture
def acme(client, tenant_key):
    tenant, secret = tenant_key("acme")
    Tenant.update(timezone="America/New_York").where(Tenant.id == tenant.id).execute()
    return tenant, Api(client, secret)


def test_statistics_in_the_tenants_zone_or_the_one_asked_for(acme):
    tenant, api = acme
    alice = make_agent(tenant, "alice")
    s = AgentSession.create(tenant=tenant, user=alice)
    AgentStateLog.create(tenant=tenant, session=s, user=alice, state="ready",
                         started_at=dt.datetime(2026, 11, 30, 4),
                         ended_at=dt.datetime(2026, 11, 30, 6))
    res = api.get("/api/v1/reports/agents?start=2026-11-30&end=2026-11-30")
    assert res.status_code == 200
    data = res.get_json()
    assert data["zone"] == "America/New_York" and data["items"][0]["ready"] == 3600
    utc = api.get("/api/v1/reports/agents?start=2026-11-30&end=2026-11-30&zone=UTC").get_json()
    assert utc["items"][0]["ready"] == 7200
    spring = Campaign.create(tenant=tenant, name="Spring")
    Call.create(tenant=tenant, channel_id="c1", number="+12025550101", campaign=spring,
                disposition="ANSWERED", started_at=dt.datetime(2026, 11, 30, 12), agent=alice,
                agent_disposition="Sale")
    camp = api.get("/api/v1/reports/campaigns?start=2026-11-30&end=2026-11-30").get_json()
    assert camp["items"][0]["answered"] == 1 and camp["items"][0]["cost"] == "0.0000"
    disp = api.get("/api/v1/reports/dispositions?start=2026-11-30&end=2026-11-30").get_json()
    assert disp["items"][0]["counts"] == {"Sale": 1}
    q = Queue.create(tenant=tenant, name="Sales")
    QueueCall.create(tenant=tenant, queue=q, outcome="abandoned", wait_seconds=12,
                     entered_at=dt.datetime(2026, 11, 30, 12))
    queues = api.get("/api/v1/reports/queues?start=2026-11-30&end=2026-11-30&target=30")
    row = queues.get_json()["items"][0]
    assert row["abandoned_after"]["10_30"] == 1 and queues.get_json()["target"] == 30
    assert row["target"] == 30


def test_queue_statistics_each_queue_against_its_own_target_or_the_one_asked(acme):
    tenant, api = acme
    for name, seconds in (("Fast", 10), ("Slow", 30)):
        q = Queue.create(tenant=tenant, name=name, service_level_seconds=seconds)
        for wait in (5, 15, 25, 45):
            QueueCall.create(tenant=tenant, queue=q, outcome="answered", wait_seconds=wait,
                             entered_at=dt.datetime(2026, 11, 30, 12))
    data = api.get("/api/v1/reports/queues?start=2026-11-30&end=2026-11-30").get_json()
    assert data["target"] is None
    assert [(r["name"], r["target"], r["answered_in_target"], r["service_level"])
            for r in data["items"]] == [("Fast", 10, 1, 25.0), ("Slow", 30, 3, 75.0)]
    data = api.get("/api/v1/reports/queues?start=2026-11-30&end=2026-11-30&target=20").get_json()
    assert data["target"] == 20
    assert [(r["target"], r["service_level"]) for r in data["items"]] == [(20, 50.0), (20, 50.0)]
    res = api.get("/api/v1/reports/queues?target=601")
    assert res.status_code == 200  # the report's override allows up to an hour
    res = api.get("/api/v1/reports/queues?target=0")
    assert res.status_code == 400 and "target" in res.get_json()["error"]["fields"]


@pytest.mark.parametrize("query,field", [("start=2026-12-01&end=2026-11-01", "start"),
                                         ("start=yesterday", "start"),
                                         ("zone=Mars/Olympus", "zone")])
def test_a_bad_range_or_zone_says_why(acme, query, field):
    _tenant, api = acme
    res = api.get(f"/api/v1/reports/agents?{query}")
    assert res.status_code == 400 and field in res.get_json()["error"]["fields"]


def test_builder_runs_a_definition_and_explains_a_bad_one(acme):
    tenant, api = acme
    for hour in (12, 13):
        Call.create(tenant=tenant, channel_id=f"b{hour}", number="+12025550101",
                    disposition="ANSWERED", billsec=hour, started_at=dt.datetime(2026, 11, 30, hour))
    res = api.post("/api/v1/reports/builder", json={
        "definition": {"source": "calls", "fields": ["day", "count", "sum:billsec"],
                       "group_by": ["day"]}, "start": "2026-11-30", "end": "2026-11-30"})
    assert res.status_code == 200
    data = res.get_json()
    assert data["rows"] == [["2026-11-30", 2, 25]] and data["zone"] == "America/New_York"
    assert [c["key"] for c in data["columns"]] == ["day", "count", "sum:billsec"]
    bad = api.post("/api/v1/reports/builder", json={
        "definition": {"source": "calls", "fields": ["password_hash"]}})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"]["fields[0]"].startswith("unknown field")
    assert api.post("/api/v1/reports/builder", json={
        "definition": {"source": "calls", "fields": ["count"], "where": "1=1"}}).status_code == 422


def test_saved_reports_crud_run_and_isolation(acme, tenant_key, client):
    tenant, api = acme
    Call.create(tenant=tenant, channel_id="s1", number="+12025550101", disposition="BUSY",
                started_at=dt.datetime(2026, 11, 30, 12))
    definition = {"source": "calls", "fields": ["disposition", "count"],
                  "group_by": ["disposition"]}
    res = api.post("/api/v1/saved-reports", json={"name": "By disposition",
                                                   "definition": definition})
    assert res.status_code == 201
    rid = res.get_json()["id"]
    assert res.get_json()["definition"]["group_by"] == ["disposition"]
    assert api.post("/api/v1/saved-reports", json={"name": "By disposition",
                                                   "definition": definition}).status_code == 409
    assert [r["name"] for r in api.get("/api/v1/saved-reports").get_json()["items"]] == [
        "By disposition"]
    ran = api.get(f"/api/v1/saved-reports/{rid}/run?start=2026-11-30&end=2026-11-30").get_json()
    assert ran["rows"] == [["BUSY", 1]] and ran["report_id"] == rid
    renamed = api.patch(f"/api/v1/saved-reports/{rid}", json={"name": "Dispositions"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Dispositions"
    assert api.patch(f"/api/v1/saved-reports/{rid}", json={
        "definition": {"source": "calls", "fields": ["nope"]}}).status_code == 422
    _other, secret = tenant_key("other")
    them = Api(client, secret)
    for call in (lambda: them.get(f"/api/v1/saved-reports/{rid}"),
                 lambda: them.get(f"/api/v1/saved-reports/{rid}/run"),
                 lambda: them.patch(f"/api/v1/saved-reports/{rid}", json={"name": "x"}),
                 lambda: them.delete(f"/api/v1/saved-reports/{rid}")):
        assert call().status_code == 404
    assert them.get("/api/v1/saved-reports").get_json()["items"] == []
    assert api.delete(f"/api/v1/saved-reports/{rid}").status_code == 204
    assert api.get(f"/api/v1/saved-reports/{rid}").status_code == 404


def test_the_provider_key_names_a_tenant(acme, admin_api):
    tenant, _api = acme
    assert admin_api.get("/api/v1/reports/campaigns").status_code == 400
    assert admin_api.get(f"/api/v1/reports/campaigns?tenant_id={tenant.id}").status_code == 200
