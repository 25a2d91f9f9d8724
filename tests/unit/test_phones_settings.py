"""The settings the phones' routing reads: the provider's blocked prefixes of a tenant and the
caller ID of an extension (one of the tenant's own DIDs), through the services and the pages."""
from __future__ import annotations

import pytest

from models import Did, Extension, Tenant
from voxcast.phones import caller_id
from voxcast.tenants import services as tenant_service

from .api_support import admin_api  # noqa: F401


def _profile(tenant: Tenant, **kw) -> tenant_service.TenantProfile:
    base = dict(name=tenant.name, slug=tenant.slug, country="US", timezone="UTC",
                language="en", channel_limit=10)
    base.update(kw)
    return tenant_service.TenantProfile(**base)


def test_blocked_prefixes_are_stored_as_digits_and_left_alone_when_not_given(db):
    t = Tenant.create(name="bp", slug="bp")
    tenant_service.update_tenant(t, _profile(t, blocked_prefixes="1900, +44\n011"),
                                 languages={"en": "English"})
    assert Tenant.get_by_id(t.id).blocked_prefixes == "1900 44 011"
    tenant_service.update_tenant(Tenant.get_by_id(t.id), _profile(t, channel_limit=5),
                                 languages={"en": "English"})  # the API: no prefixes given
    assert Tenant.get_by_id(t.id).blocked_prefixes == "1900 44 011"
    with pytest.raises(tenant_service.TenantError) as exc:
        tenant_service.update_tenant(t, _profile(t, blocked_prefixes="1900 premium"),
                                     languages={"en": "English"})
    assert "blocked_prefixes" in exc.value.errors


def test_extension_caller_id_must_be_a_did_of_its_tenant(db):
    a, b = Tenant.create(name="ca", slug="ca"), Tenant.create(name="cb", slug="cb")
    Did.create(number="+15550300001", tenant=a)
    Did.create(number="+15550300002", tenant=b)
    ext = Extension.create(number="7501", secret="s", tenant=a)
    assert caller_id.set_caller_id(ext, "15550300001") == "+15550300001"
    assert Extension.get_by_id(ext.id).caller_id == "+15550300001"
    for bad in ("+15550300002", "+15559999999"):  # another tenant's DID, anybody's number
        with pytest.raises(caller_id.CallerIdError):
            caller_id.set_caller_id(Extension.get_by_id(ext.id), bad)
    assert Extension.get_by_id(ext.id).caller_id == "+15550300001"
    assert caller_id.set_caller_id(Extension.get_by_id(ext.id), "") == ""


def test_pages_set_both(app, auth, client, make_tenant):
    tenant, user = make_tenant("pg")
    Did.create(number="+15550400001", tenant=tenant)
    ext = Extension.create(number="7601", secret="s", tenant=tenant)
    auth.login(user.username, f"pw-{user.username}")
    page = client.get("/extensions/").get_data(as_text=True)
    assert "+15550400001" in page and "caller-id" in page
    auth.post(f"/extensions/{ext.id}/caller-id", {"caller_id": "+15550400001"})
    assert Extension.get_by_id(ext.id).caller_id == "+15550400001"
    auth.post(f"/extensions/{ext.id}/caller-id", {"caller_id": "+15550499999"})
    assert Extension.get_by_id(ext.id).caller_id == "+15550400001"  # refused, unchanged
    auth.logout()

    from .conftest import ADMIN_PASSWORD
    auth.login("admin", ADMIN_PASSWORD)
    form = client.get(f"/admin/tenants/{tenant.id}/edit").get_data(as_text=True)
    assert 'name="blocked_prefixes"' in form
    t = Tenant.get_by_id(tenant.id)
    resp = auth.post(f"/admin/tenants/{tenant.id}/edit", {
        "name": t.name, "slug": t.slug, "country": "US", "timezone": "UTC", "language": "en",
        "rate_plan": "0", "channel_limit": "10", "blocked_prefixes": "1900 00"})
    assert resp.status_code in (200, 302)
    assert Tenant.get_by_id(tenant.id).blocked_prefixes == "1900 00"



def test_api_reads_and_sets_blocked_prefixes(admin_api):
    r = admin_api.post("/api/v1/tenants", json={
        "name": "Api Phones", "slug": "apiphones", "blocked_prefixes": ["1900", "+44"],
        "admin_username": "apiphones-admin", "admin_password": "secret-pass-1",
        "admin_email": "ops@apiphones.example"})
    assert r.status_code == 201, r.json
    tid = r.json["id"]
    assert r.json["blocked_prefixes"] == ["1900", "44"]
    r = admin_api.patch(f"/api/v1/tenants/{tid}", json={"channel_limit": 3})
    assert r.status_code == 200 and r.json["blocked_prefixes"] == ["1900", "44"]  # kept
    r = admin_api.patch(f"/api/v1/tenants/{tid}", json={"blocked_prefixes": ["00"]})
    assert r.json["blocked_prefixes"] == ["00"]
    r = admin_api.patch(f"/api/v1/tenants/{tid}", json={"blocked_prefixes": ["premium"]})
    assert r.status_code == 422 and "blocked_prefixes[0]" in r.json["error"]["fields"]


def test_provider_sets_an_extensions_caller_id_among_the_tenants_dids(app, auth, client,
                                                                      make_tenant):
    tenant, _ = make_tenant("pv")
    other, _ = make_tenant("pw")
    Did.create(number="+15550500001", tenant=tenant)
    Did.create(number="+15550500002", tenant=other)
    ext = Extension.create(number="7801", secret="s", tenant=tenant)
    foreign = Extension.create(number="7802", secret="s", tenant=other)
    from .conftest import ADMIN_PASSWORD
    auth.login("admin", ADMIN_PASSWORD)
    page = client.get(f"/admin/tenants/{tenant.id}/extensions").get_data(as_text=True)
    assert "+15550500001" in page and "+15550500002" not in page
    auth.post(f"/admin/tenants/{tenant.id}/extensions/{ext.id}/caller-id",
              {"caller_id": "+15550500002"})  # the other tenant's DID: refused
    assert Extension.get_by_id(ext.id).caller_id == ""
    auth.post(f"/admin/tenants/{tenant.id}/extensions/{ext.id}/caller-id",
              {"caller_id": "+15550500001"})
    assert Extension.get_by_id(ext.id).caller_id == "+15550500001"
    r = auth.post(f"/admin/tenants/{tenant.id}/extensions/{foreign.id}/caller-id",
                  {"caller_id": "+15550500001"})  # not this tenant's extension
    assert r.status_code == 404 and Extension.get_by_id(foreign.id).caller_id == ""


def test_a_did_leaving_the_tenant_is_no_longer_an_extensions_caller_id(db):
    from voxcast.numbers import pool
    t = Tenant.create(name="lv", slug="lv")
    did = Did.create(number="+15550700001", tenant=t)
    ext = Extension.create(number="7901", secret="s", tenant=t, caller_id="+15550700001")
    pool.return_did(t, did.id)
    assert Extension.get_by_id(ext.id).caller_id == ""
