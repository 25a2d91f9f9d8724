"""voxcast.campaigns.services against a real SQLite file, real sox and espeak-ng."""
from __future__ import annotations

import datetime as dt
import time
import wave

import pytest

from models import Call, Campaign, CampaignContact, Contact, Tenant
from voxcast.campaigns import flows_config
from voxcast.campaigns import services as campaign_service
from voxcast.campaigns.services import CampaignError


@pytest.fixture
def master(db):
    return Tenant.get(Tenant.slug == "master")


def make_campaign(tenant, group=None, **fields):
    return Campaign.create(tenant=tenant, name=fields.pop("name", "Spring sale"), group=group,
                           **fields)


def ready_campaign(master, settings, make_group, phones=("+12025550101", "+12025550102")):
    group = make_group(master, phones=phones)
    campaign = make_campaign(master, group)
    campaign_service.save_message(campaign, settings, text="Hello from the test.")
    return Campaign.get_by_id(campaign.id)


def reload(campaign):
    return Campaign.get_by_id(campaign.id)


# -- start refusals ---------------------------------------------------------------------

def test_start_without_group_is_refused(master, settings):
    campaign = make_campaign(master)
    with pytest.raises(CampaignError, match="no contact group"):
        campaign_service.start(campaign, settings)
    assert reload(campaign).status == "draft"


def test_start_with_empty_group_names_the_group(master, settings, make_group):
    campaign = make_campaign(master, make_group(master, name="Nobody"))
    campaign_service.save_message(campaign, settings, text="Hi.")
    with pytest.raises(CampaignError, match="Group 'Nobody' has no contacts"):
        campaign_service.start(campaign, settings)
    assert CampaignContact.select().count() == 0


def test_start_without_message_is_refused(master, settings, make_group):
    campaign = make_campaign(master, make_group(master, phones=["+12025550101"]))
    with pytest.raises(CampaignError) as err:
        campaign_service.start(campaign, settings)
    assert str(err.value) == "The campaign's message audio is missing; upload a file or enter text"


def test_start_with_deleted_sound_file_is_refused(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group)
    (settings.sounds_dir / f"{campaign.message_file}.wav").unlink()
    with pytest.raises(CampaignError, match="message audio is missing"):
        campaign_service.start(campaign, settings)
    assert reload(campaign).status == "draft"


def test_start_for_suspended_tenant_is_refused(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group)
    Tenant.update(status="suspended").where(Tenant.id == master.id).execute()
    with pytest.raises(CampaignError, match="suspended"):
        campaign_service.start(reload(campaign), settings)


@pytest.mark.parametrize("status", ["stopped", "completed"])
def test_start_of_finished_campaign_is_refused(master, settings, make_group, status):
    campaign = ready_campaign(master, settings, make_group)
    campaign.status = status
    campaign.save()
    with pytest.raises(CampaignError, match=f"is {status}"):
        campaign_service.start(campaign, settings)


# -- start, pause, resume, stop ----------------------------------------------------------

def test_start_queues_every_contact_and_runs(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group)
    campaign_service.start(campaign, settings)
    fresh = reload(campaign)
    assert fresh.status == "running" and fresh.status_reason == "" and fresh.started_at
    entries = list(CampaignContact.select().where(CampaignContact.campaign == campaign)
                   .order_by(CampaignContact.phone))
    assert [(e.phone, e.state, e.attempts, e.tenant_id) for e in entries] == [
        ("+12025550101", "pending", 0, master.id), ("+12025550102", "pending", 0, master.id)]
    assert all(isinstance(e.next_attempt_at, dt.datetime) for e in entries)


def test_resume_adds_only_new_contacts_and_keeps_started_at(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group)
    campaign_service.start(campaign, settings)
    started = reload(campaign).started_at
    CampaignContact.update(state="done").execute()
    campaign_service.pause(campaign)
    assert reload(campaign).status == "paused"
    Contact.create(tenant=master, group=campaign.group_id, phone="+12025550199")
    campaign_service.resume(reload(campaign), settings)
    fresh = reload(campaign)
    assert fresh.status == "running" and fresh.started_at == started
    states = dict(CampaignContact.select(CampaignContact.phone, CampaignContact.state).tuples())
    assert states == {"+12025550101": "done", "+12025550102": "done", "+12025550199": "pending"}


def test_start_ignores_other_tenants_contacts(master, settings, make_group, make_tenant):
    campaign = ready_campaign(master, settings, make_group)
    other, _ = make_tenant("acme")
    make_group(other, phones=["+12025550777"])
    campaign_service.start(campaign, settings)
    assert CampaignContact.select().count() == 2


def test_pause_only_from_running(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group)
    with pytest.raises(CampaignError, match="Only a running campaign"):
        campaign_service.pause(campaign)


