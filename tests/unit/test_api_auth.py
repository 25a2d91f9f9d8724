"""API keys: hashed storage, Bearer and X-API-Key, revocation, suspension, no session auth,
no CSRF, JSON errors, and the key pages of the UI."""
from __future__ import annotations

import hashlib

from models import ApiKey, Tenant, TenantLog
from voxcast.accounts import api_keys

from .api_support import Api, admin_api, master_api, tenant_key  # noqa: F401


def test_only_a_hash_and_a_prefix_are_stored(app, master_api):
    key = ApiKey.get(ApiKey.name == "master")
    assert master_api.secret.startswith(key.prefix)
    assert key.key_hash == hashlib.sha256(master_api.secret.encode()).hexdigest()
    assert master_api.secret not in {key.key_hash, key.prefix}


def test_bearer_and_x_api_key_both_authenticate(client, master_api):
    assert master_api.get("/api/v1/users").status_code == 200
    r = client.get("/api/v1/users", headers={"X-API-Key": master_api.secret})
    assert r.status_code == 200


def test_missing_and_bad_keys_are_401_json(client, master_api):
    for headers in ({}, {"Authorization": "Bearer vx_nonsense-nonsense-nonsense"},
                    {"Authorization": "Bearer " + master_api.secret[:-1] + "x"},
                    {"X-API-Key": "garbage"}):
        r = client.get("/api/v1/users", headers=headers)
        assert r.status_code == 401
        assert r.json["error"]["code"] == "invalid-api-key"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_session_alone_does_not_authenticate(client, auth):
    assert auth.login().status_code == 302
    assert client.get("/campaigns/").status_code == 200  # the session works for the UI
    r = client.get("/api/v1/users")
    assert r.status_code == 401
    r = client.post("/api/v1/groups", json={"name": "via cookie"})
    assert r.status_code == 401


def test_api_needs_no_csrf_token(master_api):
    r = master_api.post("/api/v1/groups", json={"name": "No CSRF"})
    assert r.status_code == 201, r.json


def test_revoked_key_is_refused(master_api):
    key = ApiKey.get(ApiKey.name == "master")
    api_keys.revoke(key.id, tenant_id=key.tenant_id, user=None)
    assert master_api.get("/api/v1/users").status_code == 401


def test_suspended_tenant_and_disabled_feature_are_403(master_api):
    tenant = Tenant.get(Tenant.slug == "master")
    tenant.features = "voice_message"
    tenant.save()
    r = master_api.get("/api/v1/users")
    assert r.status_code == 403 and r.json["error"]["code"] == "feature-disabled"
    Tenant.update(status="suspended", features="api").execute()
    r = master_api.get("/api/v1/users")
    assert r.status_code == 403 and r.json["error"]["code"] == "tenant-suspended"


def test_tenant_key_on_provider_resources_is_403(master_api):
    for method, url in (("get", "/api/v1/tenants"), ("post", "/api/v1/extensions"),
                        ("post", "/api/v1/dids"), ("post", "/api/v1/tenants/1/suspend")):
        r = getattr(master_api, method)(url, json={})
        assert r.status_code == 403, (url, r.status_code)
        assert r.json["error"]["code"] == "admin-only"


def test_unknown_url_and_method_are_json(master_api):
    r = master_api.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json["error"]["code"] == "not-found"
    r = master_api.client.put("/api/v1/users", headers=master_api._headers(None))
    assert r.status_code == 405 and r.json["error"]["code"] == "method-not-allowed"


def test_malformed_json_is_400(master_api):
    r = master_api.client.post("/api/v1/groups", data="{not json",
                               headers=master_api._headers({"Content-Type": "application/json"}))
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid-json"


def test_openapi_and_docs_need_no_key(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.0")
    assert "/groups/{id}/contacts" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/openapi.json" in page


def test_tenant_admin_creates_sees_once_and_revokes_a_key(client, auth):
    auth.login()
    r = auth.post("/api-keys", {"name": "CRM sync"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    key = ApiKey.get(ApiKey.name == "CRM sync")
    secret = html.split('id="new-api-key">', 1)[1].split("<", 1)[0]
    assert secret.startswith(key.prefix) and key.tenant_id == Tenant.get(Tenant.slug == "master").id
    assert TenantLog.select().where(TenantLog.action == "api_key.create").exists()
    assert secret not in client.get("/api-keys").get_data(as_text=True)  # shown once
    api = Api(client, secret)
    assert api.get("/api/v1/groups").status_code == 200
    r = auth.post(f"/api-keys/{key.id}/revoke")
    assert r.status_code == 302
    assert api.get("/api/v1/groups").status_code == 401


def test_provider_keys_page_is_admin_only(client, auth):
    auth.login()
    assert client.get("/admin/api-keys").status_code == 403
    auth.logout()
    auth.login("admin", "admin-secret-1")
    r = auth.post("/admin/api-keys", {"name": "billing"})
    assert r.status_code == 200
    key = ApiKey.get(ApiKey.name == "billing")
    assert key.tenant_id is None
    # a tenant's key id is not found through the provider's page, and vice versa
    assert auth.post("/admin/api-keys/999/revoke").status_code == 404
