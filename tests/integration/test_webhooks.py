"""Signed webhooks end to end: events made by the real services (tenants, the ledger, the
campaign lifecycle, the API's test button through the real web server) are posted by
`voxcast webhooks` as its own process to a real aiohttp receiver on 127.0.0.1, which checks
every signature (HMAC-SHA256 over timestamp and body) with the endpoint's secret. Retries
follow the schedule (shortened for the test: 1 s, 2 s, given up after 4 attempts)."""
from __future__ import annotations

import json
import os
import urllib.request

import pytest

from models import SystemStatus, Tenant, User
from models.entities import WebhookDelivery, WebhookEndpoint
from voxcast.accounts import api_keys
from voxcast.billing import ledger
from voxcast.tenants import services as tenant_services
from voxcast.webhooks import endpoints, events

from .conftest import wait_for
from .webhook_support import Receiver, WebhooksProcess


@pytest.fixture(scope="module")
def clean(db):
    WebhookEndpoint.delete().execute()  # deliveries go with them
    yield
    WebhookEndpoint.delete().execute()


@pytest.fixture(scope="module")
def receiver(clean):
    peer = Receiver().start()
    yield peer
    peer.close()


@pytest.fixture(scope="module")
def sender(settings, artifacts, clean):
    SystemStatus.delete().where(SystemStatus.key == "webhooks").execute()
    proc = WebhooksProcess(settings.instance, artifacts)
    proc.start()
    wait_for(lambda: (SystemStatus.get_or_none(SystemStatus.key == "webhooks") or
                      SystemStatus(value="")).value.startswith("running"), 30,
             message="voxcast webhooks running")
    yield proc
    proc.stop()
    row = SystemStatus.get_or_none(SystemStatus.key == "webhooks")
    assert row is not None and row.value == "down", proc.log_tail()


@pytest.fixture
def allow_loopback(monkeypatch):
    """Tenants' endpoints may point at 127.0.0.1 here (the receiver)."""
    monkeypatch.setenv(endpoints.ALLOW_PRIVATE_ENV, "1")


_seq = iter(range(1, 10_000))


def _tenant(prefix: str) -> Tenant:
    n = next(_seq)
    return Tenant.create(name=f"{prefix}-hooks-{n}-{os.getpid()}", slug=f"{prefix}hk{n}{os.getpid()}")


def _body(r) -> dict:
    return json.loads(r.body)


def _delivery(event_id: str, endpoint_id: int) -> WebhookDelivery:
    return WebhookDelivery.get(WebhookDelivery.event_id == event_id,
                               WebhookDelivery.endpoint == endpoint_id)


def test_given_tenant_and_provider_endpoints_when_both_tenants_have_events_then_each_tenant_gets_only_its_own_and_the_provider_both(
        receiver, sender, allow_loopback):
    a, b = _tenant("a"), _tenant("b")
    provider = endpoints.create(tenant_id=None, url=receiver.url("/iso/provider"))
    mine_a = endpoints.create(tenant_id=a.id, url=receiver.url("/iso/a"))
    mine_b = endpoints.create(tenant_id=b.id, url=receiver.url("/iso/b"))

    ledger.credit(a.id, "12.50", "payment", "invoice A-1")
    ledger.credit(b.id, "7.00", "topup", "invoice B-1")
    tenant_services.suspend(a)

    wait_for(lambda: len(receiver.at("/iso/provider")) >= 3, 20, message="provider's 3 events")
    wait_for(lambda: len(receiver.at("/iso/a")) >= 2 and receiver.at("/iso/b"), 20,
             message="the tenants' events")
    got_a, got_b = receiver.at("/iso/a"), receiver.at("/iso/b")
    assert sorted(_body(r)["event"] for r in got_a) == ["payment.received", "tenant.suspended"]
    assert [_body(r)["event"] for r in got_b] == ["payment.received"]
    assert {_body(r)["tenant_id"] for r in got_a} == {a.id}
    assert {_body(r)["tenant_id"] for r in got_b} == {b.id}
    assert all(r.signed_by(mine_a.secret) and not r.signed_by(mine_b.secret) for r in got_a)
    assert all(r.signed_by(mine_b.secret) for r in got_b)
    seen = receiver.at("/iso/provider")
    assert all(r.signed_by(provider.secret) for r in seen)
    assert {(_body(r)["tenant_id"], _body(r)["event"]) for r in seen} == {
        (a.id, "payment.received"), (b.id, "payment.received"), (a.id, "tenant.suspended")}
    pay = next(_body(r) for r in got_b)
    assert pay["data"]["amount"] == "7.0000" and pay["data"]["kind"] == "topup"
    assert pay["data"]["reference"] == "invoice B-1"
    first = got_a[0]
    assert first.headers["X-Voxcast-Event"] == _body(first)["event"]
    assert first.headers["X-Voxcast-Delivery"] == _body(first)["id"]
    assert first.headers["Content-Type"] == "application/json"
    wait_for(lambda: WebhookDelivery.select().where(WebhookDelivery.state == "pending").count() == 0,
             10, message="every delivery recorded")
    assert {d.state for d in WebhookDelivery.select()} == {"delivered"}


