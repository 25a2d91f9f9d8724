"""The portal and the API create and update campaigns through one service
(voxcast.campaigns.editing): the same checks, the same refusals, nothing saved on bad input."""
from __future__ import annotations

import io

import pytest

from models import Campaign, Tenant, TenantLog

from .api_support import master_api  # noqa: F401  (fixture)

FORM = {"name": "Same", "channel_limit": "3", "dial_timeout": "30", "retry_busy": "0",
        "retry_noanswer": "0", "retry_failed": "0", "retry_interval": "300",
        "retry_machine": "0", "amd_action": "hangup", "repeat_count": "1", "ivr": "0",
        "type": "voice_message", "message_text": "Hello there", "caller_id": ""}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


@pytest.mark.parametrize("field, value, reason", [
    ("windows", "Mon-Fri 25:00-26:00", "windows"),
    ("caller_id", "+12025550100", "caller_id"),
    ("channel_limit", 99999, "channel_limit"),
])
def test_given_the_same_bad_value_then_portal_and_api_refuse_it_alike(
        auth, master_api, master, make_group, field, value, reason):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id), field: str(value)})
    assert resp.status_code == 400
    api = master_api.post("/api/v1/campaigns", json={
        "name": "Same", "group_id": group.id, "message_text": "Hello there", field: value})
    if field == "channel_limit":  # the published schema caps it before the service does
        assert api.status_code == 422
    else:
        assert api.status_code == 422 and reason in api.json["error"]["fields"], api.json
        assert api.json["error"]["fields"][reason] in resp.get_data(as_text=True).replace(
            "&#39;", "'")
    assert Campaign.select().count() == 0
    assert not TenantLog.select().where(TenantLog.action == "campaign.create").exists()


def test_given_an_upload_that_is_not_audio_when_created_in_the_portal_then_nothing_saved(
        auth, master, make_group, settings):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id), "message_text": "",
                                        "message_audio": (io.BytesIO(b"not a wav"), "x.wav")},
                     content_type="multipart/form-data")
    assert resp.status_code == 400 and "could not convert" in resp.get_data(as_text=True)
    assert Campaign.select().count() == 0  # before, the portal saved it and deleted it again
    assert not list(settings.sounds_dir.glob("upload-*.wav"))


def test_given_an_upload_then_it_becomes_the_campaigns_own_file(auth, master, make_group,
                                                               settings, wav):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**FORM, "group": str(group.id), "message_text": "",
                                        "message_audio": (wav.open("rb"), "tone.wav")},
                     content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    campaign = Campaign.get(Campaign.name == "Same")
    assert campaign.message_file == f"campaign-{campaign.id}"
    assert (settings.sounds_dir / f"campaign-{campaign.id}.wav").is_file()
    assert not list(settings.sounds_dir.glob("upload-*.wav"))


def test_api_sets_what_the_portal_sets(master_api, master, make_group):
    """AMD, recording and calling hours were portal-only; the service gives both the same."""
    group = make_group(master, phones=["+12025550101"])
    resp = master_api.post("/api/v1/campaigns", json={
        "name": "Full", "group_id": group.id, "message_text": "Hi", "amd_enabled": True,
        "amd_action": "leave_message", "retry_machine": 2, "record": True,
        "windows": "Mon-Fri 09:00-17:00"})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert (body["amd_enabled"], body["amd_action"], body["retry_machine"], body["record"]) == (
        True, "leave_message", 2, True)
    assert body["windows"] == "Mon-Fri 09:00-17:00"
    resp = master_api.patch(f"/api/v1/campaigns/{body['id']}", json={"windows": ""})
    assert resp.status_code == 200 and resp.json["windows"] == ""
    log = TenantLog.select().where(TenantLog.action == "campaign.update").get()
    assert "windows" in log.detail and "via API" in log.detail
