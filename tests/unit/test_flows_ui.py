"""Interactive campaign types and IVRs in the tenant portal and the JSON API: settings checked
before anything is saved, IVR editor, survey results and CSV, outcomes on the contact page,
DIDs running an IVR, and the campaigns/ivrs API resources."""
from __future__ import annotations

import json
import secrets

import pytest

from models import Campaign, CampaignContact, Contact, Did, Extension, Tenant, TenantLog
from models.entities import Ivr, SurveyAnswer
from voxcast.ivr import services as flow_service
from voxcast.campaigns import services as campaign_service

from .api_support import master_api  # noqa: F401

FORM = {"name": "Flow", "caller_id": "", "channel_limit": "3", "dial_timeout": "30",
        "retry_busy": "0", "retry_noanswer": "0", "retry_failed": "0", "retry_interval": "300",
        "repeat_count": "1", "ivr": "0"}
GOOD_TREE = {"start": "a", "nodes": {"a": {"type": "menu", "text": "Press 1",
                                           "options": {"1": "b"}},
                                     "b": {"type": "hangup", "text": "Bye"}}}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def test_ivr_editor_saves_a_valid_tree_and_refuses_an_invalid_one_with_reasons(auth, master):
    auth.login()
    assert auth.client.get("/ivrs/new").status_code == 200
    bad = {"start": "a", "nodes": {"a": {"type": "say", "text": "x", "next": "b"},
                                   "b": {"type": "say", "text": "y", "next": "a"},
                                   "c": {"type": "transfer"}}}
    resp = auth.post("/ivrs/new", {"name": "Main", "tree": json.dumps(bad)})
    body = text(resp)
    assert resp.status_code == 400 and "The IVR was not saved" in body
    assert "node &#39;c&#39;: &#39;target&#39; needs a kind" in body
    assert Ivr.select().count() == 0
    resp = auth.post("/ivrs/new", {"name": "Main", "tree": json.dumps(GOOD_TREE)})
    assert resp.status_code == 302
    row = Ivr.get(Ivr.name == "Main")
    assert row.tenant_id == master.id and json.loads(row.tree) == GOOD_TREE
    page = text(auth.client.get(f"/ivrs/{row.id}"))
    assert 'id="ivr-nodes"' in page and "1 → b" in page
    assert TenantLog.get(TenantLog.action == "ivr.create").object_id == str(row.id)
    # an edit that breaks the tree changes nothing
    resp = auth.post(f"/ivrs/{row.id}", {"name": "Renamed", "tree": '{"start": "x", "nodes": {}}'})
    assert resp.status_code == 400 and "the tree has no nodes" in text(resp)
    assert Ivr.get_by_id(row.id).name == "Main"


def test_ivr_transfer_to_another_tenants_extension_is_refused(auth, master, make_tenant):
    other, _ = make_tenant("acme")
    Extension.create(number="5501", secret="x", tenant=other)
    Extension.create(number="5502", secret="x", tenant=master)
    t = {"start": "a", "nodes": {"a": {"type": "transfer",
                                       "target": {"kind": "agents", "value": ["5502", "5501"]}}}}
    auth.login()
    resp = auth.post("/ivrs/new", {"name": "T", "tree": json.dumps(t)})
    assert resp.status_code == 400 and "extension 5501 is not one of your extensions" in text(resp)
    assert Ivr.select().count() == 0


def test_ivr_in_use_cannot_be_deleted(auth, master, make_group):
    row = flow_service.save_ivr(master.id, "Used", GOOD_TREE)
    Campaign.create(tenant=master, name="Uses it", type="voice_ivr", ivr=row,
                    group=make_group(master, phones=["+12025550101"]))
    auth.login()
    resp = auth.post(f"/ivrs/{row.id}/delete", {}, follow_redirects=True)
    assert "Not deleted: the IVR is used by campaign &#39;Uses it&#39;" in text(resp)
    assert Ivr.select().count() == 1