def test_given_a_receiver_answering_500_then_200_then_the_event_comes_again_after_the_backoff_and_is_delivered_once(
        receiver, sender):
    hook = endpoints.create(tenant_id=None, url=receiver.url("/flaky"), events_value="balance.low")
    receiver.plans["/flaky"] = [500]
    t = _tenant("low")
    tenant = Tenant.get_by_id(t.id)
    tenant_services_threshold = ledger.credit(t.id, "1.00", "payment", "seed")  # noqa: F841
    from voxcast.billing import notify
    notify.set_threshold(tenant, "5.00")  # 1.00 < 5.00: balance.low

    wait_for(lambda: len(receiver.at("/flaky")) >= 2, 20, message="the retry")
    first, second = receiver.at("/flaky")[:2]
    assert (first.status, second.status) == (500, 200)
    assert first.event_id == second.event_id and first.body == second.body
    assert second.at - first.at >= 0.9  # the schedule's first delay (1 s here)
    assert first.signed_by(hook.secret) and second.signed_by(hook.secret)
    assert _body(first)["event"] == "balance.low"
    assert _body(first)["data"]["threshold"] == "5.0000"
    wait_for(lambda: _delivery(first.event_id, hook.endpoint.id).state == "delivered", 10,
             message="delivered")
    row = _delivery(first.event_id, hook.endpoint.id)
    assert (row.attempts, row.last_status, row.last_error) == (2, 200, "")
    import time
    time.sleep(3)  # longer than the next delay would be: nothing more comes
    assert len(receiver.at("/flaky")) == 2


def test_given_a_receiver_that_is_down_then_up_then_the_event_is_retried_until_it_arrives_once(
        sender, clean):
    down = Receiver()  # a port with nothing listening yet
    try:
        hook = endpoints.create(tenant_id=None, url=down.url("/later"), events_value="campaign.*")
        from models import Campaign
        from voxcast.campaigns import lifecycle
        t = _tenant("camp")
        campaign = Campaign.create(tenant=t, name="Spring offer")
        lifecycle.mark_running(campaign)
        # its start, not a pause a running Stasis app may add at once (the tenant has no balance)
        event_id = WebhookDelivery.get(WebhookDelivery.endpoint == hook.endpoint.id,
                                       WebhookDelivery.event == "campaign.started").event_id
        wait_for(lambda: _delivery(event_id, hook.endpoint.id).attempts >= 2, 20,
                 message="two failed attempts")
        row = _delivery(event_id, hook.endpoint.id)
        assert row.state == "pending" and row.last_status is None and row.last_error
        down.start()
        wait_for(lambda: _delivery(event_id, hook.endpoint.id).state == "delivered", 20,
                 message="delivered once the receiver is up")
        got = [r for r in down.at("/later") if r.event_id == event_id]
        assert len(got) == 1 and got[0].signed_by(hook.secret)
        data = _body(got[0])["data"]
        assert (data["campaign_id"], data["status"], data["name"]) == (
            campaign.id, "running", "Spring offer")
    finally:
        down.close()


def test_given_a_receiver_that_never_answers_2xx_then_the_delivery_is_given_up_after_the_last_attempt(
        receiver, sender):
    hook = endpoints.create(tenant_id=None, url=receiver.url("/broken"),
                            events_value="payment.received")
    receiver.plans["/broken"] = [503] * 10
    t = _tenant("pay")
    ledger.credit(t.id, "3.00", "payment", "never")
    wait_for(lambda: WebhookDelivery.select().where(
        WebhookDelivery.endpoint == hook.endpoint.id, WebhookDelivery.state == "failed").exists(),
        30, message="given up")
    row = WebhookDelivery.get(WebhookDelivery.endpoint == hook.endpoint.id)
    assert (row.attempts, row.last_status) == (4, 503)
    assert len(receiver.at("/broken")) == 4


