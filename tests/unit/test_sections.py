"""Bare section URLs: every path that only prefixes pages in the url_map (/admin/, /fax,
/admin/billing/, /contacts/groups...) leads to that section's first page, with or without the
trailing slash, instead of a 404."""
from __future__ import annotations

import pytest

from .conftest import ADMIN_PASSWORD, MASTER_PASSWORD

# prefixes of links that carry a token (activation, SSO, unsubscribe), the static files, the
# machine-read status feed and the JSON API (which answers a browser session nothing, not even
# a redirect: test_security_csrf)
NOT_SECTIONS = ("/activate", "/sso", "/u", "/static", "/status", "/api")


def _bare_prefixes(app) -> list[str]:
    """Prefixes with no page of their own (the redirects of webui/sections.py left out)."""
    rules = {r.rule.rstrip("/") for r in app.url_map.iter_rules()
             if "GET" in r.methods and not r.endpoint.startswith("sections.")}
    found = set()
    for rule in app.url_map.iter_rules():
        parts = rule.rule.strip("/").split("/")
        for i in range(1, len(parts)):
            if "<" in parts[i - 1]:
                break
            prefix = "/" + "/".join(parts[:i])
            if prefix not in rules and not any(prefix == n or prefix.startswith(n + "/")
                                               for n in NOT_SECTIONS):
                found.add(prefix)
    return sorted(found)


def test_every_bare_section_prefix_in_the_url_map_redirects_to_a_page(app, client, auth):
    prefixes = _bare_prefixes(app)
    assert "/admin" in prefixes and "/fax" in prefixes, prefixes
    adapter = app.url_map.bind("localhost")
    auth.login("admin", ADMIN_PASSWORD)
    for prefix in prefixes:
        for url in (prefix, prefix + "/"):
            response = client.get(url)
            assert response.status_code in (301, 302, 308), (url, response.status_code)
        target = client.get(prefix + "/").headers["Location"]
        endpoint, args = adapter.match(target.split("?")[0], method="GET")
        assert not args and not endpoint.startswith("sections."), (prefix, target)


@pytest.mark.parametrize("url, lands", [
    ("/admin/", "/admin/tenants"), ("/admin", "/admin/tenants"),
    ("/admin/billing/", "/admin/billing/plans"), ("/admin/billing", "/admin/billing/plans"),
])
def test_given_the_provider_admin_when_opening_a_bare_admin_section_then_its_first_page_opens(
        client, auth, url, lands):
    auth.login("admin", ADMIN_PASSWORD)
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == lands


@pytest.mark.parametrize("url, lands", [
    ("/fax", "/fax/documents/"), ("/fax/", "/fax/documents/"), ("/sms/", "/sms/inbound/"),
    ("/contacts/groups", "/contacts/"), ("/evaluation/evaluations/", "/evaluation/"),
    ("/supervisor/agents/", "/supervisor/"),
])
def test_given_a_tenant_admin_when_opening_a_bare_section_then_its_first_page_opens(
        client, auth, url, lands):
    auth.login("master", MASTER_PASSWORD)
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 200, url
    assert response.request.path == lands


def test_given_nobody_logged_in_when_opening_a_bare_section_then_the_login_page_asks(client):
    response = client.get("/admin/", follow_redirects=True)
    assert response.request.path == "/login"