def test_reminder_campaign_with_unknown_placeholder_is_not_saved(auth, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    flow = {"text": "Hello {first_name}, see you {when}."}
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id),
                                        "type": "appointment_reminder", "flow": json.dumps(flow)})
    assert resp.status_code == 400
    assert "Nothing was saved" in text(resp) and "unknown placeholder {when}" in text(resp)
    assert Campaign.select().count() == 0
    flow = {"text": "Hello {first_name}, see you {custom1} at {custom2}."}
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id),
                                        "type": "appointment_reminder", "flow": json.dumps(flow)})
    assert resp.status_code == 302
    campaign = Campaign.get()
    assert campaign.type == "appointment_reminder" and json.loads(campaign.flow)["text"] == flow["text"]


def test_start_checks_depend_on_the_type(auth, master, make_group, settings):
    group = make_group(master, phones=["+12025550101"])
    ivr_campaign = Campaign.create(tenant=master, name="I", type="voice_ivr", group=group)
    with pytest.raises(campaign_service.CampaignError, match="Choose the IVR"):
        campaign_service.start(ivr_campaign, settings)
    survey = Campaign.create(tenant=master, name="S", type="voice_survey", group=group,
                             flow=json.dumps({"questions": [{"key": "q1", "text": "Q",
                                                             "digits": "12"}]}))
    campaign_service.start(survey, settings)  # no message audio needed
    assert Campaign.get_by_id(survey.id).status == "running"
    press = Campaign.create(tenant=master, name="P", type="voice_interactive", group=group,
                            flow=json.dumps({"transfer": {"kind": "number", "value": "+12025550100"}}))
    with pytest.raises(campaign_service.CampaignError, match="message audio is missing"):
        campaign_service.start(press, settings)


def _survey_with_answers(master, make_group):
    group = make_group(master, phones=["+12025550101", "+12025550102"])
    campaign = Campaign.create(tenant=master, name="Survey", type="voice_survey", group=group,
                               flow=json.dumps({"questions": [
                                   {"key": "q1", "text": "Happy?", "digits": "12"}]}))
    contacts = list(Contact.select().where(Contact.group == group).order_by(Contact.id))
    for contact, digit in zip(contacts, "21"):
        SurveyAnswer.create(tenant=master, campaign=campaign, contact=contact, question="q1",
                            digit=digit)
    return campaign, contacts


def test_survey_results_page_and_csv(auth, master, make_group):
    campaign, contacts = _survey_with_answers(master, make_group)
    Contact.update(first_name="=cmd").where(Contact.id == contacts[0].id).execute()
    auth.login()
    page = text(auth.client.get(f"/campaigns/{campaign.id}"))
    assert "Survey results" in page and "q1: Happy?" in page and "2 answers" in page
    resp = auth.client.get(f"/campaigns/{campaign.id}/survey.csv")
    rows = text(resp).splitlines()
    assert resp.mimetype == "text/csv" and rows[0].startswith("phone,first_name")
    # formula-safe cells; the E.164 number is a plain number, left as it is
    assert rows[1].startswith("+12025550101,'=cmd,,q1,2,")
    assert rows[2].split(",")[3:5] == ["q1", "1"]


def test_contact_page_shows_campaign_outcomes_and_progress_counts_them(auth, master, make_group,
                                                                       settings):
    group = make_group(master, phones=["+12025550101", "+12025550102"])
    campaign = Campaign.create(tenant=master, name="Reminder", type="appointment_reminder",
                               group=group, flow=json.dumps({"text": "Hi {first_name}."}))
    campaign_service.start(campaign, settings)
    first, second = CampaignContact.select().order_by(CampaignContact.id)
    CampaignContact.update(result="confirmed").where(CampaignContact.id == first.id).execute()
    CampaignContact.update(result="cancelled").where(CampaignContact.id == second.id).execute()
    p = campaign_service.progress(campaign)
    assert (p["confirmed"], p["cancelled"], p["pressed1"]) == (1, 1, 0)
    auth.login()
    page = text(auth.client.get(f"/contacts/{first.contact_id}/edit"))
    assert 'id="outcomes"' in page and "Reminder" in page and "confirmed" in page


