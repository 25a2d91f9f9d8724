"""The API's resources end to end through the Flask test client, and tenant isolation:
tenant A's key asking for tenant B's ids gets 404 and never B's data."""
from __future__ import annotations

import pytest

from models import Contact, ContactGroup, DncNumber, Extension, Did, Tenant, TenantLog, User

from .api_support import Api, admin_api, master_api, tenant_key  # noqa: F401


def test_provider_creates_updates_suspends_and_deletes_a_tenant(admin_api):
    r = admin_api.post("/api/v1/tenants", json={
        "name": "Acme", "slug": "acme", "country": "DE", "timezone": "Europe/Berlin",
        "language": "de", "channel_limit": 20, "balance": "25.50",
        "admin_username": "acme-admin", "admin_password": "secret-pass-1",
        "admin_email": "ops@acme.example"})
    assert r.status_code == 201, r.json
    tenant = r.json
    assert tenant["balance"] == "25.5000" and tenant["status"] == "active"
    assert User.get(User.username == "acme-admin").role == "tenant"
    tid = tenant["id"]
    r = admin_api.patch(f"/api/v1/tenants/{tid}", json={"channel_limit": 30})
    assert r.status_code == 200 and r.json["channel_limit"] == 30
    assert admin_api.post(f"/api/v1/tenants/{tid}/suspend").json["status"] == "suspended"
    assert admin_api.post(f"/api/v1/tenants/{tid}/enable").json["status"] == "active"
    page = admin_api.get("/api/v1/tenants?per_page=1&page=2").json
    assert page["total"] == 2 and page["per_page"] == 1 and len(page["items"]) == 1
    assert admin_api.delete(f"/api/v1/tenants/{tid}").status_code == 204
    assert admin_api.get(f"/api/v1/tenants/{tid}").status_code == 404
    assert TenantLog.select().where(TenantLog.action == "tenant.delete").exists()


def test_tenant_validation_and_conflicts(admin_api):
    r = admin_api.post("/api/v1/tenants", json={"name": "", "slug": "Bad Slug", "extra": 1})
    assert r.status_code == 422
    fields = r.json["error"]["fields"]
    assert {"name", "slug", "extra", "admin_username"} <= set(fields)
    r = admin_api.post("/api/v1/tenants", json={
        "name": "Other", "slug": "master", "admin_username": "x-admin",
        "admin_password": "secret-pass-1", "admin_email": "a@b.example"})
    assert r.status_code == 409 and "slug" in r.json["error"]["fields"]
    r = admin_api.patch("/api/v1/tenants/1", json={"timezone": "Mars/Olympus"})
    assert r.status_code == 422 and "timezone" in r.json["error"]["fields"]
    assert admin_api.delete("/api/v1/tenants/1").status_code == 409  # the master tenant stays


def test_users_crud_within_the_tenant(master_api):
    r = master_api.post("/api/v1/users", json={
        "username": "alice", "password": "alice-pass-1", "pin": "1234", "role": "supervisor",
        "first_name": "Alice", "email": "alice@example.com", "timezone": "Europe/Paris"})
    assert r.status_code == 201, r.json
    uid = r.json["id"]
    assert r.json["tenant_id"] == Tenant.get(Tenant.slug == "master").id
    assert "password" not in r.json and "pin" not in r.json
    assert User.get_by_id(uid).pin != "1234"  # hashed
    r = master_api.patch(f"/api/v1/users/{uid}", json={"role": "agent", "active": False})
    assert r.status_code == 200 and r.json["role"] == "agent" and r.json["active"] is False
    r = master_api.post("/api/v1/users", json={"username": "alice", "password": "x" * 9,
                                               "pin": "1234"})
    assert r.status_code == 409
    r = master_api.post("/api/v1/users", json={"username": "bob", "password": "short",
                                               "pin": "12", "role": "tenant"})
    assert r.status_code == 422
    assert {"password", "pin", "role"} <= set(r.json["error"]["fields"])
    assert master_api.delete(f"/api/v1/users/{uid}").status_code == 204
    assert master_api.get(f"/api/v1/users/{uid}").status_code == 404


