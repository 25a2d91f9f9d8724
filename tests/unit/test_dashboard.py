"""The tenant dashboard is where tenant roles land after login."""
from __future__ import annotations

from decimal import Decimal

from models import Call, Campaign, Did, Extension, User

from .conftest import ADMIN_PASSWORD


def test_given_tenant_when_logging_in_then_dashboard_shows_campaigns_balance_counts_calls(
        app, make_tenant, make_group, auth, client):
    tenant, admin = make_tenant("acme", role="tenant", balance=Decimal("123.45"))
    make_tenant("acme", role="agent", username="agent1")
    make_tenant("acme", role="user", username="user1")
    Extension.create(number="3001", secret="x-3001", tenant=tenant)
    Did.create(number="15550005551", tenant=tenant)
    group = make_group(tenant, phones=["+12025550101", "+12025550102"])
    running = Campaign.create(tenant=tenant, name="Running one", group=group, status="running")
    Campaign.create(tenant=tenant, name="Old draft", group=group)
    Call.create(tenant=tenant, campaign=running, number="+12025550101", channel_id="c1",
                disposition="ANSWERED", billsec=12)
    other, _u = make_tenant("globex")
    Call.create(tenant=other, number="+12025559999", channel_id="c2")

    res = auth.login(admin.username, f"pw-{admin.username}", follow_redirects=True)
    page = res.get_data(as_text=True)
    assert res.request.path == "/dashboard/"
    assert "123.45" in page
    assert "Running one" in page and "Old draft" not in page
    assert "+12025550101" in page and "+12025559999" not in page
    figures = page[page.index('id="figures"'):page.index("</dl>")]
    # users (admin + user1) 2, agents 1, extensions 1, DIDs 1, campaigns 2
    assert [int(x) for x in __import__("re").findall(r"<dd>(\d+)</dd>", figures)] == [2, 1, 1, 1, 2]


def test_given_agent_or_admin_then_not_the_tenant_dashboard(app, make_tenant, auth, client):
    _t, agent = make_tenant("acme", role="agent")
    auth.login(agent.username, f"pw-{agent.username}")
    assert client.get("/dashboard/").status_code == 403
    # an agent's home is the agent console
    assert client.get("/", follow_redirects=True).request.path == "/agent/"
    auth.logout()
    auth.login("admin", ADMIN_PASSWORD)
    assert client.get("/dashboard/").status_code == 403
    assert User.get(User.username == "admin").tenant_id is None
