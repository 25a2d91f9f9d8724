"""Voice Message with repeat: the contact hears the message as many times as set."""
from __future__ import annotations

from models import Call
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp


def test_given_message_repeated_twice_when_contact_answers_then_it_plays_twice(
        stasis_app, settings, master, workdir):
    phones = unique_phones(1)
    campaign = make_campaign(master, settings, phones, text="Repeat after me.", repeat_count=2)
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 30, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    call = Call.get(Call.campaign == campaign)
    once = float(campaign.message_seconds)
    msgs = uas.messages()
    ack = next(m for m in msgs if m.method == "ACK" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    assert 2 * once - 0.3 <= (bye.at - ack.at).total_seconds() <= 2 * once + 1.5
    assert call.disposition == "ANSWERED"
