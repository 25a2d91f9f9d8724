"""Security issue 10, finding 10 (a): a campaign shows one of its tenant's own DIDs as caller
ID, or none (the trunk's default); never an arbitrary number nor another tenant's DID. One
check in voxcast.campaigns.services, used by the portal and the JSON API alike."""
from __future__ import annotations

import pytest

from models import Campaign, Did, Tenant
from voxcast.campaigns import services as campaign_service
from voxcast.numbers import pool as pool_service
from voxcast.campaigns.services import CampaignError

from .api_support import admin_api, master_api  # noqa: F401  (fixtures)

FORM = {"name": "Caller", "channel_limit": "3", "dial_timeout": "30", "retry_busy": "0",
        "retry_noanswer": "0", "retry_failed": "0", "retry_interval": "300",
        "repeat_count": "1", "ivr": "0", "type": "voice_message", "message_text": "Hello"}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def numbers(master, make_tenant):
    """Master owns +4930111; acme owns +4930222; +4930333 is in the pool."""
    acme, _ = make_tenant("acme")
    Did.create(number="+4930111", tenant=master)
    Did.create(number="+4930222", tenant=acme)
    Did.create(number="+4930333")
    return acme


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("caller_id", ["+4930222", "+4930333", "+12025550100", "4930222"])
def test_given_a_number_not_the_tenants_when_campaign_created_in_the_portal_then_refused(
        auth, master, make_group, numbers, caller_id):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id), "caller_id": caller_id})
    assert resp.status_code == 400 and "is not one of your numbers" in text(resp)
    assert Campaign.select().where(Campaign.name == "Caller").count() == 0


@pytest.mark.parametrize("given, stored", [("+4930111", "+4930111"), ("4930111", "+4930111"),
                                           ("", "")])
def test_given_own_did_or_empty_when_created_then_saved_in_the_dids_spelling(
        auth, master, make_group, numbers, given, stored):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    page = text(auth.client.get("/campaigns/new"))
    assert "+4930111" in page and "+4930222" not in page  # the form lists its own numbers
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id), "caller_id": given})
    assert resp.status_code == 302, text(resp)
    assert Campaign.get(Campaign.name == "Caller").caller_id == stored


def test_given_a_foreign_number_when_campaign_edited_then_refused_and_unchanged(
        auth, master, make_group, numbers):
    group = make_group(master, phones=["+12025550101"])
    campaign = Campaign.create(tenant=master, name="Caller", group=group, caller_id="+4930111")
    auth.login()
    resp = auth.post(f"/campaigns/{campaign.id}/edit",
                     {**FORM, "group": str(group.id), "caller_id": "+4930222"})
    assert resp.status_code == 400 and "is not one of your numbers" in text(resp)
    assert Campaign.get_by_id(campaign.id).caller_id == "+4930111"


def test_given_api_when_caller_id_foreign_then_422_and_own_did_accepted(
        master_api, master, make_group, numbers):  # noqa: F811
    group = make_group(master, phones=["+12025550101"])
    resp = master_api.post("/api/v1/campaigns", json={"name": "API", "group_id": group.id,
                                                      "caller_id": "+4930222"})
    assert resp.status_code == 422 and "caller_id" in resp.json["error"]["fields"], resp.json
    assert Campaign.select().where(Campaign.name == "API").count() == 0
    resp = master_api.post("/api/v1/campaigns", json={"name": "API", "group_id": group.id,
                                                      "caller_id": "4930111"})
    assert resp.status_code == 201 and resp.json["caller_id"] == "+4930111"
    cid = resp.json["id"]
    resp = master_api.patch(f"/api/v1/campaigns/{cid}", json={"caller_id": "+19999999999"})
    assert resp.status_code == 422
    assert Campaign.get_by_id(cid).caller_id == "+4930111"
    assert master_api.patch(f"/api/v1/campaigns/{cid}", json={"caller_id": ""}).json[
        "caller_id"] == ""


def test_given_did_returned_then_campaigns_stop_showing_it_and_start_refuses_a_stale_one(
        db, make_tenant, make_group, settings):
    tenant, _ = make_tenant("acme")
    did = Did.create(number="+4930444", tenant=tenant)
    group = make_group(tenant, phones=["+12025550101"])
    campaign = Campaign.create(tenant=tenant, name="C", group=group, caller_id="+4930444")
    pool_service.return_did(tenant, did.id)
    assert Campaign.get_by_id(campaign.id).caller_id == ""

    Campaign.update(caller_id="+4930444").where(Campaign.id == campaign.id).execute()
    with pytest.raises(CampaignError, match="not one of your numbers"):
        campaign_service.check_startable(Campaign.get_by_id(campaign.id), settings)


# -- numbers the provider allows a tenant besides its DIDs ----------------------------------

def _edit_form(tenant, **over):
    return {"name": tenant.name, "slug": tenant.slug, "company_size": "", "country": "DE",
            "email": "", "timezone": "UTC", "language": "en", "rate_plan": "0",
            "channel_limit": "10", **over}


def test_given_provider_allows_a_number_then_only_that_tenant_may_show_it(
        auth, client, master, make_group, numbers):
    from .conftest import ADMIN_PASSWORD
    auth.login("admin", ADMIN_PASSWORD)
    resp = auth.post(f"/admin/tenants/{master.id}/edit",
                     _edit_form(master, allowed_caller_ids="+49 30 999 \n 442071838750"))
    assert resp.status_code == 302, text(resp)
    assert Tenant.get_by_id(master.id).allowed_caller_ids == "+4930999\n+442071838750"
    resp = auth.post(f"/admin/tenants/{master.id}/edit",
                     _edit_form(master, allowed_caller_ids="=HYPERLINK(1)"))
    assert resp.status_code == 400 and "international form" in text(resp)
    assert campaign_service.check_caller_id(master.id, "442071838750") == "+442071838750"
    with pytest.raises(CampaignError):  # another tenant's allow list is not master's
        campaign_service.check_caller_id(numbers.id, "+442071838750")


def test_given_api_patch_without_the_list_then_the_allowed_numbers_are_kept(admin_api, master):
    resp = admin_api.patch(f"/api/v1/tenants/{master.id}", json={"allowed_caller_ids": ["+4930999"]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["allowed_caller_ids"] == ["+4930999"]
    resp = admin_api.patch(f"/api/v1/tenants/{master.id}", json={"channel_limit": 12})
    assert resp.get_json()["allowed_caller_ids"] == ["+4930999"]
    resp = admin_api.patch(f"/api/v1/tenants/{master.id}", json={"allowed_caller_ids": ["abc"]})
    assert resp.status_code == 422