def test_given_the_sender_is_killed_mid_post_then_the_restarted_sender_posts_it_again_and_never_a_delivered_one(
        receiver, sender, settings, artifacts):
    hook = endpoints.create(tenant_id=None, url=receiver.url("/restart"),
                            events_value="tenant.updated")
    t = _tenant("rs")
    tenant_services.set_features(Tenant.get_by_id(t.id), ["sms"])
    wait_for(lambda: receiver.at("/restart"), 10, message="the first event")
    first_id = receiver.at("/restart")[0].event_id
    wait_for(lambda: _delivery(first_id, hook.endpoint.id).state == "delivered", 10,
             message="the first delivered")

    receiver.delays["/restart"] = 2.0  # the next answer comes after the kill
    tenant_services.set_features(Tenant.get_by_id(t.id), ["sms", "fax"])
    wait_for(lambda: len(receiver.at("/restart")) >= 1 and WebhookDelivery.select().where(
        WebhookDelivery.endpoint == hook.endpoint.id, WebhookDelivery.attempts == 1,
        WebhookDelivery.state == "pending").exists(), 10, message="the second claimed")
    sender.kill()
    receiver.delays.pop("/restart")
    second = WebhookDelivery.get(WebhookDelivery.endpoint == hook.endpoint.id,
                                 WebhookDelivery.event_id != first_id)
    assert second.state == "pending"  # its answer was never read
    sender.start()  # the same process again; the lease (8 s here) runs out, it is retried
    wait_for(lambda: _delivery(second.event_id, hook.endpoint.id).state == "delivered", 30,
             message="the second delivered after the restart")
    ids = [r.event_id for r in receiver.at("/restart")]
    assert ids.count(first_id) == 1  # a delivered event is never posted again
    assert ids.count(second.event_id) in (1, 2)  # at least once (twice if the kill came late)
    assert _delivery(second.event_id, hook.endpoint.id).attempts == 2


def test_given_the_provider_key_when_it_adds_an_endpoint_and_sends_a_test_through_the_api_then_the_test_event_arrives_signed_with_the_secret_shown(
        receiver, sender, web):
    admin = User.get(User.username == "admin")
    _, key = api_keys.create(tenant_id=None, user=admin, name="webhook test")

    def call(method: str, path: str, body: dict | None = None):
        req = urllib.request.Request(
            f"http://127.0.0.1:{web.settings.web_port}/api/v1{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")

    status, hook = call("POST", "/webhooks", {"url": receiver.url("/api-test"),
                                              "events": ["tenant.*"], "description": "ops"})
    assert status == 201 and hook["secret"].startswith("whsec_")
    status, queued = call("POST", f"/webhooks/{hook['id']}/test")
    assert status == 202
    wait_for(lambda: receiver.at("/api-test"), 15, message="the test event")
    got = receiver.at("/api-test")[0]
    assert got.signed_by(hook["secret"]) and _body(got)["event"] == "webhook.test"
    wait_for(lambda: call("GET", f"/webhooks/{hook['id']}/deliveries")[1]["items"][0]["state"]
             == "delivered", 10, message="the API shows it delivered")
    _, page = call("GET", f"/webhooks/{hook['id']}/deliveries")
    assert page["items"][0]["attempts"] == 1 and page["items"][0]["last_status"] == 200
    status, _ = call("DELETE", f"/webhooks/{hook['id']}")
    assert status == 204


def test_given_no_endpoint_then_events_queue_nothing(clean):
    WebhookEndpoint.delete().execute()
    t = _tenant("quiet")
    ledger.credit(t.id, "1.00", "payment", "x")
    events.endpoints_exist.forget()
    assert events.endpoints_exist() is False
    assert WebhookDelivery.select().count() == 0


def test_given_a_tenant_endpoint_when_a_campaign_calls_through_asterisk_then_it_gets_started_call_ended_per_call_and_completed(
        receiver, sender, stasis_app, settings, master, workdir, allow_loopback):
    import time

    from models import Call
    from voxcast.campaigns import services as campaign_service

    from .factories import make_campaign, reload, unique_phones
    from .sipp import Sipp

    hook = endpoints.create(tenant_id=master.id, url=receiver.url("/calls"),
                            events_value="campaign.* call.ended")
    time.sleep(events.CACHE_S + 0.5)  # the Stasis app's cached "any endpoint?" sees it
    phones = unique_phones(2)
    campaign = make_campaign(master, settings, phones, channel_limit=2)
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=2).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    wait_for(lambda: len(receiver.at("/calls")) >= 4, 20, message="4 events")
    got = receiver.at("/calls")
    assert all(r.signed_by(hook.secret) for r in got)
    names = [_body(r)["event"] for r in got]
    assert names[0] == "campaign.started" and names[-1] == "campaign.completed", names
    assert sorted(names[1:-1]) == ["call.ended", "call.ended"]
    calls = {c.id: c for c in Call.select().where(Call.campaign == campaign)}
    for r in got[1:-1]:
        data = _body(r)["data"]
        call = calls[data["call_id"]]
        assert data["number"] == call.number and data["disposition"] == "ANSWERED"
        assert data["billsec"] == call.billsec and data["campaign_id"] == campaign.id
        assert _body(r)["tenant_id"] == master.id
