"""User Management: the tenant administrator manages its users, supervisors only look,
quotas hold, bad input saves nothing, every change is in the tenant log."""
from __future__ import annotations

import re

import pytest
from werkzeug.security import check_password_hash

from models import Extension, TenantLog, User
from voxcast.accounts import users as user_service
from voxcast.accounts.users import UserError

NEW = {"username": "alice", "role": "user", "password": "alice-pass-1", "pin": "4321",
       "email": "alice@example.com", "first_name": "Alice", "last_name": "Smith",
       "phone": "+49 30 1234567", "timezone": "Europe/Berlin", "language": "de"}


@pytest.fixture
def tenant_admin(app, make_tenant, auth):
    tenant, user = make_tenant("acme", role="tenant")
    auth.login(user.username, f"pw-{user.username}")
    return tenant, user


def test_given_tenant_admin_when_creating_user_then_saved_hashed_and_logged(tenant_admin, auth,
                                                                           client):
    tenant, admin = tenant_admin
    res = auth.post("/users/new", NEW, follow_redirects=True)
    assert res.status_code == 200
    assert "User alice created." in res.get_data(as_text=True)
    user = User.get(User.username == "alice")
    assert user.tenant_id == tenant.id and user.role == "user" and user.active
    assert (user.first_name, user.timezone, user.language) == ("Alice", "Europe/Berlin", "de")
    assert user.pin != "4321" and check_password_hash(user.pin, "4321")
    assert check_password_hash(user.password_hash, "alice-pass-1")
    log = TenantLog.get(TenantLog.action == "user.create")
    assert log.tenant_id == tenant.id and log.username == admin.username and "alice" in log.detail
    listing = client.get("/users/").get_data(as_text=True)
    assert "alice" in listing and "Alice Smith" in listing


@pytest.mark.parametrize("field,value,message", [
    ("pin", "12", "4 to 8 digits."),
    ("pin", "12345abc", "4 to 8 digits."),
    ("password", "short", "At least 8 characters."),
    ("email", "not-an-email", "Not a valid e-mail address."),
    ("timezone", "Mars/Olympus", "Choose a time zone from the list."),
    ("username", "a b", "3 to 64 letters"),
    ("role", "tenant", "Choose user, supervisor or agent."),
])
def test_given_bad_input_when_creating_user_then_error_and_nothing_saved(
        tenant_admin, auth, field, value, message):
    res = auth.post("/users/new", {**NEW, field: value})
    assert res.status_code == 400
    assert message in res.get_data(as_text=True)
    assert not User.select().where(User.username == NEW["username"]).exists()
    assert not TenantLog.select().where(TenantLog.action == "user.create").exists()


def test_given_taken_username_when_creating_then_refused(tenant_admin, auth):
    res = auth.post("/users/new", {**NEW, "username": "master"})
    assert res.status_code == 400 and "This username is taken." in res.get_data(as_text=True)


def test_given_full_quota_when_creating_then_clear_error_and_nothing_saved(tenant_admin, auth):
    tenant, _admin = tenant_admin
    tenant.max_agents = 1
    tenant.save()
    assert auth.post("/users/new", {**NEW, "username": "agent1", "role": "agent"}).status_code == 302
    res = auth.post("/users/new", {**NEW, "username": "agent2", "role": "agent"})
    assert res.status_code == 400
    assert "Your plan allows 1 agents" in res.get_data(as_text=True)
    assert not User.select().where(User.username == "agent2").exists()
    # Users (non-agents) have their own quota: the admin account already uses 1 of 1.
    tenant.max_users = 1
    tenant.save()
    res = auth.post("/users/new", {**NEW, "username": "bob", "role": "user"})
    assert res.status_code == 400 and "Your plan allows 1 users" in res.get_data(as_text=True)


