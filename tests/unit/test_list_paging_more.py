"""The lists paged and searched since issue 17's last gaps: the provider's rate plans and
packages, the tenant's queues, API keys, webhooks, pause reasons and dispositions (another
tenant's never listed). Same checks as
test_list_paging: a link to page 2 and back, ?q= narrows, no match says so."""
from __future__ import annotations

import re

from models import ApiKey, Did, Extension, RatePlan
from models.entities import (AgentDisposition, Package, PauseReason, Queue, SipBan,
                             WebhookEndpoint)

from .conftest import ADMIN_PASSWORD
from .test_list_paging import N, _check, _rows


def test_given_many_rate_plans_then_the_list_pages_and_searches(client, auth):
    _rows(RatePlan, lambda i: {"name": f"Plan {i:03d}"})
    auth.login("admin", ADMIN_PASSWORD)
    _check(client, "/admin/billing/plans", "Plan 042", "Plan 043")


def test_given_many_packages_then_the_list_pages_and_searches(client, auth):
    _rows(Package, lambda i: {"name": f"Package {i:03d}"})
    auth.login("admin", ADMIN_PASSWORD)
    _check(client, "/admin/packages/", "Package 042", "Package 043")


def test_given_many_queues_then_the_list_pages_and_searches_the_tenants_own(client, auth,
                                                                            make_tenant):
    tenant, user = make_tenant("acme")
    other, _ = make_tenant("rival")
    _rows(Queue, lambda i: {"tenant": tenant.id, "name": f"Queue {i:03d}"})
    Queue.create(tenant=other, name="Queue 042 rival")
    auth.login(user.username, f"pw-{user.username}")
    _check(client, "/queues/", "Queue 042", "Queue 043")
    assert "rival" not in client.get("/queues/?q=042").get_data(as_text=True)


def test_given_a_tenant_with_many_numbers_then_the_admin_pages_and_searches_its_own(
        client, auth, make_tenant):
    tenant, _user = make_tenant("acme")
    other, _ = make_tenant("rival")
    _rows(Extension, lambda i: {"tenant": tenant.id, "number": f"73{i:03d}", "secret": "s"})
    _rows(Did, lambda i: {"tenant": tenant.id, "number": f"1555222{i:04d}"})
    Extension.create(tenant=other, number="99042", secret="s")
    Did.create(tenant=other, number="15559990042")
    auth.login("admin", ADMIN_PASSWORD)
    _check(client, f"/admin/tenants/{tenant.id}/extensions", "73042", "73043")
    _check(client, f"/admin/tenants/{tenant.id}/dids", "15552220042", "15552220043")
    assert "99042" not in client.get(f"/admin/tenants/{tenant.id}/extensions?q=042").get_data(
        as_text=True)
    assert "15559990042" not in client.get(f"/admin/tenants/{tenant.id}/dids?q=0042").get_data(
        as_text=True)


def test_given_many_failed_sip_addresses_then_the_list_pages_and_searches(client, auth):
    _rows(SipBan, lambda i: {"address": f"203.0.113.{i}", "failures": 1})
    auth.login("admin", ADMIN_PASSWORD)
    _check(client, "/admin/sip-security", "203.0.113.42", "203.0.113.43")


def test_given_many_api_keys_then_the_tenants_list_pages_and_searches_its_own(client, auth,
                                                                              make_tenant):
    tenant, user = make_tenant("acme", role="tenant")
    other, _ = make_tenant("rival")
    _rows(ApiKey, lambda i: {"tenant": tenant.id, "name": f"Key {i:03d}", "prefix": f"vx{i:03d}",
                             "key_hash": "x"})
    ApiKey.create(tenant=other, name="Key 042 rival", prefix="vxr", key_hash="x")
    auth.login(user.username, f"pw-{user.username}")
    _check(client, "/api-keys", "Key 042", "Key 043")
    assert "rival" not in client.get("/api-keys?q=042").get_data(as_text=True)


def test_given_many_webhooks_then_the_list_pages_and_searches_the_tenants_own(client, auth,
                                                                             make_tenant):
    tenant, user = make_tenant("acme", role="tenant")
    other, _ = make_tenant("rival")
    _rows(WebhookEndpoint, lambda i: {"tenant": tenant.id, "url": f"https://h{i:03d}.example/in",
                                      "secret": "s"})
    WebhookEndpoint.create(tenant=other, url="https://h042rival.example/in", secret="s")
    auth.login(user.username, f"pw-{user.username}")
    _check(client, "/webhooks/", "https://h042.example/in", "https://h043.example/in")
    assert "rival" not in client.get("/webhooks/?q=h042").get_data(as_text=True)


def test_given_many_tenants_webhooks_then_the_providers_second_list_pages_on_its_own(
        client, auth, make_tenant):
    tenant, _user = make_tenant("acme")
    _rows(WebhookEndpoint, lambda i: {"tenant": tenant.id, "url": f"https://t{i:03d}.example/in",
                                      "secret": "s"})
    auth.login("admin", ADMIN_PASSWORD)
    first = client.get("/admin/webhooks/").get_data(as_text=True)
    assert "https://t000.example/in" in first and "https://t050.example/in" not in first
    assert re.search(r'href="[^"]*[?&]tpage=2', first)
    second = client.get("/admin/webhooks/?tpage=2").get_data(as_text=True)
    assert "https://t050.example/in" in second and "https://t000.example/in" not in second
    hit = client.get("/admin/webhooks/?q=t077").get_data(as_text=True)
    assert "https://t077.example/in" in hit and "https://t076.example/in" not in hit


def test_given_many_pause_reasons_and_dispositions_then_both_lists_page_and_search(
        client, auth, make_tenant):
    tenant, user = make_tenant("acme", role="tenant")
    _rows(PauseReason, lambda i: {"tenant": tenant.id, "name": f"Break {i:03d}"})
    _rows(AgentDisposition, lambda i: {"tenant": tenant.id, "name": f"Outcome {i:03d}",
                                       "position": i})
    auth.login(user.username, f"pw-{user.username}")
    _check(client, "/pause-reasons/", "Break 042", "Break 043")
    _check(client, "/dispositions/", "Outcome 042", "Outcome 043")
