"""The provisioning API against the live web server (`voxcast web`, the `web` fixture) with
real HTTP: a provider key made through voxcast.accounts.api_keys provisions a tenant on a
package (the login e-mail reaches the session's SMTP peer), drives every lifecycle route,
replays every write with its Idempotency-Key (the work is done once: ledger rows, tenants,
links and log rows counted), is refused a reused key with another body; an SSO link logs a
real HTTP session into the portal once; a tenant's key gets 403 on the provider's routes and
only its own subscription and usage."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from models import Call, Tenant, TenantLog, User
from models.entities import LedgerEntry, LoginToken, Package, Subscription, utcnow
from voxcast.accounts import api_keys, idempotency

from .conftest import wait_for

_seq = itertools.count(1)


class Api:
    """requests against the live server with one API key."""

    def __init__(self, base: str, secret: str):
        self.base, self.http = base, requests.Session()
        self.http.headers["Authorization"] = f"Bearer {secret}"

    def call(self, method: str, path: str, json=None, key: str | None = None,
             **kw) -> requests.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.request(method, self.base + "/api/v1" + path, json=json,
                                 headers=headers, timeout=30, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, key=None):
        return self.call("POST", path, json, key)


@pytest.fixture(scope="module")
def base(web):
    return f"http://127.0.0.1:{web.settings.web_port}"


@pytest.fixture(scope="module")
def provider(base, db):
    key, secret = api_keys.create(tenant_id=None, user=User.get(User.username == "admin"),
                                  name=f"whmcs-{uuid.uuid4().hex[:6]}")
    api = Api(base, secret)
    api.key_id = key.id
    return api


def new_key() -> str:
    return f"whmcs-{uuid.uuid4()}"


def make_package(provider, **fields) -> dict:
    n = next(_seq)
    body = {"name": f"Pkg-{n}-{uuid.uuid4().hex[:4]}", "price": "29.00", "setup_fee": "10.00",
            "free_minutes": 60, "max_users": 10, **fields}
    r = provider.post("/packages", body, key=new_key())
    assert r.status_code == 201, r.text
    return r.json()


def provision(provider, package_id: int, **fields) -> dict:
    slug = f"prov{next(_seq)}{uuid.uuid4().hex[:4]}"
    body = {"name": f"Client {slug}", "slug": slug, "admin_username": f"{slug}-admin",
            "admin_password": "client-pass-123", "admin_email": f"{slug}@client.example",
            "package_id": package_id, "external_id": f"whmcs-{slug}", **fields}
    r = provider.post("/tenants", body, key=new_key())
    assert r.status_code == 201, r.text
    return r.json()


def mails_to(smtp_peer, address: str) -> list:
    return [m for m in smtp_peer.messages if address in str(m["To"])]


def ledger_rows(tenant_id: int) -> int:
    return LedgerEntry.select().where(LedgerEntry.tenant == tenant_id).count()


def log_rows(tenant_id: int, action: str) -> int:
    return TenantLog.select().where(TenantLog.tenant == tenant_id,
                                    TenantLog.action == action).count()


def replayed_once(provider, method: str, path: str, body=None) -> requests.Response:
    """Send a write twice with one key: the second answer is the first's, marked replayed."""
    key = new_key()
    first = provider.call(method, path, body, key)
    again = provider.call(method, path, body, key)
    assert first.status_code < 500, first.text
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    reused = provider.call(method, path, {**(body or {}), "reference": "another body"}
                           if body is not None else {"other": 1}, key)
    assert reused.status_code == 422, reused.text
    assert reused.json()["error"]["code"] == "idempotency-key-reused"
    return first


# -- provisioning and the login e-mail ------------------------------------------------------