def test_given_user_when_edited_then_fields_change_and_blank_password_keeps_it(
        tenant_admin, auth, client):
    tenant, _admin = tenant_admin
    auth.post("/users/new", NEW)
    user = User.get(User.username == "alice")
    page = client.get(f"/users/{user.id}/edit").get_data(as_text=True)
    assert 'value="Alice"' in page and "alice-pass-1" not in page
    res = auth.post(f"/users/{user.id}/edit", {**NEW, "role": "supervisor", "password": "",
                                                "pin": "", "last_name": "Jones"})
    assert res.status_code == 302
    user = User.get_by_id(user.id)
    assert user.role == "supervisor" and user.last_name == "Jones"
    assert check_password_hash(user.password_hash, "alice-pass-1")
    assert check_password_hash(user.pin, "4321")
    assert TenantLog.select().where(TenantLog.action == "user.update").count() == 1


def test_given_user_when_disabled_then_cannot_log_in_and_enable_restores(
        tenant_admin, auth, client):
    auth.post("/users/new", NEW)
    user = User.get(User.username == "alice")
    auth.post(f"/users/{user.id}/disable")
    assert not User.get_by_id(user.id).active
    auth.logout()
    assert auth.login("alice", "alice-pass-1").status_code == 403
    auth.login("acme-tenant", "pw-acme-tenant")
    auth.post(f"/users/{user.id}/enable")
    auth.logout()
    assert auth.login("alice", "alice-pass-1").status_code == 302
    actions = [r.action for r in TenantLog.select().order_by(TenantLog.id)]
    assert "user.disable" in actions and "user.enable" in actions


def test_given_user_with_extension_when_deleted_then_gone_and_extension_unassigned(
        tenant_admin, auth):
    tenant, _admin = tenant_admin
    auth.post("/users/new", NEW)
    user = User.get(User.username == "alice")
    ext = Extension.create(number="2001", secret="s3cret-2001", tenant=tenant, user=user)
    assert auth.post(f"/users/{user.id}/delete").status_code == 302
    assert User.get_or_none(User.id == user.id) is None
    ext = Extension.get_by_id(ext.id)
    assert ext.user_id is None and ext.tenant_id == tenant.id
    assert TenantLog.select().where(TenantLog.action == "user.delete").exists()


def test_given_other_tenants_user_when_edited_then_not_found(tenant_admin, auth, make_tenant):
    _other, stranger = make_tenant("globex", role="user")
    assert auth.post(f"/users/{stranger.id}/delete").status_code == 404
    assert auth.post(f"/users/{stranger.id}/disable").status_code == 404
    assert User.get_by_id(stranger.id).active


def test_given_tenant_admin_when_changing_own_account_here_then_forbidden(tenant_admin, auth):
    _tenant, admin = tenant_admin
    assert auth.post(f"/users/{admin.id}/disable").status_code == 403
    assert User.get_by_id(admin.id).active


def test_given_supervisor_then_list_is_read_only(app, make_tenant, auth, client):
    tenant, sup = make_tenant("acme", role="supervisor")
    _t, plain = make_tenant("acme", role="user")
    auth.login(sup.username, f"pw-{sup.username}")
    page = client.get("/users/").get_data(as_text=True)
    assert plain.username in page and "/users/new" not in page
    assert not re.search(r'action="/users/\d+/', page)
    assert client.get("/users/new").status_code == 403
    assert auth.post(f"/users/{plain.id}/disable").status_code == 403


def test_given_plain_user_or_agent_then_no_user_management(app, make_tenant, auth, client):
    _t, plain = make_tenant("acme", role="user")
    auth.login(plain.username, f"pw-{plain.username}")
    assert client.get("/users/").status_code == 403


def test_service_validates_before_quota_and_refuses_unknown_language(db, make_tenant):
    tenant, _user = make_tenant("acme", role="tenant")
    with pytest.raises(UserError) as err:
        user_service.create_user(tenant, **{**NEW, "language": "fr"})
    assert err.value.field == "language"
    assert not User.select().where(User.username == "alice").exists()
