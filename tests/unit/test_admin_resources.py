"""The admin's view of a tenant's users, agents, extensions and DIDs, and the pools."""
from __future__ import annotations

import pytest

from models import Did, Extension, Tenant, TenantLog, User
from voxcast.numbers import pool as pool_service

from .conftest import ADMIN_PASSWORD


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def admin(auth):
    auth.login("admin", ADMIN_PASSWORD)
    return auth


@pytest.fixture
def acme(app, make_tenant):
    tenant, _ = make_tenant("acme", username="boss")
    make_tenant("acme", role="agent", username="agent1")
    make_tenant("other", username="stranger")
    return tenant


def test_users_and_agents_lists(admin, acme):
    page = text(admin.client.get(f"/admin/tenants/{acme.id}/users"))
    assert "boss" in page and "agent1" not in page and "stranger" not in page
    page = text(admin.client.get(f"/admin/tenants/{acme.id}/users?role=agent"))
    assert "agent1" in page and "boss" not in page


def test_disable_enable_and_reset_password(admin, acme, app):
    from .conftest import AuthActions
    boss = User.get(User.username == "boss")
    other = AuthActions(app.test_client())
    assert other.login("boss", "pw-boss").status_code == 302
    assert admin.post(f"/admin/tenants/{acme.id}/users/{boss.id}/disable").status_code == 302
    assert not User.get_by_id(boss.id).active
    assert other.client.get("/campaigns/").status_code == 302  # its session ended
    assert other.login("boss", "pw-boss").status_code == 403
    admin.post(f"/admin/tenants/{acme.id}/users/{boss.id}/enable")
    resp = admin.post(f"/admin/tenants/{acme.id}/users/{boss.id}/password",
                      {"password": "brand-new-pass"}, follow_redirects=True)
    assert "Password of boss changed" in text(resp)
    assert other.login("boss", "pw-boss").status_code == 401
    assert other.login("boss", "brand-new-pass").status_code == 302
    resp = admin.post(f"/admin/tenants/{acme.id}/users/{boss.id}/password",
                      {"password": "short"}, follow_redirects=True)
    assert "At least 8" in text(resp)
    actions = {r.action for r in TenantLog.select().where(TenantLog.tenant == acme.id)}
    assert {"user.disable", "user.enable", "user.password_reset"} <= actions


def test_another_tenants_user_is_not_found(admin, acme):
    stranger = User.get(User.username == "stranger")
    resp = admin.post(f"/admin/tenants/{acme.id}/users/{stranger.id}/disable")
    assert resp.status_code == 404 and User.get_by_id(stranger.id).active


def test_extension_pool_range_allocate_and_return(admin, acme):
    resp = admin.post("/admin/extensions", {"first": "1000", "last": "1049"})
    assert resp.status_code == 302
    assert Extension.select().count() == 50
    secrets_ = {e.secret for e in Extension.select()}
    assert len(secrets_) == 50 and all(len(s) >= 16 for s in secrets_)
    resp = admin.post("/admin/extensions", {"first": "1040", "last": "1060"})
    assert resp.status_code == 400 and "1040" in text(resp)
    assert Extension.select().count() == 50  # nothing partially added
    resp = admin.post("/admin/extensions", {"first": "1100", "last": "1090"})
    assert resp.status_code == 400 and "before it starts" in text(resp)

    admin.post(f"/admin/tenants/{acme.id}/extensions", {"count": "3"})
    mine = [e.number for e in pool_service.tenant_extensions(acme)]
    assert mine == ["1000", "1001", "1002"]
    resp = admin.post(f"/admin/tenants/{acme.id}/extensions", {"count": "48"},
                      follow_redirects=True)
    assert "Only 47 extension(s) are free" in text(resp)
    assert pool_service.tenant_extensions(acme).count() == 3
    ext = Extension.get(Extension.number == "1001")
    old_secret = ext.secret
    admin.post(f"/admin/tenants/{acme.id}/extensions/{ext.id}/return")
    ext = Extension.get_by_id(ext.id)
    assert ext.tenant_id is None and ext.secret != old_secret
    assert "<td>1001</td>" not in text(admin.client.get(f"/admin/tenants/{acme.id}/extensions"))


def test_dids_allocate_and_return(admin, acme):
    assert admin.post("/admin/dids", {"number": "+4930100", "last": "+4930102"}).status_code == 302
    assert Did.select().count() == 3
    did = Did.get(Did.number == "+4930101")
    admin.post(f"/admin/tenants/{acme.id}/dids", {"did": str(did.id)})
    assert Did.get_by_id(did.id).tenant_id == acme.id
    page = text(admin.client.get(f"/admin/tenants/{acme.id}/dids"))
    assert "+4930101" in page
    resp = admin.post(f"/admin/tenants/{acme.id}/dids", {"did": str(did.id)},
                      follow_redirects=True)
    assert "Choose a DID" in text(resp) or "not free" in text(resp)
    admin.post(f"/admin/tenants/{acme.id}/dids/{did.id}/return")
    assert Did.get_by_id(did.id).tenant_id is None
    other = Tenant.get(Tenant.slug == "other")
    Did.update(tenant=other).where(Did.id == did.id).execute()
    resp = admin.post(f"/admin/tenants/{acme.id}/dids/{did.id}/return", follow_redirects=True)
    assert "not assigned to this tenant" in text(resp)
    assert Did.get_by_id(did.id).tenant_id == other.id
