"""Every list that can grow is paged and searchable: more rows than a page holds give a link
to the next page, which shows the rest; ?q= narrows the list to the rows that match (in
another tenant's rows, never), and a search without a match says so and offers the whole
list again."""
from __future__ import annotations

import re

import pytest

from models import Campaign, ContactGroup, Did, Extension, Tenant, User
from models.entities import Ivr

from .conftest import ADMIN_PASSWORD

N = 101  # more than any of these lists shows on a page (50 or 100)


def _rows(model, make, n=N):
    model.insert_many([make(i) for i in range(n)]).execute()


def _tenant_lists(tenant):
    """url -> (create the rows, a name in them that is found by a search of 'needle')."""
    t = tenant.id
    return {
        "/campaigns/": lambda: _rows(Campaign, lambda i: {"tenant": t, "name": f"Camp {i:03d}"}),
        "/ivrs/": lambda: _rows(Ivr, lambda i: {"tenant": t, "name": f"Menu {i:03d}"}),
        "/contacts/": lambda: _rows(ContactGroup, lambda i: {"tenant": t, "name": f"Group {i:03d}"}),
        "/users/": lambda: _rows(User, lambda i: {"tenant": t, "username": f"user{i:03d}",
                                                  "role": "user", "password_hash": "x"}),
        "/extensions/": lambda: _rows(Extension, lambda i: {"tenant": t, "number": f"71{i:03d}",
                                                            "secret": "s"}),
        "/dids/": lambda: _rows(Did, lambda i: {"tenant": t, "number": f"1555000{i:04d}"}),
    }


NEEDLES = {"/campaigns/": ("Camp 042", "Camp 043"), "/ivrs/": ("Menu 042", "Menu 043"),
           "/contacts/": ("Group 042", "Group 043"), "/users/": ("user042", "user043"),
           "/extensions/": ("71042", "71043"), "/dids/": ("15550000042", "15550000043")}


def _check(client, url: str, found: str, other: str) -> None:
    first = client.get(url).get_data(as_text=True)
    assert re.search(r'href="[^"]*[?&]page=2', first), f"{url}: no link to page 2"
    second = client.get(f"{url}?page=2")
    assert second.status_code == 200
    body = second.get_data(as_text=True)
    assert 'page=1' in body, f"{url}?page=2 links no way back"
    q = found.split()[-1]
    hit = client.get(f"{url}?q={q}").get_data(as_text=True)
    assert found in hit and other not in hit, f"{url}?q={q}"
    assert 'type="search"' in hit and f'value="{q}"' in hit
    miss = client.get(f"{url}?q=zzz-nothing").get_data(as_text=True)
    assert "zzz-nothing" in miss and 'class="empty"' in miss, f"{url}: no 'no match' text"


@pytest.mark.parametrize("url", list(NEEDLES))
def test_given_more_rows_than_a_page_when_listing_then_the_list_pages_and_searches(
        client, auth, make_tenant, url):
    tenant, user = make_tenant("acme")
    other, _ = make_tenant("rival")
    _tenant_lists(tenant)[url]()
    Ivr.create(tenant=other, name="Menu 042 rival")  # another tenant's: never listed
    auth.login(user.username, f"pw-{user.username}")
    found, other_name = NEEDLES[url]
    _check(client, url, found, other_name)
    if url == "/ivrs/":
        assert "rival" not in client.get("/ivrs/?q=042").get_data(as_text=True)


def test_given_many_tenants_then_the_admin_list_pages_and_searches_by_name_or_sub_domain(
        client, auth):
    Tenant.insert_many([{"name": f"Client {i:03d}", "slug": f"client{i:03d}"}
                        for i in range(N)]).execute()
    auth.login("admin", ADMIN_PASSWORD)
    _check(client, "/admin/tenants", "Client 042", "Client 043")
    assert "Client 007" in client.get("/admin/tenants?q=client007").get_data(as_text=True)


@pytest.mark.parametrize("url, model, prefix", [
    ("/admin/extensions", Extension, "72"), ("/admin/dids", Did, "1555111")])
