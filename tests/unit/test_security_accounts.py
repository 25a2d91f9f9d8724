"""Accounts and sessions (security issue 10): activation/reset links that cannot outlive the
account state they were sent for, logout that ends the session on the server, API keys that
die with their creator's rights."""
from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.security import check_password_hash

from models import ApiKey, Tenant, User
from models.entities import LoginSession, utcnow
from voxcast.accounts import api_keys
from voxcast.tenants import services as tenant_service
from voxcast.accounts import users as user_service
from voxcast.tenants.services import ActivationError, NewAdmin, TenantError, TenantProfile

from .conftest import ADMIN_PASSWORD, CSRF_RE, MASTER_PASSWORD, AuthActions


def pending_admin(slug: str = "acme") -> tuple[User, str]:
    """A tenant admin created to choose the password through the e-mailed link."""
    created = tenant_service.create_tenant(
        TenantProfile(name=slug.title(), slug=slug),
        NewAdmin(username=f"{slug}-admin", password="", first_name="A",
                 email=f"a@{slug}.example", notify="activation"),
        0, languages=("en",))
    return created.admin, created.activation_token


def fresh(user: User) -> User:
    return User.get_by_id(user.id)


# -- finding 4: links -----------------------------------------------------------------------

def test_a_disabled_accounts_link_is_refused_and_it_stays_disabled(app, client):
    user, token = pending_admin()
    tenant_service.set_user_active(user, False)
    with pytest.raises(ActivationError):
        tenant_service.activate(token, "new-password-1")
    assert client.get(f"/activate/{token}").status_code == 404
    assert not fresh(user).active and not fresh(user).pending_activation
    # Even a link that survived (sent before disabling, restored from a backup...) cannot
    # enable it: only an account awaiting activation is made active.
    User.update(activation_token=tenant_service._hash_token(token)).where(
        User.id == user.id).execute()
    with pytest.raises(ActivationError):
        tenant_service.activate(token, "new-password-1")
    assert not fresh(user).active
    # And no new link is issued for it until an administrator enables it.
    with pytest.raises(TenantError, match="disabled"):
        tenant_service.issue_link(user)


def test_tenant_disabling_its_user_voids_the_users_reset_link(app, make_tenant):
    tenant, boss = make_tenant("acme")
    _, worker = make_tenant("acme", role="user", username="worker")
    token = tenant_service.issue_link(worker)
    user_service.set_active(worker, False, actor=boss)
    with pytest.raises(ActivationError):
        tenant_service.activate(token, "new-password-1")
    assert not fresh(worker).active


@pytest.mark.parametrize("change", ["own", "provider", "tenant_admin"])
def test_a_password_change_voids_an_outstanding_reset_link(app, make_tenant, change):
    tenant, boss = make_tenant("acme")
    _, worker = make_tenant("acme", role="user", username="worker")
    token = tenant_service.issue_link(worker)
    if change == "own":
        user_service.change_password(worker, "pw-worker", "changed-pw-1", "changed-pw-1")
    elif change == "provider":
        tenant_service.set_password(worker, "changed-pw-1")
    else:
        user_service.update_user(worker, role="user", password="changed-pw-1", actor=boss)
    with pytest.raises(ActivationError):
        tenant_service.activate(token, "attacker-pw-1")
    assert check_password_hash(fresh(worker).password_hash, "changed-pw-1")


def test_a_link_works_once(app, client):
    user, token = pending_admin()
    page = client.get(f"/activate/{token}")
    assert page.headers["Referrer-Policy"] == "strict-origin"  # the token stays out of Referer
    csrf = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    form = {"csrf_token": csrf, "password": "first-pw-123", "confirm": "first-pw-123"}
    assert client.post(f"/activate/{token}", data=form).status_code == 302
    assert fresh(user).active and not fresh(user).pending_activation
    resp = client.post(f"/activate/{token}", data=form | {"password": "second-pw-1",
                                                          "confirm": "second-pw-1"})
    assert resp.status_code == 404
    with pytest.raises(ActivationError):
        tenant_service.activate(token, "third-pw-123")


def test_a_reset_link_of_an_enabled_account_only_sets_the_password(app, make_tenant):
    _, user = make_tenant("acme")
    token = tenant_service.issue_link(user)
    tenant_service.activate(token, "reset-pw-123")
    row = fresh(user)
    assert row.active and row.activation_token is None and row.session_version == 1


# -- finding 6: logout ends the session on the server -------------------------------------

def login(app, username="master", password=MASTER_PASSWORD):
    client = app.test_client()
    assert AuthActions(client).login(username, password).status_code == 302
    return client