def test_extensions_pool_allocation_and_assignment(admin_api, master_api):
    master = Tenant.get(Tenant.slug == "master")
    r = admin_api.post("/api/v1/extensions", json={"number": "2001"})
    assert r.status_code == 201 and r.json["tenant_id"] is None
    assert admin_api.post("/api/v1/extensions", json={"number": "2001"}).status_code == 409
    assert admin_api.get("/api/v1/extensions?tenant_id=0").json["total"] == 1
    r = admin_api.post("/api/v1/extensions/allocate", json={"tenant_id": master.id, "count": 1})
    assert r.status_code == 200 and r.json["items"][0]["tenant_id"] == master.id
    ext_id = r.json["items"][0]["id"]
    assert admin_api.post("/api/v1/extensions/allocate",
                          json={"tenant_id": master.id, "count": 1}).status_code == 409
    items = master_api.get("/api/v1/extensions").json["items"]
    assert [e["number"] for e in items] == ["2001"]
    user = User.get(User.username == "master")
    r = master_api.patch(f"/api/v1/extensions/{ext_id}", json={"user_id": user.id})
    assert r.status_code == 200 and r.json["user_id"] == user.id
    assert master_api.patch(f"/api/v1/extensions/{ext_id}", json={"user_id": None}).json[
        "user_id"] is None
    # a browser phone (issue 17 item 7), and back; the user stays as it was
    r = master_api.patch(f"/api/v1/extensions/{ext_id}", json={"browser_phone": True})
    assert r.status_code == 200 and r.json["browser_phone"] is True and r.json["user_id"] is None
    assert master_api.get(f"/api/v1/extensions/{ext_id}").json["browser_phone"] is True
    assert master_api.patch(f"/api/v1/extensions/{ext_id}", json={}).status_code == 422
    assert master_api.patch(f"/api/v1/extensions/{ext_id}",
                            json={"browser_phone": "yes"}).status_code == 422
    assert master_api.patch(f"/api/v1/extensions/{ext_id}",
                            json={"browser_phone": False}).json["browser_phone"] is False
    r = admin_api.post(f"/api/v1/extensions/{ext_id}/release")
    assert r.status_code == 200 and r.json["tenant_id"] is None
    assert master_api.get(f"/api/v1/extensions/{ext_id}").status_code == 404


def test_dids_create_allocate_and_route(admin_api, master_api):
    master = Tenant.get(Tenant.slug == "master")
    r = admin_api.post("/api/v1/dids", json={"number": "+15551230000"})
    assert r.status_code == 201
    did_id = r.json["id"]
    assert master_api.get(f"/api/v1/dids/{did_id}").status_code == 404  # still in the pool
    r = admin_api.post(f"/api/v1/dids/{did_id}/allocate", json={"tenant_id": master.id})
    assert r.status_code == 200 and r.json["tenant_id"] == master.id
    r = master_api.patch(f"/api/v1/dids/{did_id}", json={"greeting_text": "Hello from Master"})
    assert r.status_code == 200 and r.json["greeting_text"] == "Hello from Master"
    r = master_api.patch(f"/api/v1/dids/{did_id}", json={"campaign_id": 999})
    assert r.status_code == 422 and "campaign_id" in r.json["error"]["fields"]
    assert master_api.get("/api/v1/dids").json["total"] == 1
    r = admin_api.post(f"/api/v1/dids/{did_id}/allocate", json={"tenant_id": None})
    assert r.json["tenant_id"] is None and master_api.get("/api/v1/dids").json["total"] == 0


def test_groups_contacts_and_bulk_with_per_item_errors(master_api):
    r = master_api.post("/api/v1/groups", json={"name": "Customers"})
    assert r.status_code == 201
    gid = r.json["id"]
    assert master_api.post("/api/v1/groups", json={"name": "Customers"}).status_code == 409
    r = master_api.post(f"/api/v1/groups/{gid}/contacts",
                        json={"phone": "(415) 555-0123", "first_name": "Ann", "custom3": "VIP"})
    assert r.status_code == 201 and r.json["phone"] == "+14155550123"  # E.164 (tenant: US)
    cid = r.json["id"]
    r = master_api.post(f"/api/v1/groups/{gid}/contacts", json=[
        {"phone": "+4930901820"}, {"phone": "not a number"}, {"phone": "+14155550123"},
        {"first_name": "no phone"}, {"phone": "212-555-0199", "email": "bad"}])
    assert r.status_code == 200
    assert [c["phone"] for c in r.json["created"]] == ["+4930901820"]
    errors = {e["index"]: e for e in r.json["errors"]}
    assert set(errors) == {1, 2, 3, 4}
    assert errors[1]["code"] == "invalid-phone" and errors[2]["code"] == "duplicate-contact"
    assert "phone" in errors[3]["fields"] and "email" in errors[4]["fields"]
    assert master_api.get(f"/api/v1/groups/{gid}").json["contacts"] == 2
    page = master_api.get(f"/api/v1/groups/{gid}/contacts?per_page=1").json
    assert page["total"] == 2 and len(page["items"]) == 1
    r = master_api.patch(f"/api/v1/contacts/{cid}", json={"last_name": "Lee"})
    assert r.status_code == 200 and r.json["last_name"] == "Lee"
    assert master_api.patch(f"/api/v1/contacts/{cid}", json={"phone": "12"}).status_code == 422
    assert master_api.delete(f"/api/v1/contacts/{cid}").status_code == 204
    assert master_api.patch(f"/api/v1/groups/{gid}", json={"name": "Clients"}).json["name"] == "Clients"
    assert master_api.delete(f"/api/v1/groups/{gid}").status_code == 204
    assert not Contact.select().where(Contact.group == gid).exists()


