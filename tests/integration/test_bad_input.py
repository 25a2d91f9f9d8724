"""Bad configuration and outages get a clear reason, keep every CDR, and the app runs on."""
from __future__ import annotations

import pytest

from models import Call, Campaign, Contact, ContactGroup
from voxcast.runtime import asterisk
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones


def test_given_empty_group_when_started_then_refused_with_reason(stasis_app, settings, master):
    group = ContactGroup.create(tenant=master, name="empty-group")
    campaign = Campaign.create(tenant=master, name="empty", group=group)
    campaign_service.save_message(campaign, settings, text="Nobody will hear this.")
    with pytest.raises(campaign_service.CampaignError, match="has no contacts"):
        campaign_service.start(reload(campaign), settings)
    assert reload(campaign).status == "draft"


def test_given_message_file_deleted_when_campaign_runs_then_it_pauses_with_reason(
        stasis_app, settings, master):
    campaign = make_campaign(master, settings, unique_phones(1),
                             text="This file will be deleted before dialing.")
    campaign_service.start(campaign, settings)
    Campaign.update(status="paused").where(Campaign.id == campaign.id).execute()
    # the audio disappears behind the UI's back (disk cleanup, a bad restore...)
    (settings.sounds_dir / f"{campaign.message_file}.wav").unlink()
    Campaign.update(status="running").where(Campaign.id == campaign.id).execute()
    paused = wait_for(lambda: reload(campaign).status == "paused" and reload(campaign), 10,
                      message="campaign paused by the dialer")
    assert "missing" in paused.status_reason
    assert Call.select().where(Call.campaign == campaign).count() == 0
    assert stasis_app.alive()


def test_given_unreachable_trunk_when_campaign_runs_then_attempts_fail_with_cdrs(
        stasis_app, settings, master):
    # Nothing listens on the trunk port during this test.
    campaign = make_campaign(master, settings, unique_phones(2), dial_timeout=2, retry_failed=0)
    campaign_service.start(campaign, settings)
    wait_for(lambda: reload(campaign).status == "completed", 30, message="campaign completed")
    calls = list(Call.select().where(Call.campaign == campaign))
    assert len(calls) == 2
    for call in calls:
        assert call.disposition == "FAILED"
        assert call.cause_txt == "no response from the trunk"
        assert call.ended_at is not None
    assert stasis_app.alive()
    # Asterisk retransmits the unanswered INVITEs until RFC 3261's timer B (32 s); a restart
    # drops them, so the next test's sipp does not receive them as calls of its own.
    asterisk.stop(settings)
    asterisk.start(settings)
    stasis_app.wait_ari("connected")
