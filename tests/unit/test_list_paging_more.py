"""The lists paged and searched since issue 17's last gaps: the provider's rate plans and
packages, the tenant's queues (another tenant's never listed). Same checks as
test_list_paging: a link to page 2 and back, ?q= narrows, no match says so."""
from __future__ import annotations

from models import Did, Extension, RatePlan
from models.entities import Package, Queue, SipBan

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