def test_given_a_large_pool_then_the_admin_pool_pages_and_searches(client, auth, url, model,
                                                                    prefix):
    width = 11 - len(prefix) if model is Did else 3
    _rows(model, lambda i: {"number": f"{prefix}{i:0{width}d}", "secret": "s"}
          if model is Extension else {"number": f"{prefix}{i:0{width}d}"})
    auth.login("admin", ADMIN_PASSWORD)
    _check(client, url, f"{prefix}{42:0{width}d}", f"{prefix}{43:0{width}d}")


def test_given_a_search_then_the_users_quota_still_counts_every_user(client, auth, make_tenant):
    tenant, user = make_tenant("acme")
    _tenant_lists(tenant)["/users/"]()
    auth.login(user.username, f"pw-{user.username}")
    page = client.get("/users/?q=user042").get_data(as_text=True)
    assert f"Users: {N + 1} of" in page


def test_given_many_inbound_sms_and_faxes_then_they_are_searched_by_number(
        client, auth, make_tenant):
    from models.entities import Message
    tenant, user = make_tenant("acme")
    rows = [{"tenant": tenant.id, "channel": channel, "direction": "inbound",
             "address": f"+1202555{i:04d}", "sender": "15551230000", "body": f"hello {i}",
             "state": "received"} for i in range(60) for channel in ("sms", "fax")]
    Message.insert_many(rows).execute()
    auth.login(user.username, f"pw-{user.username}")
    for url in ("/sms/inbound/", "/fax/inbox/"):
        first = client.get(url).get_data(as_text=True)
        assert re.search(r'href="[^"]*[?&]page=2', first), url
        hit = client.get(f"{url}?q=2025550042").get_data(as_text=True)
        assert "+12025550042" in hit and "+12025550043" not in hit, url
        assert 'class="empty"' in client.get(f"{url}?q=nobody").get_data(as_text=True)


def test_given_a_tenant_with_many_agents_then_the_admin_searches_its_agents_only(client, auth):
    tenant = Tenant.create(name="Big", slug="big")
    User.insert_many([{"tenant": tenant.id, "username": f"agent{i:03d}", "role": "agent",
                       "password_hash": "x"} for i in range(N)]
                     + [{"tenant": tenant.id, "username": "agent-boss", "role": "user",
                         "password_hash": "x"}]).execute()
    auth.login("admin", ADMIN_PASSWORD)
    url = f"/admin/tenants/{tenant.id}/users?role=agent"
    first = client.get(url).get_data(as_text=True)
    assert re.search(r'href="[^"]*page=2', first) and "agent-boss" not in first
    assert 'name="role" value="agent"' in first  # the search stays on the agents
    hit = client.get(f"{url}&q=agent042").get_data(as_text=True)
    assert "agent042" in hit and "agent043" not in hit
    boss = client.get(f"/admin/tenants/{tenant.id}/users?q=boss").get_data(as_text=True)
    assert "agent-boss" in boss and "agent042" not in boss


@pytest.mark.parametrize("url, make, found, other", [
    ("/fax/documents/", lambda t, i: ("FaxDocument", {"tenant": t, "name": f"Doc {i:03d}"}),
     "Doc 042", "Doc 043"),
    ("/evaluation/forms", lambda t, i: ("EvaluationForm", {"tenant": t, "name": f"Form {i:03d}"}),
     "Form 042", "Form 043"),
    ("/reports/saved/", lambda t, i: ("SavedReport", {"tenant": t, "name": f"Report {i:03d}",
                                                      "definition": '{"source": "calls"}'}),
     "Report 042", "Report 043"),
])
def test_given_many_documents_forms_or_saved_reports_then_they_page_and_search(
        client, auth, make_tenant, url, make, found, other):
    from models import entities
    tenant, user = make_tenant("acme")
    name, _ = make(tenant.id, 0)
    getattr(entities, name).insert_many([make(tenant.id, i)[1] for i in range(60)]).execute()
    auth.login(user.username, f"pw-{user.username}")
    _check(client, url, found, other)
