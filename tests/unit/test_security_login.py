"""Login throttling and session ending, through the real login form on a real SQLite file."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from models import Tenant, User
from models.entities import LoginFailure, TenantLog, utcnow
from voxcast.accounts import login_guard

from .conftest import ADMIN_PASSWORD, CSRF_RE, MASTER_PASSWORD

LOCKED = "Too many failed attempts; try again in 15 minutes."


def login(client, username, password, ip="192.0.2.10", headers=None):
    env = {"REMOTE_ADDR": ip}
    page = client.get("/login", environ_base=env, headers=headers).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, environ_base=env, headers=headers)


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


def test_failures_from_one_address_do_not_lock_the_owner_out_elsewhere(app):
    """Anyone could lock the provider's admin with five wrong passwords when the lock was
    per username; now it holds only for the address that failed."""
    attacker, owner = app.test_client(), app.test_client()
    for i in range(login_guard.MAX_USER_FAILURES + 2):
        login(attacker, "admin", f"wrong-{i}", ip="192.0.2.66")
    assert outcome(login(attacker, "admin", ADMIN_PASSWORD, ip="192.0.2.66")) == (429, LOCKED)
    assert login(owner, "admin", ADMIN_PASSWORD, ip="198.51.100.7").status_code == 302
    assert owner.get("/admin/tenants").status_code == 200
    # The locked address may still try other names (up to the address limit).
    assert login(attacker, "master", MASTER_PASSWORD, ip="192.0.2.66").status_code == 302


def test_spread_attack_on_one_name_is_capped_but_not_from_the_owners_address(
        app, monkeypatch):
    monkeypatch.setattr(login_guard, "MAX_NAME_FAILURES", 8)
    owner = app.test_client()
    assert login(owner, "admin", ADMIN_PASSWORD, ip="198.51.100.7").status_code == 302
    for i in range(8):  # four addresses, two tries each: no address or pair limit reached
        assert login(app.test_client(), "admin", f"w{i}", ip=f"192.0.2.{i // 2}"
                     ).status_code == 401
        login(app.test_client(), "nobody-here", f"w{i}", ip=f"192.0.2.{100 + i // 2}")
    # From a new address the name is refused, the right password included, exactly as an
    # unknown name is, so the cap tells nothing about which names exist.
    assert outcome(login(app.test_client(), "admin", ADMIN_PASSWORD, ip="203.0.113.1")) == (
        429, LOCKED)
    assert outcome(login(app.test_client(), "nobody-here", "x", ip="203.0.113.1")) == (
        429, LOCKED)
    # From where the admin logged in before, the admin still gets in.
    assert login(app.test_client(), "admin", ADMIN_PASSWORD, ip="198.51.100.7"
                 ).status_code == 302


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


# -- reverse proxy --------------------------------------------------------------------------

def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(app):
    """Off by default: a client that sends its own X-Forwarded-For cannot pick a new
    address for each guess."""
    client = app.test_client()
    for i in range(login_guard.MAX_USER_FAILURES):
        login(client, "admin", f"wrong-{i}", ip="192.0.2.10",
              headers={"X-Forwarded-For": f"203.0.113.{i}"})
    assert {row.ip for row in LoginFailure.select()} == {"192.0.2.10"}
    resp = login(client, "admin", ADMIN_PASSWORD, ip="192.0.2.10",
                 headers={"X-Forwarded-For": "203.0.113.99"})
    assert outcome(resp) == (429, LOCKED)


def test_trusted_proxy_gives_the_client_address(monkeypatch, settings, app):
    monkeypatch.setenv("VOXCAST_TRUSTED_PROXIES", "1")
    from webui import create_app
    proxied = create_app(settings, {"TESTING": True})
    proxy = "10.0.0.2"  # every request comes from the proxy's address
    attacker, owner = proxied.test_client(), proxied.test_client()
    for i in range(login_guard.MAX_USER_FAILURES):
        # The proxy appends the address it saw; what the client sent before it is ignored.
        login(attacker, "admin", f"wrong-{i}", ip=proxy,
              headers={"X-Forwarded-For": f"198.18.0.{i}, 192.0.2.66"})
    assert {row.ip for row in LoginFailure.select()} == {"192.0.2.66"}
    assert outcome(login(attacker, "admin", ADMIN_PASSWORD, ip=proxy,
                         headers={"X-Forwarded-For": "192.0.2.66"}))[0] == 429
    https = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    # The request counts as HTTPS (X-Forwarded-Proto): Flask-WTF then wants a Referer.
    assert login(owner, "admin", ADMIN_PASSWORD, ip=proxy, headers=https).status_code == 400
    resp = login(owner, "admin", ADMIN_PASSWORD, ip=proxy,
                 headers=https | {"Referer": "https://localhost/login"})
    assert resp.status_code == 302
    assert TenantLog.select().count() == 1  # the lock (user.locked)
    assert TenantLog.get().ip == "192.0.2.66"


@pytest.mark.parametrize("value", ["x", "-1", "99"])
def test_a_bad_trusted_proxies_setting_stops_the_start(monkeypatch, settings, value):
    monkeypatch.setenv("VOXCAST_TRUSTED_PROXIES", value)
    from webui import create_app
    with pytest.raises(ValueError, match="VOXCAST_TRUSTED_PROXIES"):
        create_app(settings, {"TESTING": True})
