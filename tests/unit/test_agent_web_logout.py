"""Leaving the portal ends an agent's web-console session (issue 12 item 1: "logging out ...
ends the session"), so the ACD stops offering calls to a phone nobody watches; a session
started at the phone (*50) is left to the phone."""
from __future__ import annotations

import pytest

from models.entities import AgentSession
from voxcast.agents import sessions

from .agents_support import make_agent
from .conftest import CSRF_RE


def _login(client, username):
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)
    resp = client.post("/login", data={"username": username, "password": f"pw-{username}",
                                       "csrf_token": token})
    assert resp.status_code == 302


def _logout(client):
    token = CSRF_RE.search(client.get("/account/").get_data(as_text=True)).group(1)
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("via,ends", [("web", True), ("phone", False)])
def test_given_agent_session_when_leaving_the_portal_then_only_a_web_session_ends(
        client, make_tenant, via, ends):
    tenant, _admin = make_tenant("acme")
    ann = make_agent(tenant, "ann")
    live = sessions.login(tenant.id, ann.id, via=via)
    _login(client, "ann")
    _logout(client)
    row = AgentSession.get_by_id(live.id)
    if ends:
        assert row.ended_at is not None and row.end_reason == "logout"
    else:
        assert row.ended_at is None and row.state == "ready"


def test_given_a_supervisor_when_leaving_the_portal_then_agents_stay_logged_in(
        client, make_tenant):
    tenant, _admin = make_tenant("acme")
    ann = make_agent(tenant, "ann")
    live = sessions.login(tenant.id, ann.id)
    make_agent(tenant, "sue", role="supervisor", extension=False)
    _login(client, "sue")
    _logout(client)
    assert AgentSession.get_by_id(live.id).ended_at is None
