"""Webhooks without a network: the signature (a fixed vector), the retry schedule, event
filters, who receives what (emit), the outbox's claim and outcomes, the endpoint service's
refusals, the API (a tenant sees only its own endpoints) and the pages."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest

from models import Tenant, User
from models.entities import WebhookDelivery, WebhookEndpoint, utcnow
from voxcast.webhooks import endpoints, events, outbox, signing
from voxcast.webhooks.retry import Schedule
from tests.unit.api_support import Api, admin_api, tenant_key  # noqa: F401

from .conftest import ADMIN_PASSWORD

SECRET = "whsec_test"
BODY = '{"event":"webhook.test","id":"evt_1"}'


# -- signing --------------------------------------------------------------------------------

def test_given_a_known_secret_timestamp_and_body_then_the_signature_is_the_known_vector():
    expected = hmac.new(b"whsec_test", b"1700000000." + BODY.encode(), hashlib.sha256).hexdigest()
    assert signing.sign(SECRET, 1700000000, BODY) == "sha256=" + expected
    # the vector itself, so a receiver in another language can check its implementation
    assert signing.sign("secret", 1, "{}") == (
        "sha256=" + hmac.new(b"secret", b"1.{}", hashlib.sha256).hexdigest())
    assert signing.sign("secret", 1, "{}") == (
        "sha256=1122767b193110cfec322b6f199b599edbf608ed087f2d27afb0b97d99523908")


def test_given_a_signature_when_body_timestamp_or_secret_change_then_verify_refuses():
    sig = signing.sign(SECRET, 1700000000, BODY)
    assert signing.verify(SECRET, "1700000000", BODY, sig, now=1700000010)
    assert not signing.verify(SECRET, "1700000000", BODY + " ", sig, now=1700000010)
    assert not signing.verify(SECRET, "1700000001", BODY, sig, now=1700000010)
    assert not signing.verify("whsec_other", "1700000000", BODY, sig, now=1700000010)
    assert not signing.verify(SECRET, "1700000000", BODY, sig, now=1700000000 + 301)  # replay
    assert signing.verify(SECRET, "1700000000", BODY, sig, tolerance_s=None, now=0)
    assert not signing.verify(SECRET, "soon", BODY, sig)


def test_given_an_attempt_then_its_headers_carry_event_id_timestamp_and_signature():
    h = signing.headers(SECRET, event="call.ended", event_id="evt_9", body=BODY, timestamp=42)
    assert h["X-Voxcast-Event"] == "call.ended" and h["X-Voxcast-Delivery"] == "evt_9"
    assert h["X-Voxcast-Timestamp"] == "42"
    assert h["X-Voxcast-Signature"] == signing.sign(SECRET, 42, BODY)


# -- retry ----------------------------------------------------------------------------------

def test_given_the_default_schedule_then_delays_double_from_10_s_up_to_an_hour():
    s = Schedule()
    assert [s.delay(n) for n in range(1, 11)] == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert s.delay(15) == 3600 and s.delay(0) == 0
    assert len(s.delays()) == s.max_attempts - 1


def test_given_the_last_attempt_failed_then_there_is_no_next_attempt():
    s = Schedule(base_s=1, cap_s=4, max_attempts=3)
    now = dt.datetime(2026, 12, 2, 12, 0, 0)
    assert s.next_attempt(1, now) == now + dt.timedelta(seconds=1)
    assert s.next_attempt(2, now) == now + dt.timedelta(seconds=2)
    assert s.next_attempt(3, now) is None


# -- filters and emission -------------------------------------------------------------------

@pytest.mark.parametrize("patterns,event,expected", [
    ("*", "call.ended", True), ("call.ended", "call.ended", True),
    ("campaign.*", "campaign.paused", True), ("campaign.*", "call.ended", False),
    ("tenant.created payment.received", "payment.received", True),
    ("tenant.created", "tenant.updated", False), ("", "call.ended", False),
    ("call.*", "callx.ended", False),
])
def test_given_an_endpoint_filter_then_wants_matches_names_and_prefixes(patterns, event, expected):
    assert events.wants(patterns, event) is expected


def _tenant(slug):
    return Tenant.create(name=slug, slug=slug)


def test_given_provider_and_tenant_endpoints_when_events_are_emitted_then_each_gets_its_own(db):
    a, b = _tenant("ta"), _tenant("tb")
    provider = endpoints.create(tenant_id=None, url="https://p.example.com/h").endpoint
    ea = endpoints.create(tenant_id=a.id, url="https://a.example.com/h").endpoint
    eb = endpoints.create(tenant_id=b.id, url="https://b.example.com/h",
                          events_value="campaign.*").endpoint
    assert events.emit("payment.received", a.id, {"x": 1}) == 2
    assert events.emit("payment.received", b.id, {"x": 2}) == 1  # b wants campaigns only
    assert events.emit("campaign.paused", b.id, {"x": 3}) == 2
    assert events.emit("tenant.terminated", a.id, {}, provider_only=True) == 1
    got = {(d.endpoint_id, d.event, json.loads(d.payload)["tenant_id"])
           for d in WebhookDelivery.select()}
    assert got == {(provider.id, "payment.received", a.id), (ea.id, "payment.received", a.id),
                   (provider.id, "payment.received", b.id), (provider.id, "campaign.paused", b.id),
                   (eb.id, "campaign.paused", b.id), (provider.id, "tenant.terminated", a.id)}
    # many at once: the same receivers
    WebhookDelivery.delete().execute()
    assert events.emit_many("call.ended", [(a.id, {}), (b.id, {})]) == 3
    assert {(d.endpoint_id, d.tenant_id) for d in WebhookDelivery.select()} == {
        (provider.id, a.id), (ea.id, a.id), (provider.id, b.id)}
    with pytest.raises(ValueError):
        events.emit("no.such", a.id, {})


def test_given_no_endpoint_then_emit_writes_nothing_and_the_gate_says_so(db):
    events.endpoints_exist.forget()
    assert events.endpoints_exist() is False
    assert events.emit("call.ended", None, {}) == 0
    endpoints.create(tenant_id=None, url="https://p.example.com/h")
    assert events.endpoints_exist() is True  # create() made this process read again


def test_given_service_changes_then_tenant_payment_and_campaign_events_are_queued(db):
    from models import Campaign
    from voxcast.billing import ledger
    from voxcast.campaigns import lifecycle
    from voxcast.tenants import services
    endpoints.create(tenant_id=None, url="https://p.example.com/h")
    t = _tenant("acme")
    services.suspend(t)
    services.enable(t)
    services.enable(t)  # already active: no second unsuspended
    ledger.credit(t.id, "10.00", "payment", "inv-1")
    ledger.credit(t.id, "1.00", "refund", "r")  # not a payment
    c = Campaign.create(tenant=t, name="C")
    lifecycle.mark_running(c)
    lifecycle.pause_by_user(c)
    lifecycle.stop(c)
    names = [d.event for d in WebhookDelivery.select().order_by(WebhookDelivery.id)]
    assert names == ["tenant.suspended", "tenant.unsuspended", "payment.received",
                     "campaign.started", "campaign.paused", "campaign.stopped"]
    pay = json.loads(WebhookDelivery.get(WebhookDelivery.event == "payment.received").payload)
    assert pay["data"]["amount"] == "10.0000" and pay["data"]["reference"] == "inv-1"


def test_given_a_tenant_is_deleted_then_the_provider_still_gets_tenant_terminated(db, tmp_path):
    from voxcast.tenants import services
    t = _tenant("gone")
    provider = endpoints.create(tenant_id=None, url="https://p.example.com/h").endpoint
    endpoints.create(tenant_id=t.id, url="https://t.example.com/h")
    services.force_delete(t, "gone", tmp_path)
    rows = list(WebhookDelivery.select())
    assert [(r.endpoint_id, r.event) for r in rows] == [(provider.id, "tenant.terminated")]
    assert json.loads(rows[0].payload)["data"]["slug"] == "gone"
    assert WebhookEndpoint.select().where(WebhookEndpoint.tenant.is_null(False)).count() == 0


# -- the outbox -----------------------------------------------------------------------------

def test_given_a_due_delivery_when_claimed_twice_then_only_one_claim_gets_it(db):
    endpoints.create(tenant_id=None, url="https://p.example.com/h")
    events.emit("webhook.test", None, {})
    first = outbox.claim(10)
    assert len(first) == 1 and first[0].attempt == 1
    assert outbox.claim(10) == []  # leased
    later = utcnow() + dt.timedelta(seconds=outbox.LEASE_S + 1)
    again = outbox.claim(10, now=later)  # the sender died: the lease ran out
    assert len(again) == 1 and again[0].attempt == 2


def test_given_attempts_then_2xx_delivers_others_retry_and_the_last_fails(db):
    endpoints.create(tenant_id=None, url="https://p.example.com/h")
    events.emit("webhook.test", None, {})
    schedule = Schedule(base_s=10, cap_s=3600, max_attempts=2)
    job = outbox.claim(1)[0]
    now = utcnow()
    assert outbox.finish(job, 500, "HTTP 500", schedule, now=now) == "pending"
    row = WebhookDelivery.get()
    assert (row.attempts, row.last_status, row.next_attempt_at) == (
        1, 500, now + dt.timedelta(seconds=10))
    job = outbox.claim(1, now=now + dt.timedelta(seconds=10))[0]
    assert outbox.finish(job, None, "refused", schedule) == "failed"
    assert WebhookDelivery.get().state == "failed"
    assert outbox.claim(1, now=now + dt.timedelta(days=1)) == []
    events.emit("webhook.test", None, {})
    job = outbox.claim(1)[0]
    assert outbox.finish(job, 204, "", schedule) == "delivered"
    delivered = WebhookDelivery.get(WebhookDelivery.state == "delivered")
    assert delivered.delivered_at is not None and delivered.last_status == 204
    # a late second outcome for a delivered row changes nothing
    assert outbox.finish(job, 500, "late", schedule)
    assert WebhookDelivery.get_by_id(delivered.id).state == "delivered"


def test_given_a_paused_endpoint_then_its_deliveries_wait(db):
    e = endpoints.create(tenant_id=None, url="https://p.example.com/h").endpoint
    events.emit("webhook.test", None, {})
    endpoints.update(e, {"active": False})
    assert outbox.claim(10) == []
    endpoints.update(e, {"active": True})
    assert len(outbox.claim(10)) == 1


# -- the service ----------------------------------------------------------------------------

@pytest.mark.parametrize("url,tenant,reason", [
    ("ftp://x.example.com/", None, "must start with http"),
    ("https://", None, "needs a host"),
    ("https://user:pw@x.example.com/", None, "user name"),
    ("", None, "required"),
    ("http://127.0.0.1:8000/h", 1, "public address"),
    ("http://10.1.2.3/h", 1, "public address"),
    ("http://localhost/h", 1, "public address"),
    ("https://x.example.com:99999/", None, "not a valid URL"),
])
def test_given_a_bad_url_then_create_refuses_it(db, monkeypatch, url, tenant, reason):
    monkeypatch.delenv(endpoints.ALLOW_PRIVATE_ENV, raising=False)
    with pytest.raises(endpoints.WebhookError) as err:
        endpoints.create(tenant_id=tenant, url=url)
    assert reason in err.value.errors["url"]


def test_given_the_provider_then_a_loopback_url_is_allowed_and_events_are_checked(db):
    created = endpoints.create(tenant_id=None, url="http://127.0.0.1:9/h",
                               events_value=["campaign.*", "call.ended", "call.ended"])
    assert created.secret.startswith("whsec_") and created.endpoint.secret == created.secret
    assert created.endpoint.events == "campaign.* call.ended"
    with pytest.raises(endpoints.WebhookError) as err:
        endpoints.create(tenant_id=None, url="https://x.example.com", events_value=["nope.*"])
    assert "events" in err.value.errors
    old = created.endpoint.secret
    assert endpoints.rotate_secret(created.endpoint) != old


# -- the API --------------------------------------------------------------------------------

def test_given_two_tenants_then_each_key_sees_and_changes_only_its_own_endpoints(
        app, client, tenant_key, admin_api):
    a, a_secret = tenant_key("acme")
    b, b_secret = tenant_key("beta")
    api_a, api_b = Api(client, a_secret), Api(client, b_secret)
    made = api_a.post("/api/v1/webhooks", json={"url": "https://a.example.com/h",
                                                 "events": ["call.ended"]})
    assert made.status_code == 201, made.get_json()
    hook = made.get_json()
    assert hook["secret"].startswith("whsec_") and hook["tenant_id"] == a.id
    assert "secret" not in api_a.get(f"/api/v1/webhooks/{hook['id']}").get_json()
    assert api_b.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert api_b.patch(f"/api/v1/webhooks/{hook['id']}", json={"active": False}).status_code == 404
    assert api_b.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert api_b.post(f"/api/v1/webhooks/{hook['id']}/test").status_code == 404
    assert api_b.get(f"/api/v1/webhooks/{hook['id']}/deliveries").status_code == 404
    assert api_b.get("/api/v1/webhooks").get_json()["total"] == 0
    assert api_b.post("/api/v1/webhooks", json={"url": "https://b.example.com/h",
                                                 "tenant_id": a.id}).status_code == 422
    # the provider sees both tenants' and its own
    admin_api.post("/api/v1/webhooks", json={"url": "https://p.example.com/h"})
    assert admin_api.get("/api/v1/webhooks").get_json()["total"] == 2
    assert admin_api.get(f"/api/v1/webhooks?tenant_id={a.id}").get_json()["total"] == 1

    test = api_a.post(f"/api/v1/webhooks/{hook['id']}/test")
    assert test.status_code == 202 and test.get_json()["event"] == "webhook.test"
    page = api_a.get(f"/api/v1/webhooks/{hook['id']}/deliveries").get_json()
    assert page["total"] == 1 and page["items"][0]["state"] == "pending"
    one = api_a.get(f"/api/v1/webhooks/{hook['id']}/deliveries/{page['items'][0]['id']}")
    assert one.get_json()["payload"]["event"] == "webhook.test"
    rotated = api_a.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret").get_json()
    assert rotated["secret"] != hook["secret"]
    bad = api_a.patch(f"/api/v1/webhooks/{hook['id']}", json={"url": "gopher://x"})
    assert bad.status_code == 422 and "url" in bad.get_json()["error"]["fields"]
    assert api_a.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
    assert WebhookDelivery.select().count() == 0


# -- the pages ------------------------------------------------------------------------------

def _nav(html: str) -> str:
    return html[html.index("<nav"):html.index("</nav>")]


def test_given_a_tenant_admin_when_adding_a_webhook_in_the_portal_then_the_secret_shows_once(
        make_tenant, auth, client):
    tenant, user = make_tenant("acme")
    auth.login(user.username, f"pw-{user.username}")
    nav = _nav(client.get("/", follow_redirects=True).get_data(as_text=True))
    assert 'href="/webhooks/"' in nav and "/admin/webhooks/" not in nav
    page = auth.post("/webhooks/", {"url": "https://crm.example.com/in",
                                     "events": ["campaign.*", "payment.received"],
                                     "description": "CRM"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = WebhookEndpoint.get(WebhookEndpoint.tenant == tenant.id)
    assert row.secret in html and row.events == "campaign.* payment.received"
    detail = client.get(f"/webhooks/{row.id}").get_data(as_text=True)
    assert row.secret not in detail
    rotated = auth.post(f"/webhooks/{row.id}/rotate").get_data(as_text=True)
    assert WebhookEndpoint.get_by_id(row.id).secret in rotated
    assert auth.post(f"/webhooks/{row.id}/test").status_code == 302
    assert "webhook.test" in client.get(f"/webhooks/{row.id}").get_data(as_text=True)
    bad = auth.post("/webhooks/", {"url": "ftp://x", "events": ["*"]})
    assert bad.status_code == 400 and "http://" in bad.get_data(as_text=True)
    assert client.post(f"/webhooks/{row.id}/delete").status_code == 400  # no CSRF token
    assert auth.post(f"/webhooks/{row.id}/delete").status_code == 302
    assert WebhookEndpoint.select().count() == 0


def test_given_users_who_are_not_the_tenant_admin_then_the_webhook_pages_are_refused(
        make_tenant, auth, client):
    _, user = make_tenant("acme", role="user")
    auth.login(user.username, f"pw-{user.username}")
    assert client.get("/webhooks/").status_code == 403
    assert client.get("/admin/webhooks/").status_code == 403
    assert 'href="/webhooks/"' not in _nav(client.get("/", follow_redirects=True).get_data(as_text=True))


def test_given_the_provider_admin_then_the_nav_links_the_provider_webhooks(auth, client,
                                                                           make_tenant):
    tenant, _ = make_tenant("acme")
    endpoints.create(tenant_id=tenant.id, url="https://acme.example.com/h")
    auth.login("admin", ADMIN_PASSWORD)
    nav = _nav(client.get("/", follow_redirects=True).get_data(as_text=True))
    assert 'href="/admin/webhooks/"' in nav
    bare = client.get("/admin/webhooks", follow_redirects=True)
    assert bare.status_code == 200 and bare.request.path == "/admin/webhooks/"
    html = bare.get_data(as_text=True)
    assert "acme.example.com" in html  # the tenants' endpoints are listed
    page = auth.post("/admin/webhooks/", {"url": "http://127.0.0.1:9/h", "events": ["*"]})
    assert page.status_code == 200
    assert WebhookEndpoint.get(WebhookEndpoint.tenant.is_null()).secret in page.get_data(as_text=True)