def test_given_a_package_when_a_tenant_is_provisioned_then_subscribed_and_the_login_mailed(
        provider, smtp_peer):
    package = make_package(provider, features=["voice_message", "api", "reports"],
                           channel_limit=4)
    slug = f"acme{uuid.uuid4().hex[:6]}"
    email = f"boss-{slug}@client.example"
    body = {"name": f"Acme {slug}", "slug": slug, "admin_username": f"{slug}-boss",
            "admin_password": "acme-pass-123", "admin_email": email,
            "package_id": package["id"], "external_id": f"whmcs-{slug}"}
    key = new_key()
    tenants_before = Tenant.select().count()
    r = provider.post("/tenants", body, key=key)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["channel_limit"] == 4 and created["features"] == ["api", "reports",
                                                                    "voice_message"]
    assert created["subscription"]["package_id"] == package["id"]
    assert created["subscription"]["external_id"] == f"whmcs-{slug}"
    assert created["mail_error"] == "" and "acme-pass-123" not in r.text
    mail = wait_for(lambda: mails_to(smtp_peer, email), 10, message="the login e-mail")[0]
    text = smtp_peer.body(mail)
    assert f"{slug}-boss" in text and "acme-pass-123" in text
    assert f"http://{slug}.voxcast.test:" in text  # the tenant's own address

    again = provider.post("/tenants", body, key=key)
    assert again.status_code == 201 and again.json() == created
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Tenant.select().count() == tenants_before + 1
    assert len(mails_to(smtp_peer, email)) == 1  # not mailed twice either
    other = provider.post("/tenants", {**body, "name": "Someone else"}, key=key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency-key-reused"

    found = provider.get(f"/tenants?external_id=whmcs-{slug}").json()
    assert [t["id"] for t in found["items"]] == [created["id"]]
    assert found["items"][0]["subscription"] == created["subscription"]  # package, external id
    assert found["items"][0]["subscription"]["external_id"] == f"whmcs-{slug}"
    assert provider.get("/tenants?external_id=whmcs-nobody").json()["total"] == 0
    sub = provider.get(f"/tenants/{created['id']}/subscription").json()
    assert sub == created["subscription"]
    # set-up fee and first period recorded at 0 (the front end invoices them), minutes granted
    kinds = [e.kind for e in LedgerEntry.select().where(LedgerEntry.tenant == created["id"])]
    assert sorted(kinds) == ["free_minutes", "setup_fee", "subscription"]


def test_given_notify_activation_when_provisioned_then_a_link_is_mailed_and_nothing_secret(
        provider, smtp_peer):
    package = make_package(provider)
    slug = f"act{uuid.uuid4().hex[:6]}"
    r = provider.post("/tenants", {"name": f"Act {slug}", "slug": slug,
                                   "admin_username": f"{slug}-admin",
                                   "admin_email": f"{slug}@client.example",
                                   "package_id": package["id"], "notify": "activation"},
                      key=new_key())
    assert r.status_code == 201, r.text
    assert "activate" not in r.text
    mail = wait_for(lambda: mails_to(smtp_peer, f"{slug}@client.example"), 10)[0]
    assert "/activate/" in smtp_peer.link(mail)
    missing = provider.post("/tenants", {"name": "No pw", "slug": f"x{slug}",
                                         "admin_username": f"x{slug}-a",
                                         "admin_email": f"x{slug}@client.example"})
    assert missing.status_code == 422
    assert "admin_password" in missing.json()["error"]["fields"]


# -- every write replayed -------------------------------------------------------------------

def test_given_each_write_when_replayed_with_its_key_then_the_work_is_done_once(provider):
    basic = make_package(provider, max_users=10)
    bigger = make_package(provider, max_users=50, price="99.00")
    topup = make_package(provider, billing_model="topup", topup_amount="20.00", price="20.00")
    tenant = provision(provider, basic["id"])
    tid = tenant["id"]

    packages_before = Package.select().count()
    created = replayed_once(provider, "POST", "/packages",
                            {"name": f"Replay-{uuid.uuid4().hex[:6]}", "price": "5.00"})
    assert created.status_code == 201 and Package.select().count() == packages_before + 1
    patched = replayed_once(provider, "PATCH", f"/packages/{created.json()['id']}",
                            {"description": "Five"})
    assert patched.json()["description"] == "Five"

    r = replayed_once(provider, "POST", f"/tenants/{tid}/suspend", {"reason": "unpaid"})
    assert r.json()["status"] == "suspended"
    assert r.json()["subscription"]["suspended_reason"] == "unpaid"
    assert log_rows(tid, "subscription.suspend") == 1

    rows = ledger_rows(tid)
    period_end = Subscription.get(Subscription.tenant == tid).period_end
    r = replayed_once(provider, "POST", f"/tenants/{tid}/renew", {"reference": "INV-1001"})
    assert r.json()["status"] == "active"  # paying lifts the suspension for non-payment
    sub = Subscription.get(Subscription.tenant == tid)
    assert sub.period_start == period_end  # extended by one period, not two
    assert ledger_rows(tid) == rows + 2  # one renewal: its price row and its free minutes
    assert Tenant.get_by_id(tid).status == "active"

    replayed_once(provider, "POST", f"/tenants/{tid}/suspend", {"reason": "provider"})
    r = replayed_once(provider, "POST", f"/tenants/{tid}/unsuspend")
    assert r.json()["status"] == "active" and log_rows(tid, "subscription.unsuspend") == 1

    rows = ledger_rows(tid)
    r = replayed_once(provider, "POST", f"/tenants/{tid}/package",
                      {"package_id": bigger["id"]})
    assert r.json()["applied"] is True
    assert r.json()["subscription"]["package_id"] == bigger["id"]
    assert Tenant.get_by_id(tid).max_users == 50
    assert log_rows(tid, "subscription.package") == 1 and ledger_rows(tid) == rows + 1

    r = replayed_once(provider, "POST", f"/tenants/{tid}/password",
                      {"password": "brand-new-pass-1"})
    assert r.json()["username"] == tenant["slug"] + "-admin"
    assert log_rows(tid, "user.password_reset") == 1

    rows = ledger_rows(tid)
    r = replayed_once(provider, "POST", f"/tenants/{tid}/payments",
                      {"amount": "15.00", "reference": "TX-1"})
    assert r.status_code == 201 and r.json()["kind"] == "payment"
    assert r.json()["amount"] == "15.0000" and ledger_rows(tid) == rows + 1
    r = replayed_once(provider, "POST", f"/tenants/{tid}/topups",
                      {"package_id": topup["id"], "reference": "TX-2"})
    assert r.status_code == 201 and r.json()["kind"] == "topup"
    assert ledger_rows(tid) == rows + 2
    assert Tenant.get_by_id(tid).balance == 35
    payments = provider.get(f"/tenants/{tid}/payments").json()
    assert [(p["kind"], p["amount"]) for p in payments["items"]] == [
        ("topup", "20.0000"), ("payment", "15.0000")]

    tokens = LoginToken.select().count()
    r = replayed_once(provider, "POST", f"/tenants/{tid}/sso")
    assert "/sso/" in r.json()["url"] and LoginToken.select().count() == tokens + 1

    tenants = Tenant.select().count()
    r = replayed_once(provider, "POST", f"/tenants/{tid}/terminate")
    assert r.json() == {"id": tid, "terminated": True}
    assert Tenant.get_or_none(Tenant.id == tid) is None
    assert Tenant.select().count() == tenants - 1
    assert provider.post(f"/tenants/{tid}/terminate").status_code == 404  # without a key

    r = replayed_once(provider, "DELETE", f"/packages/{created.json()['id']}")
    assert r.status_code == 204 and Package.select().count() == packages_before


def test_given_a_write_still_running_when_sent_again_then_409_and_a_long_key_400(provider):
    package = make_package(provider)
    tenant = provision(provider, package["id"])
    body = {"amount": "5.00", "reference": "TX-9"}
    path = f"/tenants/{tenant['id']}/payments"
    key = new_key()
    rows = ledger_rows(tenant["id"])
    # the first request has claimed the key and is still working (as a slow one would)
    idempotency.claim(provider.key_id, key, "POST", "/api/v1" + path, b"",
                      json.dumps(body).encode())
    r = provider.post(path, body, key=key)
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency-in-progress"
    assert ledger_rows(tenant["id"]) == rows
    r = provider.post(path, body, key="k" * 256)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid-idempotency-key"
    assert ledger_rows(tenant["id"]) == rows


def test_given_a_downgrade_below_usage_when_asked_then_409_naming_the_limit(provider):
    big = make_package(provider, max_users=10)
    small = make_package(provider, max_users=0)
    tenant = provision(provider, big["id"])
    r = provider.post(f"/tenants/{tenant['id']}/package", {"package_id": small["id"]},
                      key=new_key())
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "downgrade-refused"
    assert "max_users" in r.json()["error"]["fields"]
    assert provider.get(f"/tenants/{tenant['id']}/subscription").json()["package_id"] == big["id"]


# -- single sign-on -------------------------------------------------------------------------

def test_given_an_sso_link_when_opened_then_the_portal_loads_logged_in_once(provider, base):
    package = make_package(provider)
    tenant = provision(provider, package["id"])
    r = provider.post(f"/tenants/{tenant['id']}/sso", key=new_key())
    assert r.status_code == 200, r.text
    link = urlsplit(r.json()["url"])
    assert link.hostname == f"{tenant['slug']}.voxcast.test" and link.path.startswith("/sso/")
    expires = dt.datetime.fromisoformat(r.json()["expires_at"].rstrip("Z"))
    assert dt.timedelta(seconds=60) < expires - utcnow() <= dt.timedelta(seconds=121)

    browser = requests.Session()
    host = {"Host": link.netloc}
    page = browser.get(base + link.path, headers=host, timeout=30)
    assert page.status_code == 200 and urlsplit(page.url).path.startswith("/dashboard")
    assert tenant["name"] in page.text and "Log out" in page.text
    again = browser.get(base + "/dashboard/", headers=host, timeout=30)
    assert again.status_code == 200 and "Log out" in again.text  # the session holds

    second = requests.Session().get(base + link.path, headers=host, timeout=30,
                                    allow_redirects=False)
    assert second.status_code == 410 and "used already" in second.text
    unknown = requests.get(base + "/sso/not-a-token", headers=host, timeout=30)
    assert unknown.status_code == 404


# -- a tenant's key -------------------------------------------------------------------------

def test_given_a_tenant_key_then_403_on_provider_routes_and_only_its_own_data(provider, base):
    package = make_package(provider, features=["voice_message", "api"])
    mine, other = provision(provider, package["id"]), provision(provider, package["id"])
    now = utcnow()
    for tenant, seconds in ((mine, [90, 30]), (other, [600])):
        for s in seconds:
            Call.create(tenant=tenant["id"], number="+12025550100", billsec=s, duration=s,
                        channel_id=f"prov-{uuid.uuid4().hex}", started_at=now,
                        disposition="ANSWERED")
    admin = User.get(User.tenant == mine["id"], User.role == "tenant")
    _, secret = api_keys.create(tenant_id=mine["id"], user=admin, name="own")
    own = Api(base, secret)

    for method, path, body in (
            ("GET", "/packages", None), ("POST", "/packages", {"name": "Mine"}),
            ("GET", f"/packages/{package['id']}", None),
            ("POST", "/tenants", {"name": "x"}), ("GET", "/tenants", None),
            ("GET", f"/tenants/{mine['id']}/subscription", None),
            ("POST", f"/tenants/{mine['id']}/renew", {}),
            ("POST", f"/tenants/{mine['id']}/payments", {"amount": "1", "reference": "x"}),
            ("POST", f"/tenants/{mine['id']}/sso", {}),
            ("GET", f"/tenants/{other['id']}/usage", None),
            ("POST", f"/tenants/{other['id']}/terminate", None)):
        r = own.call(method, path, body, key=new_key())
        assert r.status_code == 403, (method, path, r.text)
    assert Tenant.get_or_none(Tenant.id == other["id"]) is not None

    sub = own.get("/subscription").json()
    assert sub["tenant_id"] == mine["id"] and sub["id"] == mine["subscription"]["id"]
    usage = own.get("/usage").json()
    assert usage["tenant_id"] == mine["id"]
    assert (usage["calls"], usage["seconds"], usage["minutes"]) == (2, 120, 2)
    theirs = provider.get(f"/tenants/{other['id']}/usage").json()
    assert (theirs["calls"], theirs["minutes"]) == (1, 10)
    today = now.date().isoformat()
    ranged = own.get(f"/usage?from={today}&to={today}").json()
    assert ranged["calls"] == 2
    assert own.get("/usage?from=2026-13-01").status_code == 400
    assert provider.get("/subscription").status_code == 403