def test_dnc_tenant_and_provider_lists(admin_api, master_api):
    r = master_api.post("/api/v1/dnc", json={"phone": "415 555 0123"})
    assert r.status_code == 201 and r.json["phone"] == "+14155550123"
    assert master_api.post("/api/v1/dnc", json={"phone": "+14155550123"}).status_code == 409
    assert master_api.post("/api/v1/dnc", json={"phone": "nope"}).status_code == 422
    r = admin_api.post("/api/v1/dnc", json={"phone": "+442079460000"})
    assert r.status_code == 201 and r.json["tenant_id"] is None
    provider_id = r.json["id"]
    assert [d["phone"] for d in admin_api.get("/api/v1/dnc").json["items"]] == ["+442079460000"]
    assert [d["phone"] for d in master_api.get("/api/v1/dnc").json["items"]] == ["+14155550123"]
    assert master_api.delete(f"/api/v1/dnc/{provider_id}").status_code == 404
    assert admin_api.delete(f"/api/v1/dnc/{provider_id}").status_code == 204
    mine = master_api.get("/api/v1/dnc").json["items"][0]["id"]
    assert master_api.delete(f"/api/v1/dnc/{mine}").status_code == 204


def test_pagination_parameters_are_checked(master_api):
    assert master_api.get("/api/v1/users?page=0").status_code == 400
    assert master_api.get("/api/v1/users?per_page=500").status_code == 400
    assert master_api.get("/api/v1/users?page=x").json["error"]["fields"] == {
        "page": "must be an integer"}


@pytest.fixture
def other(client, tenant_key, make_group):
    """Tenant B with one of everything the API can address."""
    tenant, secret = tenant_key("bravo")
    user = User.get(User.username == "bravo-tenant")
    group = make_group(tenant, "B customers", ["+14155550100"])
    contact = Contact.get(Contact.group == group)
    ext = Extension.create(number="3001", secret="s3cret-s3cret", tenant=tenant, user=user)
    did = Did.create(number="15550009999", tenant=tenant, greeting_text="B's greeting")
    dnc = DncNumber.create(tenant=tenant, phone="+14155550100")
    agent = User.create(username="bravo-agent", tenant=tenant, role="agent", password_hash="x")
    return dict(tenant=tenant, api=Api(client, secret), user=agent, group=group,
                contact=contact, ext=ext, did=did, dnc=dnc)


