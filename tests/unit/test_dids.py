"""The tenant routes its DIDs (to a user or a campaign, with a greeting) and assigns its
extensions to users; another tenant's rows are not found; pjsip_sync renders the endpoints."""
from __future__ import annotations

import pytest

from models import Campaign, Did, Extension, TenantLog
from voxcast.runtime import pjsip_sync


@pytest.fixture
def acme(app, make_tenant, auth):
    tenant, admin = make_tenant("acme", role="tenant")
    _t, agent = make_tenant("acme", role="agent", username="agent7")
    auth.login(admin.username, f"pw-{admin.username}")
    return tenant, admin, agent


def test_given_tenant_did_when_routed_to_user_then_saved_with_greeting(acme, auth, client):
    tenant, _admin, agent = acme
    did = Did.create(number="15550001111", tenant=tenant)
    assert "15550001111" in client.get("/dids/").get_data(as_text=True)
    res = auth.post(f"/dids/{did.id}", {"destination": f"user:{agent.id}",
                                         "greeting_text": "Welcome to Acme support."},
                    follow_redirects=True)
    assert "DID 15550001111 saved." in res.get_data(as_text=True)
    did = Did.get_by_id(did.id)
    assert did.user_id == agent.id and did.campaign_id is None
    assert did.greeting_text == "Welcome to Acme support."
    assert TenantLog.get(TenantLog.action == "did.route").tenant_id == tenant.id


def test_given_did_when_routed_to_campaign_then_user_cleared(acme, auth):
    tenant, _admin, agent = acme
    campaign = Campaign.create(tenant=tenant, name="Spring sale")
    did = Did.create(number="15550001112", tenant=tenant, user=agent)
    auth.post(f"/dids/{did.id}", {"destination": f"campaign:{campaign.id}", "greeting_text": ""})
    did = Did.get_by_id(did.id)
    assert did.campaign_id == campaign.id and did.user_id is None
    auth.post(f"/dids/{did.id}", {"destination": "", "greeting_text": ""})
    did = Did.get_by_id(did.id)
    assert did.campaign_id is None and did.user_id is None


def test_given_other_tenants_did_or_campaign_then_refused(acme, auth, make_tenant):
    tenant, _admin, _agent = acme
    other, stranger = make_tenant("globex", role="user")
    theirs = Did.create(number="15550002221", tenant=other)
    pool = Did.create(number="15550002222")
    assert auth.post(f"/dids/{theirs.id}", {"destination": ""}).status_code == 404
    assert auth.post(f"/dids/{pool.id}", {"destination": ""}).status_code == 404
    mine = Did.create(number="15550002223", tenant=tenant)
    foreign = Campaign.create(tenant=other, name="Theirs")
    res = auth.post(f"/dids/{mine.id}", {"destination": f"campaign:{foreign.id}"},
                    follow_redirects=True)
    assert "No such campaign in this organisation." in res.get_data(as_text=True)
    res = auth.post(f"/dids/{mine.id}", {"destination": f"user:{stranger.id}"},
                    follow_redirects=True)
    assert "No such user in this organisation." in res.get_data(as_text=True)
    assert Did.get_by_id(mine.id).campaign_id is None and Did.get_by_id(mine.id).user_id is None


def test_given_did_list_then_only_own_numbers(acme, client, make_tenant):
    tenant, _admin, _agent = acme
    other, _u = make_tenant("globex")
    Did.create(number="15550003331", tenant=tenant)
    Did.create(number="15550003332", tenant=other)
    page = client.get("/dids/").get_data(as_text=True)
    assert "15550003331" in page and "15550003332" not in page


def test_given_extension_when_assigned_then_user_set_and_caller_name_rendered(
        acme, auth, client, settings):
    tenant, _admin, agent = acme
    agent.first_name, agent.last_name = "Ann", "Agent"
    agent.save()
    ext = Extension.create(number="2101", secret="secret-2101", tenant=tenant)
    Extension.create(number="2199", secret="secret-2199")  # the provider's pool
    page = client.get("/extensions/").get_data(as_text=True)
    assert "2101" in page and "2199" not in page
    res = auth.post(f"/extensions/{ext.id}/assign", {"user_id": str(agent.id)},
                    follow_redirects=True)
    assert "Extension 2101 assigned to agent7." in res.get_data(as_text=True)
    assert Extension.get_by_id(ext.id).user_id == agent.id
    assert TenantLog.get(TenantLog.action == "extension.assign").tenant_id == tenant.id
    conf = pjsip_sync.conf_path(settings).read_text()
    assert '[2101]' in conf and 'callerid = "Ann Agent" <2101>' in conf
    assert "password = secret-2101" in conf and "[2199]" not in conf

    auth.post(f"/extensions/{ext.id}/assign", {"user_id": ""})
    assert Extension.get_by_id(ext.id).user_id is None
    assert 'callerid = "2101" <2101>' in pjsip_sync.conf_path(settings).read_text()


