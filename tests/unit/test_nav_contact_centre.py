"""The contact centre's pages are reachable from the nav for the roles that may use them:
tenant admins and supervisors see Queues and Agents, campaign users do not, agents see only
their console."""
from __future__ import annotations

import pytest

NAV_PAGES = ('href="/queues/"', 'href="/agents/"')


def _nav(html: str) -> str:
    return html[html.index("<nav"):html.index("</nav>")]


@pytest.mark.parametrize("role, managers, console", [
    ("tenant", True, False), ("supervisor", True, False), ("user", False, False),
    ("agent", False, True)])
def test_given_a_role_then_the_nav_links_its_contact_centre_pages(
        make_tenant, auth, client, role, managers, console):
    _tenant, user = make_tenant("acme", role=role)
    auth.login(user.username, f"pw-{user.username}")
    nav = _nav(client.get("/", follow_redirects=True).get_data(as_text=True))
    assert all((link in nav) is managers for link in NAV_PAGES), nav
    assert ('href="/agent/"' in nav) is console, nav
    for link in NAV_PAGES if managers else ():
        assert client.get(link.split('"')[1]).status_code == 200
