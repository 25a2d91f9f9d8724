"""The agent console's web routes: state buttons through voxcast.agents, the live poll keyed by
the session's version, the contact pop with script and CRM link, the disposition form, and the
commands sent to the Stasis app as ARI user events (to a stand-in ARI HTTP endpoint that
records what it receives), each refused when the agent does not own the call."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from models.entities import (
    AgentDisposition, AgentSession, Call, Campaign, CampaignAgent, CampaignContact, Contact,
    ContactGroup, DncNumber, PauseReason,
)
from models.entities import utcnow
from voxcast.agents import sessions
from voxcast.console import commands, crm

from .agents_support import make_agent
from .conftest import CSRF_RE

JSON = {"Accept": "application/json"}


class FakeAri:
    """An HTTP endpoint in ARI's place: records each POST /events/user/... it gets."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append((self.path, json.loads(body or b"{}")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def ari():
    fake = FakeAri()
    yield fake
    fake.close()


@pytest.fixture
def app(settings, ari):
    from webui import create_app
    import models
    from .conftest import ADMIN_PASSWORD, MASTER_PASSWORD
    app = create_app(dataclasses.replace(settings, ari_port=ari.port), {"TESTING": True})
    models.bootstrap(admin_password=ADMIN_PASSWORD, master_password=MASTER_PASSWORD)
    models.database.close()
    yield app
    models.database.close()


@pytest.fixture
def agent(app, make_tenant):
    tenant, _admin = make_tenant("acme")
    user = make_agent(tenant, "ann")
    PauseReason.create(tenant=tenant, name="Lunch")
    return tenant, user


def _login(client, username):
    html = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(html).group(1)
    resp = client.post("/login", data={"username": username, "password": f"pw-{username}",
                                       "csrf_token": token})
    assert resp.status_code == 302


def _token(client) -> str:
    return CSRF_RE.search(client.get("/agent/").get_data(as_text=True)).group(1)


def _post(client, url, data=None, json_answer=True):
    data = dict(data or {})
    data.setdefault("csrf_token", _token(client))
    return client.post(url, data=data, headers=JSON if json_answer else {})


def _campaign(tenant, user, **fields):
    group = ContactGroup.create(tenant=tenant, name="G")
    contact = Contact.create(tenant=tenant, group=group, phone="+12025550141",
                             first_name="Ada", last_name="Lovelace", custom1="gold & silver",
                             custom3="VIP")
    campaign = Campaign.create(tenant=tenant, name="Renewals", type="voice_agent", group=group,
                               **fields)
    CampaignAgent.create(tenant=tenant, campaign=campaign, user=user)
    entry = CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                                   phone=contact.phone, state="done")
    return campaign, contact, entry


def _session(user) -> AgentSession:
    return sessions.current(user.id)


def test_given_agent_when_opening_home_then_the_console_with_login_shows(client, agent):
    _login(client, "ann")
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/agent/")
    html = client.get("/agent/").get_data(as_text=True)
    assert 'id="btn-login"' in html and "agent_console.js" in html
    assert "later release" not in html


def test_given_console_when_login_pause_ready_logout_then_states_follow(client, agent):
    tenant, user = agent
    _login(client, "ann")
    body = _post(client, "/agent/login").get_json()
    assert body["ok"] and body["state"]["state"] == "ready"
    reason = PauseReason.get(PauseReason.name == "Lunch")
    body = _post(client, "/agent/pause", {"reason_id": reason.id}).get_json()
    assert body["state"]["state"] == "paused" and body["state"]["pause_reason"] == "Lunch"
    assert _post(client, "/agent/ready").get_json()["state"]["state"] == "ready"
    assert "Today: logged in 0:" in client.get("/agent/panel").get_data(as_text=True)
    foreign = PauseReason.create(tenant=_other_tenant(), name="Nap")
    resp = _post(client, "/agent/pause", {"reason_id": foreign.id})
    assert resp.status_code == 422 and _session(user).state == "ready"
    assert _post(client, "/agent/logout").get_json()["state"]["logged_in"] is False
    assert _session(user) is None


def _other_tenant():
    from models import Tenant
    return Tenant.get_or_none(Tenant.slug == "other") or Tenant.create(name="other", slug="other")


def test_given_no_js_when_posting_then_it_redirects_back_to_the_console(client, agent):
    _login(client, "ann")
    resp = _post(client, "/agent/login", json_answer=False)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/agent/")


def test_given_unchanged_session_when_polling_then_only_the_key_comes_back(client, agent):
    tenant, user = agent
    _login(client, "ann")
    _post(client, "/agent/login")
    first = client.get("/agent/live.json").get_json()
    assert first["state"] == "ready"
    same = client.get("/agent/live.json", query_string={"key": first["key"]}).get_json()
    assert same == {"key": first["key"], "same": True}
    reason = PauseReason.get(PauseReason.name == "Lunch")
    _post(client, "/agent/pause", {"reason_id": reason.id})
    moved = client.get("/agent/live.json", query_string={"key": first["key"]}).get_json()
    assert moved["state"] == "paused" and moved["key"] != first["key"]


