"""A campaign's message from the tenant's audio library: picked in the portal's form or given
as prompt_id in the API, it becomes the campaign's message_file (the library's file, not a
copy), the campaign can start, the prompt shows the campaign as a use; another tenant's prompt
is refused and nothing saved."""
from __future__ import annotations

import pytest

from models import Campaign, Tenant
from voxcast.audio import library
from voxcast.campaigns import services as campaign_service

from .api_support import master_api  # noqa: F401  (fixture)


@pytest.fixture
def master(app):
    tenant = Tenant.get(Tenant.slug == "master")
    Tenant.update(disk_quota_mb=50).where(Tenant.id == tenant.id).execute()
    return Tenant.get_by_id(tenant.id)


def _prompt(tenant, settings, wav, name="Offer"):
    return library.upload(tenant.id, name, "tone.wav", wav.read_bytes(), settings)


def test_a_prompt_picked_in_the_form_is_the_campaigns_message(auth, client, master, make_group,
                                                              settings, wav):
    prompt = _prompt(master, settings, wav)
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    page = client.get("/campaigns/new").get_data(as_text=True)
    assert f'<option value="{prompt.id}">Offer ({prompt.seconds} s)</option>' in page
    resp = auth.post("/campaigns/new", {"name": "From library", "type": "voice_message",
                                        "group": str(group.id), "message_text": "",
                                        "message_prompt": str(prompt.id), "channel_limit": "2",
                                        "dial_timeout": "30", "retry_busy": "0",
                                        "retry_noanswer": "0", "retry_failed": "0",
                                        "retry_interval": "300", "retry_machine": "0",
                                        "repeat_count": "1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    campaign = Campaign.get(Campaign.name == "From library")
    assert campaign.message_file == prompt.sound and campaign.message_text == ""
    assert float(campaign.message_seconds) == float(prompt.seconds)
    campaign_service.check_startable(campaign, settings)  # its file is the library's
    detail = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert ">Offer</a> (Audio library" in detail
    assert f'src="/prompts/{prompt.id}/audio"' in detail
    edit = client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{prompt.id}">' in edit
    assert [u.name for u in library.uses(master.id, [prompt])[prompt.id]] == ["From library"]
    with pytest.raises(library.PromptInUse):
        library.delete(master.id, prompt.id, settings)


def test_the_api_takes_prompt_id_and_refuses_another_tenants(master_api, master, make_group,  # noqa: F811
                                                             make_tenant, settings, wav):
    mine = _prompt(master, settings, wav)
    other, _ = make_tenant("other", disk_quota_mb=50)
    theirs = _prompt(other, settings, wav, name="Theirs")
    group = make_group(master, phones=["+12025550101"])
    resp = master_api.post("/api/v1/campaigns", json={"name": "Steal", "group_id": group.id,
                                                      "prompt_id": theirs.id})
    assert resp.status_code == 422, resp.json
    assert resp.json["error"]["fields"] == {"prompt_id": "No such prompt in your audio library."}
    assert not Campaign.select().where(Campaign.name == "Steal").exists()
    resp = master_api.post("/api/v1/campaigns", json={"name": "Mine", "group_id": group.id,
                                                      "prompt_id": mine.id})
    assert resp.status_code == 201, resp.json
    assert resp.json["message_file"] == mine.sound
    resp = master_api.patch(f"/api/v1/campaigns/{resp.json['id']}",
                            json={"prompt_id": theirs.id})
    assert resp.status_code == 422
    assert Campaign.get(Campaign.name == "Mine").message_file == mine.sound
