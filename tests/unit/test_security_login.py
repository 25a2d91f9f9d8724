"""Login throttling and session ending, through the real login form on a real SQLite file."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from models import Tenant, User
from models.entities import LoginFailure, TenantLog, utcnow
from voxcast import login_guard

from .conftest import ADMIN_PASSWORD, CSRF_RE, MASTER_PASSWORD

LOCKED = "Too many failed attempts; try again in 15 minutes."


def login(client, username, password, ip="192.0.2.10"):
    env = {"REMOTE_ADDR": ip}
    page = client.get("/login", environ_base=env).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, environ_base=env)


def outcome(resp) -> tuple[int, str]:
    body = resp.get_data(as_text=True)
    for message in ("Invalid username or password.", "Too many failed attempts"):
        if message in body:
            start = body.index(message)
            return resp.status_code, body[start:body.index("<", start)]
    return resp.status_code, ""


def age_failures(minutes: int) -> None:
    """Move every recorded failure (and lock) `minutes` into the past, as time passing would."""
    delta = dt.timedelta(minutes=minutes)
    for row in LoginFailure.select():
        LoginFailure.update(created_at=row.created_at - delta).where(
            LoginFailure.id == row.id).execute()
    for user in User.select().where(User.locked_until.is_null(False)):
        User.update(locked_until=user.locked_until - delta).where(User.id == user.id).execute()


# -- per-account lockout ----------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account_for_15_minutes(client):
    results = [outcome(login(client, "master", f"wrong-{i}")) for i in range(5)]
    assert results[:4] == [(401, "Invalid username or password.")] * 4
    assert results[4] == (429, LOCKED)
    master = User.get(User.username == "master")
    assert master.locked_until > utcnow() + dt.timedelta(minutes=14)
    # Even the right password is refused while locked, with the time left.
    assert outcome(login(client, "master", MASTER_PASSWORD)) == (429, LOCKED)
    assert client.get("/campaigns/").status_code == 302
    log = TenantLog.get(TenantLog.action == "user.locked")
    assert log.object_id == str(master.id) and log.ip == "192.0.2.10"


def test_lock_tells_the_minutes_left_and_ends(client):
    for i in range(5):
        login(client, "master", f"wrong-{i}")
    age_failures(11)
    assert outcome(login(client, "master", MASTER_PASSWORD)) == (
        429, "Too many failed attempts; try again in 4 minutes.")
    age_failures(4)
    assert login(client, "master", MASTER_PASSWORD).status_code == 302
    master = User.get(User.username == "master")
    assert master.failed_logins == 0 and master.locked_until is None


def test_successful_login_resets_the_account_counter(client, app):
    for i in range(4):
        login(client, "master", f"wrong-{i}")
    assert User.get(User.username == "master").failed_logins == 4
    assert login(client, "master", MASTER_PASSWORD).status_code == 302
    assert User.get(User.username == "master").failed_logins == 0
    other = app.test_client()
    for i in range(4):
        assert login(other, "master", f"again-{i}").status_code == 401  # counting from zero


def test_lock_is_per_account_not_per_address(client):
    for i in range(5):
        login(client, "master", f"wrong-{i}", ip="192.0.2.10")
    assert outcome(login(client, "master", MASTER_PASSWORD, ip="198.51.100.7"))[0] == 429
    assert login(client, "admin", ADMIN_PASSWORD, ip="192.0.2.10").status_code == 302


def test_unknown_username_behaves_exactly_like_a_wrong_password(app):
    known = [outcome(login(app.test_client(), "master", f"w{i}", ip="192.0.2.1"))
             for i in range(7)]
    unknown = [outcome(login(app.test_client(), "no-such-user", f"w{i}", ip="192.0.2.2"))
               for i in range(7)]
    assert known == unknown
    assert unknown[4] == (429, LOCKED) and unknown[6] == (429, LOCKED)


# -- per-address limit --------------------------------------------------------------------

def test_address_is_limited_across_usernames_and_processes(app, settings):
    client = app.test_client()
    for i in range(login_guard.MAX_IP_FAILURES):
        # Four tries per name: no single name locks, only the address limit can stop this.
        assert login(client, f"guess-{i // 4}", "x", ip="203.0.113.9").status_code == 401
    resp = login(client, "admin", ADMIN_PASSWORD, ip="203.0.113.9")
    assert outcome(resp) == (429, LOCKED)
    # The limit is in the database: another app (another waitress process) enforces it too.
    from webui import create_app
    second = create_app(settings, {"TESTING": True}).test_client()
    assert login(second, "admin", ADMIN_PASSWORD, ip="203.0.113.9").status_code == 429
    # Other addresses are not affected.
    assert login(second, "admin", ADMIN_PASSWORD, ip="203.0.113.10").status_code == 302


def test_address_limit_slides(client):
    for i in range(login_guard.MAX_IP_FAILURES):
        login(client, f"guess-{i // 4}", "x")
    age_failures(10)
    assert outcome(login(client, "admin", ADMIN_PASSWORD)) == (
        429, "Too many failed attempts; try again in 5 minutes.")
    age_failures(5)
    assert login(client, "admin", ADMIN_PASSWORD).status_code == 302


def test_good_login_does_not_reset_the_address_window(client):
    for i in range(login_guard.MAX_IP_FAILURES - 1):
        login(client, f"guess-{i // 4}", "x")
    assert login(client, "master", MASTER_PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": CSRF_RE.search(
        client.get("/campaigns/").get_data(as_text=True)).group(1)})
    login(client, "guess-x", "x")
    assert login(client, "master", MASTER_PASSWORD).status_code == 429


# -- sessions end when they must ----------------------------------------------------------

def test_bumped_session_version_ends_open_sessions(app):
    first, second = app.test_client(), app.test_client()
    login(first, "master", MASTER_PASSWORD)
    login(second, "master", MASTER_PASSWORD)
    assert first.get("/campaigns/").status_code == 200
    User.update(session_version=User.session_version + 1).where(
        User.username == "master").execute()
    for client in (first, second):
        resp = client.get("/campaigns/")
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    # Logging in again picks up the new version.
    login(first, "master", MASTER_PASSWORD)
    assert first.get("/campaigns/").status_code == 200


def test_suspending_a_tenant_ends_its_open_sessions(app):
    tenant_client, admin_client = app.test_client(), app.test_client()
    assert login(tenant_client, "master", MASTER_PASSWORD).status_code == 302
    assert tenant_client.get("/campaigns/").status_code == 200
    login(admin_client, "admin", ADMIN_PASSWORD)
    master = Tenant.get(Tenant.slug == "master")
    suspend_url = next((r.rule.replace("<int:tenant_id>", str(master.id))
                        for r in app.url_map.iter_rules()
                        if r.endpoint.endswith("suspend") and "tenant_id" in r.arguments), None)
    if suspend_url:  # through the provider's UI when it has the action
        page = admin_client.get("/admin/tenants").get_data(as_text=True)
        resp = admin_client.post(suspend_url, data={"csrf_token": CSRF_RE.search(page).group(1)})
        assert resp.status_code in (200, 302)
    else:
        Tenant.update(status="suspended").where(Tenant.id == master.id).execute()
    assert Tenant.get_by_id(master.id).status == "suspended"
    resp = tenant_client.get("/campaigns/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert admin_client.get("/admin/tenants").status_code == 200  # the admin's goes on


def test_session_without_version_is_refused(client):
    login(client, "master", MASTER_PASSWORD)
    with client.session_transaction() as sess:
        sess.pop("session_version")
    assert client.get("/campaigns/").status_code == 302


def test_login_starts_a_fresh_session(client):
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    login(client, "master", MASTER_PASSWORD)
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.permanent


def test_idle_session_expires(monkeypatch, settings, app):
    monkeypatch.setenv("VOXCAST_SESSION_HOURS", str(1 / 3600))  # one second
    from webui import create_app
    client = create_app(settings, {"TESTING": True}).test_client()
    login(client, "master", MASTER_PASSWORD)
    assert client.get("/campaigns/").status_code == 200
    time.sleep(2.1)
    assert client.get("/campaigns/").status_code == 302


@pytest.mark.parametrize("https", ["", "1"])
def test_session_cookie_flags(monkeypatch, settings, app, https):
    monkeypatch.setenv("VOXCAST_HTTPS", https)
    from webui import create_app
    client = create_app(settings, {"TESTING": True}).test_client()
    resp = login(client, "master", MASTER_PASSWORD)
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert ("Secure" in cookie) == (https == "1")


def test_changing_the_password_ends_the_other_sessions_only(app):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "master", MASTER_PASSWORD)
    login(elsewhere, "master", MASTER_PASSWORD)
    page = here.get("/account/").get_data(as_text=True)
    resp = here.post("/account/password", data={
        "csrf_token": CSRF_RE.search(page).group(1), "current_password": MASTER_PASSWORD,
        "new_password": "a-new-long-password-1", "confirm_password": "a-new-long-password-1"})
    assert resp.status_code == 302
    assert here.get("/account/").status_code == 200
    resp = elsewhere.get("/account/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