def test_given_bridged_campaign_call_when_polling_then_the_contact_pops_with_script_and_crm(
        client, agent):
    tenant, user = agent
    campaign, contact, _entry = _campaign(
        tenant, user, script="Hello {name}\nOffer the renewal.",
        web_form_url="https://crm.example.com/find?tel={phone}&c1={custom1}")
    _login(client, "ann")
    _post(client, "/agent/login")
    call = Call.create(tenant=tenant, campaign=campaign, contact=contact, number=contact.phone,
                       channel_id="c-1", agent=user, answered_at=utcnow())
    from voxcast.agents import states
    assert states.set_state(_session(user).id, "on_call", call_id=call.id)
    snap = client.get("/agent/live.json").get_json()
    pop = snap["call"]
    assert pop["name"] == "Ada Lovelace" and pop["number"] == "+12025550141"
    assert dict(pop["custom"]) == {"custom1": "gold & silver", "custom3": "VIP"}
    assert pop["script"].startswith("Hello") and pop["campaign"] == "Renewals"
    assert pop["crm_url"] == "https://crm.example.com/find?tel=%2B12025550141&c1=gold%20%26%20silver"
    html = client.get("/agent/panel").get_data(as_text=True)
    assert 'id="crm-link"' in html and 'id="btn-hold"' in html, html
    assert "gold &amp; silver" in html, html


def test_given_ended_call_when_disposition_is_callback_then_contact_is_queued_in_utc(
        client, agent):
    tenant, user = agent
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    campaign, contact, entry = _campaign(tenant, user)
    cb = AgentDisposition.create(tenant=tenant, name="Call back", kind="callback")
    _login(client, "ann")
    _post(client, "/agent/login")
    call = Call.create(tenant=tenant, campaign=campaign, contact=contact, entry=entry,
                       number=contact.phone, channel_id="c-2", agent=user,
                       answered_at=utcnow(), ended_at=utcnow())
    snap = client.get("/agent/live.json").get_json()
    assert snap["pending"]["call_id"] == call.id
    assert 'id="disposition-form"' in client.get("/agent/panel").get_data(as_text=True)
    when = (dt.datetime.now() + dt.timedelta(days=2)).replace(hour=10, minute=30, second=0,
                                                             microsecond=0)
    body = _post(client, "/agent/disposition", {
        "call_id": call.id, "disposition_id": cb.id, "notes": "wants a quote",
        "callback_at": when.strftime("%Y-%m-%dT%H:%M")}).get_json()
    assert body["ok"], body
    call = Call.get_by_id(call.id)
    assert call.agent_disposition == "Call back" and call.notes == "wants a quote"
    entry = CampaignContact.get_by_id(entry.id)
    assert entry.state == "pending"
    berlin_offset = 1 if when.month in (1, 2, 3, 11, 12) else 2
    assert entry.next_attempt_at.hour in ((10 - berlin_offset) % 24, (10 - 1) % 24, (10 - 2) % 24)
    assert body["state"]["pending"] is None


def test_given_someone_elses_call_when_recording_disposition_then_it_is_refused(
        client, agent):
    tenant, user = agent
    bob = make_agent(tenant, "bob")
    call = Call.create(tenant=tenant, number="+12025550199", channel_id="c-3", agent=bob,
                       ended_at=utcnow())
    _login(client, "ann")
    _post(client, "/agent/login")
    resp = _post(client, "/agent/disposition", {"call_id": call.id, "notes": "x"})
    assert resp.status_code in (403, 404)
    assert Call.get_by_id(call.id).notes == ""


def test_given_ready_agent_when_dialing_then_a_user_event_carries_the_command(
        client, agent, ari):
    tenant, user = agent
    campaign, contact, _ = _campaign(tenant, user)
    _login(client, "ann")
    _post(client, "/agent/login")
    body = _post(client, "/agent/dial", {"number": "(202) 555-0141",
                                         "campaign_id": campaign.id}).get_json()
    assert body["ok"], body
    path, sent = ari.received[-1]
    assert path.startswith("/ari/events/user/voxcast-agent?application=")
    variables = sent["variables"]
    assert variables["action"] == "dial" and variables["number"] == "+12025550141"
    assert variables["user_id"] == str(user.id) and variables["campaign_id"] == str(campaign.id)
    assert variables["session_id"] == str(_session(user).id)


def test_given_dnc_number_or_foreign_campaign_when_dialing_then_nothing_is_sent(
        client, agent, ari):
    tenant, user = agent
    DncNumber.create(tenant=tenant, phone="+12025550177")
    _login(client, "ann")
    _post(client, "/agent/login")
    resp = _post(client, "/agent/dial", {"number": "+12025550177"})
    assert resp.status_code == 409 and "do-not-call" in resp.get_json()["message"]
    foreign = Campaign.create(tenant=_other_tenant(), name="Theirs", type="voice_agent")
    resp = _post(client, "/agent/dial", {"number": "+12025550178", "campaign_id": foreign.id})
    assert resp.status_code == 422
    resp = _post(client, "/agent/dial", {"number": "not a number"})
    assert resp.status_code == 422
    assert ari.received == []


