"""My Account: password change (current password required, other sessions end) and the
profile, whose theme really changes the page."""
from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

from models import TenantLog, User

from .conftest import ADMIN_PASSWORD, AuthActions


@pytest.fixture
def alice(app, make_tenant, auth):
    _tenant, user = make_tenant("acme", role="user", username="alice")
    auth.login("alice", "pw-alice")
    return user


def _change(auth, current, new, confirm=None):
    return auth.post("/account/password", {"current_password": current, "new_password": new,
                                           "confirm_password": new if confirm is None else confirm})


def test_given_user_when_password_changed_then_new_works_and_other_sessions_end(
        alice, auth, app):
    other = AuthActions(app.test_client())  # the same user logged in elsewhere
    other.login("alice", "pw-alice")
    assert other.client.get("/account/").status_code == 200

    res = _change(auth, "pw-alice", "brand-new-pass")
    assert res.status_code == 302
    assert "Your password is changed" in auth.client.get("/account/").get_data(as_text=True)
    user = User.get_by_id(alice.id)
    assert check_password_hash(user.password_hash, "brand-new-pass")
    assert user.session_version == alice.session_version + 1
    assert TenantLog.select().where(TenantLog.action == "account.password").exists()

    assert other.client.get("/account/").status_code == 302  # logged out there
    auth.logout()
    assert auth.login("alice", "pw-alice").status_code == 401
    assert auth.login("alice", "brand-new-pass").status_code == 302


@pytest.mark.parametrize("current,new,confirm,message", [
    ("wrong-password", "brand-new-pass", None, "The current password is not correct."),
    ("pw-alice", "short", None, "At least 8 characters."),
    ("pw-alice", "brand-new-pass", "brand-new-typo", "The two new passwords differ."),
])
def test_given_bad_password_change_then_refused_and_unchanged(alice, auth, current, new,
                                                              confirm, message):
    res = _change(auth, current, new, confirm)
    assert res.status_code == 400 and message in res.get_data(as_text=True)
    user = User.get_by_id(alice.id)
    assert check_password_hash(user.password_hash, "pw-alice")
    assert user.session_version == alice.session_version


def test_given_profile_saved_then_fields_change_and_dark_theme_applies(alice, auth, client):
    assert 'data-theme="light"' in client.get("/account/").get_data(as_text=True)
    res = auth.post("/account/profile", {
        "first_name": "Alice", "last_name": "Smith", "email": "alice@example.com",
        "phone": "+1 202 555 0100", "timezone": "America/New_York", "language": "en",
        "theme": "dark"})
    assert res.status_code == 302
    user = User.get_by_id(alice.id)
    assert (user.first_name, user.email, user.timezone, user.theme) == \
        ("Alice", "alice@example.com", "America/New_York", "dark")
    page = client.get("/account/").get_data(as_text=True)
    assert 'data-theme="dark"' in page and "Alice Smith" in page
    assert TenantLog.get(TenantLog.action == "account.profile").tenant_id == user.tenant_id
    css = client.get("/static/style.css").get_data(as_text=True)
    assert "html[data-theme=dark]" in css


def test_given_bad_profile_then_error_and_nothing_saved(alice, auth):
    res = auth.post("/account/profile", {"first_name": "Eve", "email": "nope",
                                         "timezone": "UTC", "language": "en", "theme": "dark"})
    assert res.status_code == 400 and "Not a valid e-mail address." in res.get_data(as_text=True)
    user = User.get_by_id(alice.id)
    assert user.first_name == "" and user.theme == "light"
    res = auth.post("/account/profile", {"timezone": "Nowhere/Land", "theme": "light"})
    assert res.status_code == 400 and "Choose a time zone" in res.get_data(as_text=True)


def test_given_provider_admin_then_my_account_works_too(app, auth, client):
    auth.login("admin", ADMIN_PASSWORD)
    assert client.get("/account/").status_code == 200
    assert _change(auth, ADMIN_PASSWORD, "admin-new-secret").status_code == 302
    admin = User.get(User.username == "admin")
    assert check_password_hash(admin.password_hash, "admin-new-secret")
    assert client.get("/account/").status_code == 200  # this session carries on


def test_given_anonymous_then_login_required(client):
    assert client.get("/account/").status_code == 302
