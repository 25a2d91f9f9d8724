"""/api/v1/smsc-connections: provider key only, validation, the password never shown."""
from __future__ import annotations

import json

from models.entities import SmscConnection, SystemStatus
from tests.unit.api_support import Api, admin_api, master_api, tenant_key  # noqa: F401

NEW = {"name": "Carrier B", "host": "127.0.0.1", "port": 2775, "system_id": "acme",
       "password": "pw", "throughput": 25, "is_default": True}


def test_provider_creates_reads_and_changes_an_smsc_connection(admin_api):
    r = admin_api.post("/api/v1/smsc-connections", json=NEW)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["throughput"] == 25 and "password" not in body
    assert body["bind"]["state"] == "unknown"
    SystemStatus.create(key=f"smsc:{body['id']}", value=json.dumps(
        {"state": "bound", "error": "", "since": "2026-12-02T13:00:00"}))
    one = admin_api.get(f"/api/v1/smsc-connections/{body['id']}").get_json()
    assert one["bind"]["state"] == "bound"
    r = admin_api.patch(f"/api/v1/smsc-connections/{body['id']}", json={"enabled": False})
    assert r.status_code == 200 and r.get_json()["enabled"] is False
    assert SmscConnection.get_by_id(body["id"]).password == "pw"
    listed = admin_api.get("/api/v1/smsc-connections").get_json()
    assert [i["name"] for i in listed["items"]] == ["Carrier B"]


def test_smsc_api_refuses_bad_bodies_and_duplicates(admin_api):
    assert admin_api.post("/api/v1/smsc-connections",
                          json={**NEW, "password": "123456789"}).status_code == 422
    assert admin_api.post("/api/v1/smsc-connections", json={"name": "x"}).status_code == 422
    assert admin_api.post("/api/v1/smsc-connections", json=NEW).status_code == 201
    r = admin_api.post("/api/v1/smsc-connections", json=NEW)
    assert r.status_code == 422 and "name" in r.get_json()["error"]["fields"]
    assert admin_api.get("/api/v1/smsc-connections/999").status_code == 404


def test_a_tenant_key_cannot_use_the_smsc_api(app, client, tenant_key):
    _, secret = tenant_key("acme")
    api = Api(client, secret)
    assert api.get("/api/v1/smsc-connections").status_code == 403
    assert api.post("/api/v1/smsc-connections", json=NEW).status_code == 403
    assert SmscConnection.select().count() == 0