def test_given_other_tenants_extension_or_user_then_refused(acme, auth, make_tenant):
    tenant, _admin, _agent = acme
    other, stranger = make_tenant("globex", role="user")
    theirs = Extension.create(number="2201", secret="s-2201", tenant=other)
    assert auth.post(f"/extensions/{theirs.id}/assign", {"user_id": ""}).status_code == 404
    mine = Extension.create(number="2202", secret="s-2202", tenant=tenant)
    res = auth.post(f"/extensions/{mine.id}/assign", {"user_id": str(stranger.id)},
                    follow_redirects=True)
    assert "No such user in this organisation." in res.get_data(as_text=True)
    assert Extension.get_by_id(mine.id).user_id is None


def test_given_supervisor_then_extensions_and_dids_read_only(app, make_tenant, auth, client):
    tenant, sup = make_tenant("acme", role="supervisor")
    ext = Extension.create(number="2301", secret="hidden-secret", tenant=tenant)
    did = Did.create(number="15550004441", tenant=tenant)
    auth.login(sup.username, f"pw-{sup.username}")
    page = client.get("/extensions/").get_data(as_text=True)
    assert "2301" in page and "hidden-secret" not in page
    assert auth.post(f"/extensions/{ext.id}/assign", {"user_id": str(sup.id)}).status_code == 403
    assert "15550004441" in client.get("/dids/").get_data(as_text=True)
    assert auth.post(f"/dids/{did.id}", {"destination": ""}).status_code == 403


def test_render_skips_extensions_that_would_break_the_config(db, make_tenant, settings):
    tenant, _u = make_tenant("acme")
    Extension.create(number="2401", secret="good-secret", tenant=tenant)
    Extension.create(number="24 02]\n[evil", secret="x", tenant=tenant)
    Extension.create(number="2403", secret="bad secret\ntype=aor", tenant=tenant)
    pjsip_sync.sync(settings, reload=False)
    text = pjsip_sync.conf_path(settings).read_text()
    assert "[2401]" in text and "evil" not in text and "2403" not in text
    assert text.count("type = endpoint") == 1


def test_given_did_when_routed_to_queue_with_closed_user_then_saved_and_shown(acme, auth, client):
    from models.entities import Queue
    tenant, _admin, agent = acme
    queue = Queue.create(tenant=tenant, name="Support")
    did = Did.create(number="15550005551", tenant=tenant, user=agent)
    res = auth.post(f"/dids/{did.id}", {"destination": f"queue:{queue.id}",
                                         "closed": f"user:{agent.id}", "closed_text": "",
                                         "greeting_text": ""}, follow_redirects=True)
    assert "DID 15550005551 saved." in res.get_data(as_text=True)
    did = Did.get_by_id(did.id)
    assert (did.route, did.queue_id, did.user_id) == ("queue", queue.id, None)
    assert (did.closed_route, did.closed_target) == ("user", agent.id)
    page = client.get("/dids/").get_data(as_text=True)
    assert f'value="queue:{queue.id}" selected' in page and f'value="user:{agent.id}" selected' in page

    auth.post(f"/dids/{did.id}", {"destination": "greeting", "closed": "greeting",
                                   "closed_text": "We are closed.", "greeting_text": ""})
    did = Did.get_by_id(did.id)
    assert (did.route, did.queue_id, did.closed_route, did.closed_target, did.closed_text) == (
        "greeting", None, "greeting", None, "We are closed.")


def test_given_other_tenants_queue_or_ivr_as_any_destination_then_refused(acme, auth, make_tenant):
    from models.entities import Ivr, Queue
    tenant, _admin, _agent = acme
    other, _u = make_tenant("globex")
    their_queue = Queue.create(tenant=other, name="Theirs")
    their_ivr = Ivr.create(tenant=other, name="Theirs")
    mine = Did.create(number="15550005552", tenant=tenant)
    for form, message in (({"destination": f"queue:{their_queue.id}"}, "No such queue"),
                          ({"destination": f"ivr:{their_ivr.id}"}, "No such IVR"),
                          ({"destination": "greeting", "closed": f"queue:{their_queue.id}"},
                           "No such queue"),
                          ({"destination": "bogus:1"}, "Choose a destination")):
        res = auth.post(f"/dids/{mine.id}", form, follow_redirects=True)
        assert message in res.get_data(as_text=True), form
    did = Did.get_by_id(mine.id)
    assert (did.route, did.queue_id, did.ivr_id, did.closed_route) == ("greeting", None, None, "")


