"""Call records show who took a contact-centre call, the agent's disposition and notes (issue
12 item 5: "notes stored with the call"), for the tenant's managers; another tenant's agent
is never named."""
from __future__ import annotations

from models import Call
from models.entities import utcnow

from .agents_support import make_agent
from .conftest import CSRF_RE


def _login(client, username):
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": f"pw-{username}",
                                       "csrf_token": token}).status_code == 302


def test_given_an_agent_call_then_call_records_show_agent_disposition_and_notes(
        client, make_tenant):
    tenant, admin = make_tenant("acme")
    ann = make_agent(tenant, "ann")
    ann.first_name, ann.last_name = "Ann", "Agent"
    ann.save()
    other, _ = make_tenant("globex")
    bob = make_agent(other, "bob")
    bob.first_name = "Bobby"
    bob.save()
    Call.create(tenant=tenant, direction="inbound", number="+12025550141", agent=ann,
                channel_id="c1", started_at=utcnow(), disposition="ANSWERED",
                agent_disposition="Renewed", notes="Wants <b>gold</b>.")
    Call.create(tenant=tenant, direction="inbound", number="+12025550142", agent=bob,
                channel_id="c2", started_at=utcnow(), disposition="ANSWERED")  # forged link
    _login(client, admin.username)
    html = client.get("/cdrs/").get_data(as_text=True)
    assert "Ann Agent" in html and "Renewed" in html
    assert "Wants &lt;b&gt;gold&lt;/b&gt;." in html  # escaped
    assert "Bobby" not in html