def test_another_tenants_ids_are_not_found(master_api, other):
    b = other
    attempts = [
        ("get", f"/api/v1/users/{b['user'].id}", None),
        ("patch", f"/api/v1/users/{b['user'].id}", {"first_name": "Hacked"}),
        ("delete", f"/api/v1/users/{b['user'].id}", None),
        ("get", f"/api/v1/groups/{b['group'].id}", None),
        ("patch", f"/api/v1/groups/{b['group'].id}", {"name": "Hacked"}),
        ("delete", f"/api/v1/groups/{b['group'].id}", None),
        ("get", f"/api/v1/groups/{b['group'].id}/contacts", None),
        ("post", f"/api/v1/groups/{b['group'].id}/contacts", {"phone": "+14155550111"}),
        ("get", f"/api/v1/contacts/{b['contact'].id}", None),
        ("patch", f"/api/v1/contacts/{b['contact'].id}", {"first_name": "Hacked"}),
        ("delete", f"/api/v1/contacts/{b['contact'].id}", None),
        ("get", f"/api/v1/extensions/{b['ext'].id}", None),
        ("patch", f"/api/v1/extensions/{b['ext'].id}", {"user_id": None}),
        ("get", f"/api/v1/dids/{b['did'].id}", None),
        ("patch", f"/api/v1/dids/{b['did'].id}", {"greeting_text": "Hacked"}),
        ("delete", f"/api/v1/dnc/{b['dnc'].id}", None),
    ]
    for method, url, body in attempts:
        r = getattr(master_api, method)(url, json=body) if body is not None else \
            getattr(master_api, method)(url)
        assert r.status_code == 404, (method, url, r.status_code)
        assert r.json == {"error": {"code": "not-found", "message": "Not found.", "fields": {}}}
    # nothing of B changed, and B's lists never show up for A
    assert User.get_by_id(b["user"].id).first_name == ""
    assert ContactGroup.get_by_id(b["group"].id).name == "B customers"
    assert Contact.get_by_id(b["contact"].id).first_name == ""
    assert Extension.get_by_id(b["ext"].id).user_id is not None
    assert Did.get_by_id(b["did"].id).greeting_text == "B's greeting"
    assert DncNumber.get_or_none(DncNumber.id == b["dnc"].id) is not None
    for url in ("/api/v1/users", "/api/v1/groups", "/api/v1/extensions", "/api/v1/dids",
                "/api/v1/dnc"):
        text = master_api.get(url).get_data(as_text=True)
        assert "bravo" not in text and "3001" not in text and "15550009999" not in text, url
    # a tenant key cannot reach into B with tenant_id either
    assert master_api.get(f"/api/v1/users?tenant_id={b['tenant'].id}").json["items"] == [] or \
        all(u["tenant_id"] != b["tenant"].id for u in master_api.get(
            f"/api/v1/users?tenant_id={b['tenant'].id}").json["items"])
    r = master_api.post("/api/v1/groups", json={"name": "x", "tenant_id": b["tenant"].id})
    assert r.status_code == 422
    # and B's own key still sees its data
    assert b["api"].get(f"/api/v1/contacts/{b['contact'].id}").json["phone"] == "+14155550100"


def test_a_tenant_cannot_assign_another_tenants_user(master_api, other, admin_api):
    master = Tenant.get(Tenant.slug == "master")
    ext = Extension.create(number="2101", secret="s3cret-s3cret", tenant=master)
    r = master_api.patch(f"/api/v1/extensions/{ext.id}", json={"user_id": other["user"].id})
    assert r.status_code == 422 and "user_id" in r.json["error"]["fields"]
    assert Extension.get_by_id(ext.id).user_id is None


def test_provider_key_may_name_a_tenant(admin_api, other):
    r = admin_api.post("/api/v1/groups", json={"name": "From billing",
                                               "tenant_id": other["tenant"].id})
    assert r.status_code == 201 and r.json["tenant_id"] == other["tenant"].id
    assert admin_api.post("/api/v1/groups", json={"name": "No tenant"}).status_code == 422
    items = admin_api.get(f"/api/v1/groups?tenant_id={other['tenant'].id}").json["items"]
    assert {g["name"] for g in items} == {"B customers", "From billing"}


def test_did_route_fields_over_the_api(master_api, make_tenant):
    """route, its targets and the closed destination: every target the tenant's own."""
    from models.entities import Queue
    master = Tenant.get(Tenant.slug == "master")
    other, stranger = make_tenant("globex")
    queue = Queue.create(tenant=master, name="API queue")
    theirs = Queue.create(tenant=other, name="Their queue")
    user = User.get(User.tenant == master.id)
    did = Did.create(number="15551239999", tenant=master)
    r = master_api.patch(f"/api/v1/dids/{did.id}", json={
        "route": "queue", "queue_id": queue.id, "closed_route": "user",
        "closed_target": user.id, "closed_text": "Closed."})
    assert r.status_code == 200, r.json
    assert {k: r.json[k] for k in ("route", "queue_id", "closed_route", "closed_target",
                                   "closed_text")} == {
        "route": "queue", "queue_id": queue.id, "closed_route": "user",
        "closed_target": user.id, "closed_text": "Closed."}
    for body, field in (({"queue_id": theirs.id}, "queue_id"),
                        ({"closed_route": "queue", "closed_target": theirs.id}, "closed_target"),
                        ({"closed_route": "user", "closed_target": stranger.id}, "closed_target"),
                        ({"route": "ivr"}, "ivr_id"), ({"route": "nowhere"}, "route")):
        r = master_api.patch(f"/api/v1/dids/{did.id}", json=body)
        assert r.status_code == 422 and field in r.json["error"]["fields"], (body, r.json)
    assert Did.get_by_id(did.id).queue_id == queue.id
