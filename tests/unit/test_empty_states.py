"""An empty list page says what to do next and links there: to the page that creates the first
object, or to the form on the same page (an anchor that exists on it)."""
from __future__ import annotations

import re

import pytest

from models.entities import RatePlan

from .conftest import ADMIN_PASSWORD

EMPTY_RE = re.compile(r'class="empty"[^>]*>(.*?)</(?:p|td)>', re.S)
HREF_RE = re.compile(r'href="([^"]+)"')

TENANT_LISTS = ["/campaigns/", "/ivrs/", "/queues/", "/contacts/", "/evaluation/forms",
                "/evaluation/", "/pause-reasons/", "/dispositions/", "/reports/saved/",
                "/fax/documents/", "/fax/inbox/", "/sms/inbound/", "/webhooks/"]
ADMIN_LISTS = ["/admin/packages/", "/admin/smsc/", "/admin/billing/payments", "/admin/dids",
               "/admin/extensions", "/admin/api-keys"]


def _next_step(client, url: str) -> str:
    """The empty state's link on the page at url, checked to lead somewhere."""
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    empties = EMPTY_RE.findall(html)
    assert empties, f"{url}: no empty state"
    links = [h for text in empties for h in HREF_RE.findall(text)]
    assert links, f"{url}: the empty state {empties} links nowhere"
    for href in links:
        if href.startswith("#"):
            assert f'id="{href[1:]}"' in html, f"{url}: {href} is not on the page"
        else:
            assert client.get(href).status_code == 200, f"{url}: {href} does not open"
    return links[0]


@pytest.mark.parametrize("url", TENANT_LISTS)
def test_given_a_new_tenant_when_a_list_is_empty_then_it_links_the_next_step(
        client, auth, make_tenant, url):
    _tenant, user = make_tenant("fresh")
    auth.login(user.username, f"pw-{user.username}")
    _next_step(client, url)


def test_given_an_empty_contact_group_then_it_links_adding_and_importing_contacts(
        client, auth, make_tenant, make_group):
    tenant, user = make_tenant("fresh")
    group = make_group(tenant, "Nobody yet")
    auth.login(user.username, f"pw-{user.username}")
    assert _next_step(client, f"/contacts/groups/{group.id}") == "#add-contact"


@pytest.mark.parametrize("url", ADMIN_LISTS)
def test_given_the_provider_admin_when_a_list_is_empty_then_it_links_the_next_step(
        client, auth, url):
    auth.login("admin", ADMIN_PASSWORD)
    _next_step(client, url)


def test_given_a_rate_plan_without_rates_then_it_links_the_rate_import(client, auth):
    plan = RatePlan.create(name="Empty plan")
    auth.login("admin", ADMIN_PASSWORD)
    assert _next_step(client, f"/admin/billing/plans/{plan.id}/rates") == \
        f"/admin/billing/plans/{plan.id}/import"


def test_given_a_campaign_user_then_the_received_faxes_do_not_link_the_dids_they_cannot_open(
        client, auth, make_tenant):
    _tenant, user = make_tenant("fresh", role="user")
    auth.login(user.username, f"pw-{user.username}")
    html = client.get("/fax/inbox/").get_data(as_text=True)
    assert "No faxes received yet." in html and 'href="/dids/"' not in EMPTY_RE.findall(html)[0]