def test_route_service_needs_the_routes_target(acme):
    from voxcast.numbers.routing import RoutingError, route_did
    tenant, _admin, _agent = acme
    did = Did.create(number="15550005553", tenant=tenant)
    with pytest.raises(RoutingError, match="Choose the queue"):
        route_did(did, route="queue")
    with pytest.raises(RoutingError, match="outside opening hours"):
        route_did(did, closed_route="campaign")
    with pytest.raises(RoutingError, match="route must be"):
        route_did(did, route="elsewhere")


def test_returned_did_forgets_its_routing(acme):
    from models.entities import Queue
    from voxcast.numbers import pool
    tenant, _admin, agent = acme
    queue = Queue.create(tenant=tenant, name="Support")
    did = Did.create(number="15550005554", tenant=tenant, route="queue", queue=queue,
                     closed_route="user", closed_target=agent.id, closed_text="Closed.")
    pool.return_did(tenant, did.id)
    did = Did.get_by_id(did.id)
    assert (did.tenant_id, did.route, did.queue_id, did.closed_route, did.closed_target,
            did.closed_text) == (None, "greeting", None, "", None, "")


def test_user_destination_at_call_time_is_the_tenants_active_user_with_their_phones(acme):
    from voxcast.numbers import did_routes
    tenant, _admin, agent = acme
    tenant.email = "office@acme.test"
    tenant.save()
    Extension.create(number="2902", secret="s2", tenant=tenant, user=agent)
    Extension.create(number="2901", secret="s1", tenant=tenant, user=agent)
    target = did_routes.user_target(tenant.id, agent.id)
    assert target.extensions == ("2901", "2902")
    assert target.email == "office@acme.test"  # the agent has no address of their own
    agent.email = "agent7@acme.test"
    agent.save()
    assert did_routes.user_target(tenant.id, agent.id).email == "agent7@acme.test"
    assert did_routes.user_target(tenant.id + 1000, agent.id) is None  # not that tenant's
    agent.active = False
    agent.save()
    assert did_routes.user_target(tenant.id, agent.id) is None  # disabled: the greeting


def test_campaign_destination_at_call_time(acme, make_tenant):
    import json
    from models.entities import CampaignAgent, Ivr
    from voxcast.numbers import did_routes
    tenant, _admin, agent = acme
    other, _u = make_tenant("globex")
    tree = {"start": "a", "nodes": {"a": {"type": "say", "text": "Hi"}}}
    mine = Ivr.create(tenant=tenant, name="Mine", tree=json.dumps(tree))
    theirs = Ivr.create(tenant=other, name="Theirs", tree=json.dumps(tree))
    message = Campaign.create(tenant=tenant, name="Msg", type="voice_message",
                              message_file="campaign-x")
    silent = Campaign.create(tenant=tenant, name="Silent", type="voice_message")
    ivr_ok = Campaign.create(tenant=tenant, name="IVR", type="voice_ivr", ivr=mine)
    ivr_bad = Campaign.create(tenant=tenant, name="IVR bad", type="voice_ivr", ivr=theirs)
    agents = Campaign.create(tenant=tenant, name="Agents", type="voice_agent",
                             wrapup_seconds=7)
    CampaignAgent.create(tenant=tenant, campaign=agents, user=agent)

    spec = did_routes.campaign_target(tenant.id, message.id, "+4930", 5).spec
    assert spec.tree["nodes"]["m0"] == {"type": "play", "sound": "campaign-x"}
    assert (spec.campaign_id, spec.call_id, spec.contact_id, spec.phone) == (message.id, 5, None,
                                                                            "+4930")
    assert did_routes.campaign_target(tenant.id, silent.id, "+4930", 5) is None
    assert did_routes.campaign_target(tenant.id, ivr_ok.id, "+4930", 5).spec.tree == tree
    dest = did_routes.Destination("campaign", ivr_bad.id)
    assert did_routes.resolve(tenant.id, dest, "+4930", 5) is None  # another tenant's IVR
    target = did_routes.campaign_target(tenant.id, agents.id, "+4930", 5)
    assert (target.spec, target.agent_ids, target.wrapup_seconds) == (None, (agent.id,), 7)
    assert did_routes.campaign_target(other.id, agents.id, "+4930", 5) is None