def test_a_copied_cookie_dies_with_logout(app):
    client = login(app)
    copied = client.get_cookie("session").value
    assert AuthActions(client).logout().status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    resp = replay.get("/campaigns/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_logout_ends_this_session_only(app):
    laptop, phone = login(app), login(app)
    AuthActions(laptop).logout()
    assert laptop.get("/campaigns/").status_code == 302
    assert phone.get("/campaigns/").status_code == 200


def test_log_out_everywhere_ends_every_session(app):
    laptop, phone = login(app), login(app)
    other_user = login(app, "admin", ADMIN_PASSWORD)
    resp = AuthActions(laptop).post("/account/logout-everywhere")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    for client in (laptop, phone):
        assert client.get("/campaigns/").status_code == 302
    assert other_user.get("/admin/tenants").status_code == 200
    assert not LoginSession.select().where(
        LoginSession.user == User.get(User.username == "master").id,
        LoginSession.ended_at.is_null()).exists()


def test_each_login_gets_a_new_server_side_session(app):
    client = login(app)
    with client.session_transaction() as sess:
        first = sess["sid"]
    AuthActions(client).logout()
    AuthActions(client).login()
    with client.session_transaction() as sess:
        assert sess["sid"] != first
    assert client.get("/campaigns/").status_code == 200


def test_a_session_idle_too_long_on_the_server_is_refused(app):
    """A replayed cookie is re-signed on every response, so the server's own last-seen time
    decides, not the cookie's age."""
    client = login(app)
    LoginSession.update(last_seen_at=utcnow() - dt.timedelta(hours=9)).execute()
    assert client.get("/campaigns/").status_code == 302


# -- finding 7: API keys and their creators -----------------------------------------------

def key_for(user: User, tenant_id) -> str:
    return api_keys.create(tenant_id=tenant_id, user=user, name="k")[1]


def call(client, secret):
    return client.get("/api/v1/users", headers={"Authorization": f"Bearer {secret}"})


@pytest.mark.parametrize("change", ["disabled", "downgraded", "deleted"])
def test_a_tenant_key_stops_when_its_creator_may_no_longer_hold_it(app, client, change):
    master = User.get(User.username == "master")
    secret = key_for(master, master.tenant_id)
    assert call(client, secret).status_code == 200
    if change == "disabled":
        tenant_service.set_user_active(master, False)
    elif change == "downgraded":
        User.update(role="user").where(User.id == master.id).execute()
    else:
        master.delete_instance()
    resp = call(client, secret)
    assert resp.status_code == 401
    if change != "deleted":  # a deleted creator's keys go with it (foreign key cascade)
        assert resp.json["error"]["code"] == "api-key-owner-inactive"
        User.update(active=True, role="tenant").where(User.id == master.id).execute()
        assert call(client, secret).status_code == 200  # back with the creator's rights
    else:
        assert not ApiKey.select().exists()


def test_a_provider_key_stops_when_its_admin_is_disabled(app, client):
    admin = User.get(User.username == "admin")
    secret = key_for(admin, None)
    assert client.get("/api/v1/tenants", headers={"X-API-Key": secret}).status_code == 200
    User.update(active=False).where(User.id == admin.id).execute()
    resp = client.get("/api/v1/tenants", headers={"X-API-Key": secret})
    assert resp.status_code == 401 and resp.json["error"]["code"] == "api-key-owner-inactive"


def test_a_suspended_tenants_key_is_refused(app, client):
    master = User.get(User.username == "master")
    secret = key_for(master, master.tenant_id)
    tenant_service.suspend(Tenant.get_by_id(master.tenant_id))
    assert call(client, secret).status_code == 403


# -- the migration ----------------------------------------------------------------------------

def test_migration_tells_waiting_accounts_from_disabled_ones(app):
    """Before pending_activation both were just inactive: one with a link and no disable in
    the tenant log waits for activation; a disabled one loses its link."""
    from models import database
    from models.entities import TenantLog
    from models.migrations.ops import Ops
    from models.migrations import m0004_account_links_sessions as m0004
    waiting, waiting_token = pending_admin("acme")
    disabled, disabled_token = pending_admin("beta")
    User.update(active=False).where(User.id == disabled.id).execute()
    TenantLog.create(action="user.disable", object_type="user", object_id=str(disabled.id))
    with database.atomic():
        m0004.down(Ops(database))
        m0004.up(Ops(database))
    assert fresh(waiting).pending_activation and fresh(waiting).activation_token
    row = fresh(disabled)
    assert not row.pending_activation and not row.active and row.activation_token is None
    tenant_service.activate(waiting_token, "first-pw-123")
    assert fresh(waiting).active
    with pytest.raises(ActivationError):
        tenant_service.activate(disabled_token, "first-pw-123")