def test_given_no_call_when_sending_call_commands_then_they_are_refused(client, agent, ari):
    tenant, user = agent
    _login(client, "ann")
    resp = _post(client, "/agent/call/hold")
    assert resp.status_code == 409  # not logged in
    _post(client, "/agent/login")
    for action in ("hold", "hangup", "consult", "conference"):
        resp = _post(client, f"/agent/call/{action}", {"call_id": "1"})
        assert resp.status_code == 409, action
    assert ari.received == []


def test_given_call_when_transferring_then_the_target_must_be_the_tenants(client, agent, ari):
    tenant, user = agent
    bob = make_agent(tenant, "bob")
    stranger = make_agent(_other_tenant(), "zed")
    _login(client, "ann")
    _post(client, "/agent/login")
    call = Call.create(tenant=tenant, number="+12025550141", channel_id="c-4", agent=user,
                       answered_at=utcnow())
    from voxcast.agents import states
    states.set_state(_session(user).id, "on_call", call_id=call.id)
    resp = _post(client, "/agent/call/consult", {"call_id": call.id, "target_kind": "agent",
                                                 "target_agent": stranger.id})
    assert resp.status_code == 422
    resp = _post(client, "/agent/call/transfer", {"call_id": call.id + 1000,
                                                  "target_kind": "agent", "target_agent": bob.id})
    assert resp.status_code == 409  # not the call the agent is on
    assert ari.received == []
    resp = _post(client, "/agent/call/transfer", {"call_id": call.id, "target_kind": "agent",
                                                  "target_agent": bob.id})
    assert resp.get_json()["ok"]
    variables = ari.received[-1][1]["variables"]
    assert variables["action"] == "transfer" and variables["target"] == str(bob.id)
    assert variables["call_id"] == str(call.id)


def test_given_user_event_when_parsed_then_only_console_commands_pass():
    raw = {"type": "ChannelUserevent", "eventname": "voxcast-agent",
           "userevent": {"action": "hold", "session_id": "3"}}
    assert commands.parse(raw) == {"action": "hold", "session_id": "3"}
    assert commands.parse({**raw, "eventname": "other"}) is None
    assert commands.parse({**raw, "userevent": {"action": "format-disk"}}) is None


@pytest.mark.parametrize("template,expected", [
    ("https://crm.example/c?p={phone}", "https://crm.example/c?p=%2B1%26x%3D1"),
    ("http://crm.example/c/{last_name}#x", "http://crm.example/c/O%27Brien%2F..#x"),
    ("https://crm.example/c", "https://crm.example/c?phone=%2B1%26x%3D1&last_name=O%27Brien%2F.."),
    ("javascript:alert(1)//{phone}", None),
    ("data:text/html,{phone}", None),
    ("https://{custom1}.example/", None),
    ("https://crm.example/{password}", None),
    ("", None),
])
def test_crm_form_url_encodes_fields_and_allows_only_http(template, expected):
    assert crm.form_url(template, {"phone": "+1&x=1", "last_name": "O'Brien/.."}) == expected


def test_given_telephony_down_when_dialing_then_the_agent_is_told_to_retry(client, agent, ari):
    _login(client, "ann")
    _post(client, "/agent/login")
    ari.close()  # nothing listens on ARI's port any more
    resp = _post(client, "/agent/dial", {"number": "+12025550141"})
    assert resp.status_code == 409 and "not reachable" in resp.get_json()["message"]


def test_given_agent_on_a_call_when_logging_out_then_it_is_refused(client, agent):
    tenant, user = agent
    _login(client, "ann")
    _post(client, "/agent/login")
    call = Call.create(tenant=tenant, number="+12025550141", channel_id="c-9", agent=user,
                       answered_at=utcnow())
    from voxcast.agents import states
    states.set_state(_session(user).id, "on_call", call_id=call.id)
    assert _post(client, "/agent/logout").status_code == 409
    assert _session(user) is not None


def test_given_dnc_disposition_when_saved_then_the_number_is_on_the_tenants_list(client, agent):
    tenant, user = agent
    campaign, contact, entry = _campaign(tenant, user)
    dnc = AgentDisposition.create(tenant=tenant, name="Do not call", kind="dnc")
    _login(client, "ann")
    _post(client, "/agent/login")
    call = Call.create(tenant=tenant, campaign=campaign, contact=contact, entry=entry,
                       number=contact.phone, channel_id="c-5", agent=user,
                       answered_at=utcnow(), ended_at=utcnow())
    body = _post(client, "/agent/disposition", {"call_id": call.id,
                                                "disposition_id": dnc.id}).get_json()
    assert body["ok"], body
    assert DncNumber.select().where(DncNumber.tenant == tenant.id,
                                    DncNumber.phone == contact.phone).exists()
    assert Call.get_by_id(call.id).agent_disposition == "Do not call"