def test_stop_keeps_pending_entries(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group)
    campaign_service.start(campaign, settings)
    campaign_service.stop(reload(campaign))
    fresh = reload(campaign)
    assert fresh.status == "stopped" and fresh.finished_at is not None
    assert CampaignContact.select().where(CampaignContact.state == "pending").count() == 2
    with pytest.raises(CampaignError, match="already stopped"):
        campaign_service.stop(fresh)


def test_status_change_does_not_overwrite_other_columns(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group)
    campaign_service.start(campaign, settings)
    # the dialer changes a column behind the stale object's back
    Campaign.update(channel_limit=9).where(Campaign.id == campaign.id).execute()
    campaign_service.pause(campaign)
    assert reload(campaign).channel_limit == 9


def test_start_is_fast_for_100k_contacts(master, settings, make_group):
    campaign = ready_campaign(master, settings, make_group, phones=())
    rows = ({"tenant": master.id, "group": campaign.group_id, "phone": f"+1202{i:07d}"}
            for i in range(100_000))
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == 2000:
            Contact.insert_many(batch).execute()
            batch = []
    t0 = time.monotonic()
    campaign_service.start(campaign, settings)
    elapsed = time.monotonic() - t0
    assert CampaignContact.select().count() == 100_000
    assert elapsed < 10, f"start took {elapsed:.1f}s"


# -- progress --------------------------------------------------------------------------

def test_progress_counts_calls_and_entries(master, settings, make_group):
    phones = [f"+1202555{i:04d}" for i in range(6)]
    campaign = ready_campaign(master, settings, make_group, phones=phones)
    before = campaign_service.progress(campaign)
    assert before["total"] == 6 and before["dialed"] == 0 and before["status"] == "draft"

    campaign_service.start(campaign, settings)
    entries = list(CampaignContact.select().order_by(CampaignContact.id))
    for entry, state in zip(entries, ["done", "done", "failed", "dialing", "pending", "pending"]):
        entry.state = state
        entry.save()
    for i, disposition in enumerate(["ANSWERED", "ANSWERED", "BUSY", "NO ANSWER", "FAILED",
                                     "CONGESTION", ""]):
        Call.create(tenant=master, campaign=campaign, number=phones[i % 6],
                    channel_id=f"ch-{i}", disposition=disposition)
    Call.create(tenant=master, number="+12025550000", channel_id="not-this-campaign",
                disposition="ANSWERED")
    Campaign.update(status_reason="Waiting for Asterisk: ARI is not reachable",
                    status_code="ari_down").where(Campaign.id == campaign.id).execute()

    assert campaign_service.progress(reload(campaign)) == {
        "total": 6, "dialed": 7, "answered": 2, "busy": 1, "no_answer": 1, "failed": 2,
        "completed": 2, "given_up": 1, "remaining": 3, "active": 1, "dnc": 0, "machine": 0,
        **{outcome: 0 for outcome in flows_config.RESULTS},
        "status": "running", "status_reason": "Waiting for Asterisk: ARI is not reachable",
        "status_code": "ari_down", "status_params": {},
    }


def test_progress_many_keys_by_campaign(master, settings, make_group):
    a = ready_campaign(master, settings, make_group)
    b = make_campaign(master, name="other")
    result = campaign_service.progress_many([a, b])
    assert result[a.id]["total"] == 2 and result[b.id]["total"] == 0
    assert campaign_service.progress_many([]) == {}


# -- message audio ---------------------------------------------------------------------

def test_save_message_from_text_synthesizes(master, settings):
    campaign = make_campaign(master)
    campaign_service.save_message(campaign, settings, text="  Your appointment is tomorrow.  ")
    fresh = reload(campaign)
    assert fresh.message_file.startswith("tts-")
    assert fresh.message_text == "Your appointment is tomorrow."
    path = settings.sounds_dir / f"{fresh.message_file}.wav"
    with wave.open(str(path)) as w:
        assert w.getframerate() == 8000 and w.getnchannels() == 1
    assert float(fresh.message_seconds) > 0.5


def test_save_message_from_upload_converts(master, settings, wav):
    campaign = make_campaign(master, message_text="old text")
    campaign_service.save_message(campaign, settings, upload_path=wav)
    fresh = reload(campaign)
    assert fresh.message_file == f"campaign-{campaign.id}" and fresh.message_text == ""
    with wave.open(str(settings.sounds_dir / f"campaign-{campaign.id}.wav")) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    assert float(fresh.message_seconds) == pytest.approx(0.5, abs=0.02)
    assert wav.exists()  # the upload itself is left to the caller


def test_save_message_bad_upload_is_a_campaign_error(master, settings, tmp_path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    campaign = make_campaign(master)
    with pytest.raises(CampaignError, match="could not convert"):
        campaign_service.save_message(campaign, settings, upload_path=bogus)
    assert reload(campaign).message_file == ""


def test_save_message_needs_file_or_text(master, settings):
    with pytest.raises(CampaignError, match="Upload an audio file or enter"):
        campaign_service.save_message(make_campaign(master), settings, text="   ")
