"""Voice Agent campaign settings (lines per ready agent, wrap-up, script, CRM web form URL, the
campaign's agents) through the one editing service the portal and the API share, and the live
abandon rate on the campaign page and in the API."""
from __future__ import annotations

import pytest

from models import Call, Campaign, Tenant, User
from models.entities import CampaignAgent, QueueCall
from voxcast.campaigns import services as campaign_service
from voxcast.campaigns.errors import CampaignError

from .api_support import master_api  # noqa: F401  (fixture)

FORM = {"name": "Agents", "channel_limit": "3", "dial_timeout": "30", "retry_busy": "0",
        "retry_noanswer": "0", "retry_failed": "0", "retry_interval": "300",
        "retry_machine": "0", "amd_action": "hangup", "repeat_count": "1", "ivr": "0",
        "type": "voice_agent", "message_text": "", "caller_id": "", "dial_ratio": "1.5",
        "wrapup_seconds": "20", "script": "Hello, this is Acme.",
        "web_form_url": "https://crm.example.com/c?phone={phone}"}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def agents(master):
    return [User.create(username=f"agent{i}", tenant=master, role="agent", password_hash="x") for i in (1, 2)]


def test_given_the_voice_agent_fields_in_the_portal_then_they_are_saved_with_the_agents(
        auth, master, make_group, agents):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id),
                                        "agents": [str(a.id) for a in agents]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    c = Campaign.get()
    assert (c.type, float(c.dial_ratio), c.wrapup_seconds, c.script, c.web_form_url) == (
        "voice_agent", 1.5, 20, "Hello, this is Acme.", "https://crm.example.com/c?phone={phone}")
    assert sorted(a.user_id for a in CampaignAgent.select()) == [a.id for a in agents]
    page = auth.client.get(f"/campaigns/{c.id}/edit").get_data(as_text=True)
    assert 'selected value="%d"' % agents[0].id in page or f'value="{agents[0].id}" selected' in page
    # one agent less
    resp = auth.post(f"/campaigns/{c.id}/edit", {**FORM, "group": str(group.id),
                                                 "agents": [str(agents[1].id)]})
    assert resp.status_code == 302
    assert [a.user_id for a in CampaignAgent.select()] == [agents[1].id]
    detail = auth.client.get(f"/campaigns/{c.id}").get_data(as_text=True)
    assert "agent2" in detail and "Abandon rate" in detail and "0.0 %" in detail


@pytest.mark.parametrize("field, value", [
    ("dial_ratio", "3.5"), ("dial_ratio", "0.5"), ("wrapup_seconds", "-1"),
    ("web_form_url", "javascript:alert(1)"), ("web_form_url", "ftp://crm.example.com/"),
])
def test_given_a_bad_voice_agent_value_then_portal_and_api_refuse_it(
        auth, master_api, master, make_group, field, value):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id), field: value})
    assert resp.status_code == 400
    api_value = (float(value) if field == "dial_ratio" else
                 int(value) if field == "wrapup_seconds" else value)
    api = master_api.post("/api/v1/campaigns", json={
        "name": "Agents", "group_id": group.id, "type": "voice_agent", field: api_value})
    assert api.status_code == 422, api.json
    assert Campaign.select().count() == 0


def test_given_a_dangerous_url_past_the_schema_then_the_service_refuses_it(master, agents,
                                                                           settings):
    from voxcast.campaigns import editing
    from voxcast.campaigns.errors import CampaignInputError
    with pytest.raises(CampaignInputError) as err:
        editing.create(master, {"name": "X", "type": "voice_agent",
                                "web_form_url": "javascript://x.example/%0aalert(1)"},
                       settings=settings, actor=editing.Actor(None))
    assert "web_form_url" in err.value.fields


def test_given_another_tenants_user_or_a_non_agent_then_refused(
        master_api, master, make_group, make_tenant, agents):
    group = make_group(master, phones=["+12025550101"])
    _, stranger = make_tenant("other", role="agent")
    plain = User.create(username="clerk", tenant=master, role="user", password_hash="x")
    for user in (stranger, plain):
        api = master_api.post("/api/v1/campaigns", json={
            "name": "Agents", "group_id": group.id, "type": "voice_agent",
            "agent_ids": [agents[0].id, user.id]})
        assert api.status_code == 422 and "agent_ids" in api.json["error"]["fields"], api.json
    assert Campaign.select().count() == 0 and CampaignAgent.select().count() == 0


def test_given_the_api_then_fields_round_trip_and_the_abandon_rate_is_live(
        master_api, master, make_group, agents):
    group = make_group(master, phones=["+12025550101"])
    api = master_api.post("/api/v1/campaigns", json={
        "name": "Agents", "group_id": group.id, "type": "voice_agent", "dial_ratio": 2.25,
        "wrapup_seconds": 0, "agent_ids": [agents[0].id], "script": "Hi"})
    assert api.status_code == 201, api.json
    body = api.json
    assert (body["dial_ratio"], body["wrapup_seconds"], body["agent_ids"], body["script"],
            body["abandon_rate"]) == (2.25, 0, [agents[0].id], "Hi", 0.0)
    cid = body["id"]
    call = Call.create(tenant=master, campaign=cid, direction="outbound", number="+12025550101",
                       channel_id="vx-test")
    for outcome in ("answered", "answered", "abandoned", ""):  # "" still waiting: counts
        QueueCall.create(tenant=master, campaign=cid, call=call, outcome=outcome)
    got = master_api.get(f"/api/v1/campaigns/{cid}").json
    assert got["abandon_rate"] == 25.0
    assert (got["progress"]["abandoned"], got["progress"]["agent_calls"],
            got["progress"]["connected"]) == (1, 4, 2)
    patched = master_api.patch(f"/api/v1/campaigns/{cid}", json={"agent_ids": []})
    assert patched.status_code == 200 and patched.json["agent_ids"] == []


def test_given_a_voice_agent_campaign_without_agents_then_it_does_not_start(
        master, make_group, settings, agents):
    from voxcast.campaigns import editing
    group = make_group(master, phones=["+12025550101"])
    c = editing.create(master, {"name": "A", "type": "voice_agent", "group_id": group.id},
                       settings=settings, actor=editing.Actor(None))
    with pytest.raises(CampaignError, match="agents"):
        campaign_service.start(c, settings)
    editing.update(c, {"agent_ids": [agents[0].id]}, settings=settings, actor=editing.Actor(None))
    campaign_service.start(Campaign.get_by_id(c.id), settings)
    assert Campaign.get_by_id(c.id).status == "running"


def test_given_a_tenant_without_agents_then_no_voice_agent_campaign(
        master_api, master, make_group):
    master.features = " ".join(f for f in master.features.split() if f != "agents")
    master.save()
    group = make_group(master, phones=["+12025550101"])
    api = master_api.post("/api/v1/campaigns", json={
        "name": "Agents", "group_id": group.id, "type": "voice_agent"})
    assert api.status_code == 403, api.json
    assert Campaign.select().count() == 0


def test_abandon_rate_rounding():
    assert campaign_service.abandon_rate(0, 0) == 0.0
    assert campaign_service.abandon_rate(1, 3) == 33.3
    assert campaign_service.abandon_rate(2, 2) == 100.0
