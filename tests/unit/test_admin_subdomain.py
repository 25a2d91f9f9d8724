"""Sub-domain login: <slug>.<VOXCAST_BASE_DOMAIN> shows the tenant and admits only its users."""
from __future__ import annotations

import pytest

from models import Tenant
from voxcast.tenants.subdomains import login_site

from .conftest import ADMIN_PASSWORD, CSRF_RE, MASTER_PASSWORD


@pytest.fixture
def domain(monkeypatch):
    monkeypatch.setenv("VOXCAST_BASE_DOMAIN", "voxcast.test")


def login_at(client, host, username, password):
    page = client.get("/login", base_url=f"http://{host}")
    csrf = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return page, client.post("/login", base_url=f"http://{host}", data={
        "csrf_token": csrf, "username": username, "password": password})


def test_host_resolution(app):
    acme = Tenant.create(name="Acme", slug="acme")
    assert login_site("acme.voxcast.test:8080", "voxcast.test").tenant.id == acme.id
    assert login_site("ACME.voxcast.test", "voxcast.test").subdomain == "acme"
    assert login_site("voxcast.test", "voxcast.test").subdomain is None
    assert login_site("127.0.0.1:8080", "voxcast.test").subdomain is None
    assert login_site("acme.voxcast.test", "").subdomain is None  # feature off
    nobody = login_site("ghost.voxcast.test", "voxcast.test")
    assert nobody.is_tenant_site and nobody.tenant is None
    assert login_site("a.b.voxcast.test", "voxcast.test").tenant is None


def test_tenant_subdomain_brands_and_admits_only_its_users(app, client, domain, make_tenant):
    tenant, _ = make_tenant("acme", username="bob")
    Tenant.update(name="Acme Corporation").where(Tenant.id == tenant.id).execute()
    page, resp = login_at(client, "acme.voxcast.test", "master", MASTER_PASSWORD)
    assert "Acme Corporation" in page.get_data(as_text=True)
    assert resp.status_code == 401 and "Invalid username or password." in resp.get_data(as_text=True)
    _, resp = login_at(client, "acme.voxcast.test", "admin", ADMIN_PASSWORD)
    assert resp.status_code == 401
    _, resp = login_at(client, "acme.voxcast.test", "bob", "pw-bob")
    assert resp.status_code == 302


def test_unknown_subdomain_admits_nobody(app, client, domain):
    page, resp = login_at(client, "ghost.voxcast.test", "master", MASTER_PASSWORD)
    assert "Unknown organisation" in page.get_data(as_text=True)
    assert resp.status_code == 401


def test_bare_domain_is_the_provider_login(app, client, domain):
    page, resp = login_at(client, "voxcast.test", "admin", ADMIN_PASSWORD)
    assert "Acme" not in page.get_data(as_text=True)
    assert resp.status_code == 302