def test_did_runs_an_ivr_of_its_tenant_only(auth, master, make_tenant):
    did = Did.create(number="15557770100", tenant=master)
    mine = flow_service.save_ivr(master.id, "Mine", GOOD_TREE)
    other, _ = make_tenant("acme")
    theirs = flow_service.save_ivr(other.id, "Theirs", GOOD_TREE)
    auth.login()
    resp = auth.post(f"/dids/{did.id}", {"destination": f"ivr:{theirs.id}"},
                     follow_redirects=True)
    assert "No such IVR" in text(resp) and Did.get_by_id(did.id).ivr_id is None
    auth.post(f"/dids/{did.id}", {"destination": f"ivr:{mine.id}"})
    did = Did.get_by_id(did.id)
    assert (did.route, did.ivr_id) == ("ivr", mine.id)
    assert "Mine" in text(auth.client.get("/dids/"))


# -- JSON API ---------------------------------------------------------------------------------

def test_api_creates_a_survey_campaign_starts_pauses_and_stops_it(master_api, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    flow = {"questions": [{"key": "q1", "text": "Press 1 or 2", "digits": "12"}]}
    resp = master_api.post("/api/v1/campaigns", json={"name": "API survey", "group_id": group.id,
                                                      "type": "voice_survey", "flow": flow})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["type"] == "voice_survey" and body["flow"]["questions"] == flow["questions"]
    cid = body["id"]
    assert master_api.post(f"/api/v1/campaigns/{cid}/start").json["status"] == "running"
    assert master_api.post(f"/api/v1/campaigns/{cid}/pause").json["status"] == "paused"
    assert master_api.post(f"/api/v1/campaigns/{cid}/stop").json["status"] == "stopped"
    again = master_api.post(f"/api/v1/campaigns/{cid}/start")
    assert again.status_code == 409 and "cannot be started again" in again.json["error"]["message"]
    assert master_api.get(f"/api/v1/campaigns/{cid}/survey").json["items"][0]["key"] == "q1"
    assert master_api.get(f"/api/v1/campaigns/{cid}").json["progress"]["total"] == 1
    actions = {r.action for r in TenantLog.select().where(TenantLog.object_id == str(cid))}
    assert {"campaign.create", "campaign.start", "campaign.pause", "campaign.stop"} <= actions


def test_api_refuses_bad_flow_and_foreign_group_without_saving(master_api, master, make_group,
                                                               make_tenant):
    other, _ = make_tenant("acme")
    foreign = make_group(other, phones=["+12025550109"])
    mine = make_group(master, phones=["+12025550101"])
    resp = master_api.post("/api/v1/campaigns", json={"name": "X", "group_id": foreign.id})
    assert resp.status_code == 422 and resp.json["error"]["fields"] == {"group_id": "no such group"}
    resp = master_api.post("/api/v1/campaigns", json={
        "name": "X", "group_id": mine.id, "type": "appointment_reminder",
        "flow": {"text": "Hi {nickname}"}})
    assert resp.status_code == 422 and "unknown placeholder {nickname}" in resp.json["error"]["message"]
    assert Campaign.select().count() == 0


def test_api_ivrs_validate_and_serve_campaigns(master_api, master, make_group):
    resp = master_api.post("/api/v1/ivrs", json={"name": "Bad", "tree": {"start": "a", "nodes": {
        "a": {"type": "say", "text": "x", "next": "a"}}}})
    assert resp.status_code == 422 and "loop without a node" in resp.json["error"]["message"]
    resp = master_api.post("/api/v1/ivrs", json={"name": "Main", "tree": GOOD_TREE})
    assert resp.status_code == 201
    ivr_id = resp.json["id"]
    group = make_group(master, phones=["+12025550101"])
    resp = master_api.post("/api/v1/campaigns", json={"name": "IVR", "group_id": group.id,
                                                      "type": "voice_ivr", "ivr_id": ivr_id})
    assert resp.status_code == 201 and resp.json["ivr_id"] == ivr_id
    assert master_api.delete(f"/api/v1/ivrs/{ivr_id}").status_code == 409
    patched = master_api.patch(f"/api/v1/ivrs/{ivr_id}", json={"name": "Main menu"})
    assert patched.status_code == 200 and patched.json["name"] == "Main menu"


def test_ivr_number_is_saved_and_may_not_clash(db, make_tenant):
    """An IVR's number (dialled by the tenant's phones) is short digits, none of the tenant's
    extensions, queues or other IVRs; another tenant may use the same number."""
    from models import Extension
    from models.entities import Queue
    from voxcast.ivr import services as flow_service
    tenant, _u = make_tenant("acme")
    other, _o = make_tenant("globex")
    tree = '{"start": "a", "nodes": {"a": {"type": "say", "text": "Hi"}}}'
    row = flow_service.save_ivr(tenant.id, "Main", tree, number="500")
    assert Ivr.get_by_id(row.id).number == "500"
    Extension.create(number="501", secret="s", tenant=tenant)
    Queue.create(tenant=tenant, name="Q", number="502")
    for number, message in (("501", "one of your extensions"), ("502", "one of your queues"),
                            ("500", "another IVR"), ("112", "emergency"), ("5a", "2 to 6")):
        with pytest.raises(flow_service.FlowServiceError, match=message):
            flow_service.save_ivr(tenant.id, f"Other {number}", tree, number=number)
    assert flow_service.save_ivr(other.id, "Theirs", tree, number="500").number == "500"
    flow_service.save_ivr(tenant.id, "Main", tree, row=Ivr.get_by_id(row.id))  # number kept
    assert Ivr.get_by_id(row.id).number == "500"


def test_ivr_transfer_to_another_tenants_queue_is_refused(db, make_tenant):
    from models.entities import Queue
    tenant, _u = make_tenant("acme")
    other, _o = make_tenant("globex")
    mine, theirs = Queue.create(tenant=tenant, name="Mine"), Queue.create(tenant=other, name="T")
    tree = {"start": "t", "nodes": {"t": {"type": "transfer",
                                          "target": {"kind": "queue", "value": theirs.id}}}}
    with pytest.raises(flow_service.FlowServiceError, match=f"queue {theirs.id} is not one"):
        flow_service.save_ivr(tenant.id, "To queue", json.dumps(tree))
    tree["nodes"]["t"]["target"]["value"] = mine.id
    assert flow_service.save_ivr(tenant.id, "To queue", json.dumps(tree)).id


def test_ivr_used_outside_opening_hours_cannot_be_deleted(db, make_tenant):
    tenant, _u = make_tenant("acme")
    row = flow_service.save_ivr(tenant.id, "Night", GOOD_TREE)
    Did.create(number="15557770199", tenant=tenant, closed_route="ivr", closed_target=row.id)
    with pytest.raises(flow_service.FlowServiceError, match="DID 15557770199"):
        flow_service.delete_ivr(row)


def test_ivr_form_lists_the_tenants_queues_as_transfer_targets(auth, master, make_tenant):
    from models.entities import Queue
    other, _ = make_tenant("acme")
    mine = Queue.create(tenant=master, name="Sales line")
    Queue.create(tenant=other, name="Their secret line")
    auth.login()
    page = text(auth.client.get("/ivrs/new"))
    assert f"Sales line ({mine.id})" in page and "Their secret line" not in page
    assert "queue-targets" in page
