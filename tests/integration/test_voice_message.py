"""Voice Message campaigns through the real Asterisk, with sipp as the called parties."""
from __future__ import annotations

from models import Call, CampaignContact
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp


def _max_overlap(intervals):
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = cur = 0
    for _, step in points:
        cur += step
        best = max(best, cur)
    return best


def test_given_voice_message_campaign_when_started_then_every_contact_hears_the_message(
        stasis_app, settings, master, workdir):
    phones = unique_phones(5)
    campaign = make_campaign(master, settings, phones, channel_limit=2)
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=5).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()

    calls = list(Call.select().where(Call.campaign == campaign))
    assert sorted(c.number for c in calls) == sorted(phones)
    message_s = float(campaign.message_seconds)
    for call in calls:
        assert call.tenant_id == master.id
        assert call.contact_id is not None and call.direction == "outbound"
        assert call.disposition == "ANSWERED", (call.number, call.cause_txt)
        assert call.answered_at and call.ended_at and call.started_at <= call.answered_at
        assert abs(call.billsec - message_s) <= 1.5
        assert call.duration >= call.billsec
    assert all(e.state == "done" and e.attempts == 1
               for e in CampaignContact.select().where(CampaignContact.campaign == campaign))

    # What the called parties saw: an INVITE per contact, and our BYE one message later.
    dialogs = uas.dialogs()
    assert len(dialogs) == 5
    spans = []
    for msgs in dialogs.values():
        invite = next(m for m in msgs if m.method == "INVITE" and not m.sent)
        ack = next(m for m in msgs if m.method == "ACK" and not m.sent)
        bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
        assert invite.first_line.split()[1].startswith("sip:+1555")
        played = (bye.at - ack.at).total_seconds()
        assert message_s - 0.3 <= played <= message_s + 1.5, played
        spans.append((invite.at, bye.at))
    # The campaign's channel limit (2) held at every moment.
    assert _max_overlap(spans) <= 2


def test_given_busy_contacts_when_campaign_runs_then_they_are_retried_then_given_up(
        stasis_app, settings, master, workdir):
    phones = unique_phones(2)
    campaign = make_campaign(master, settings, phones, retry_busy=1, retry_interval=1,
                             channel_limit=2)
    uas = Sipp.uas("uas_busy.xml", workdir, settings.trunk_port, calls=4).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    calls = list(Call.select().where(Call.campaign == campaign))
    assert len(calls) == 4  # first attempt + one retry each
    assert {c.disposition for c in calls} == {"BUSY"}
    assert {c.hangup_cause for c in calls} == {17}
    entries = list(CampaignContact.select().where(CampaignContact.campaign == campaign))
    assert [(e.state, e.attempts, e.last_disposition) for e in entries] == [("failed", 2, "BUSY")] * 2


def test_given_unanswered_contact_when_dial_timeout_passes_then_cdr_says_no_answer(
        stasis_app, settings, master, workdir):
    phones = unique_phones(1)
    campaign = make_campaign(master, settings, phones, dial_timeout=2, retry_noanswer=0)
    uas = Sipp.uas("uas_no_answer.xml", workdir, settings.trunk_port, calls=1).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 30, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    (call,) = Call.select().where(Call.campaign == campaign)
    assert call.disposition == "NO ANSWER"
    assert call.billsec == 0 and call.answered_at is None
    assert 2 <= call.duration <= 4
    # sipp saw our CANCEL when the dial timeout ran out
    assert any(m.method == "CANCEL" and not m.sent for m in uas.messages())
