"""Voice IVR: a tenant's IVR tree run by a campaign call (digits, a contact field, a branch, a
recorded message linked to the call) and by an inbound DID instead of its greeting."""
from __future__ import annotations

import secrets

from models import Call, Campaign, CampaignContact, Contact, Did
from models.entities import IvrRecording
from voxcast.ivr import services as flow_service
from voxcast.audio import sounds
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .dtmf import uas
from .factories import make_group, reload, unique_phones
from .sipp import Sipp

TREE = {
    "start": "code",
    "nodes": {
        "code": {"type": "get_digits", "text": "Enter your code, then hash.", "var": "code",
                 "max_digits": 4, "timeout": 3, "next": "save"},
        "save": {"type": "set_field", "field": "custom3", "value": "code-{code}", "next": "check"},
        "check": {"type": "branch", "var": "code", "cases": {"42": "message"}, "default": "bye"},
        "message": {"type": "record", "text": "Leave a message after the tone.",
                    "max_seconds": 4, "next": "done"},
        "done": {"type": "set_result", "result": "recorded", "next": "bye"},
        "bye": {"type": "hangup", "text": "Goodbye."},
    },
}


def test_given_ivr_campaign_when_contact_keys_a_code_and_speaks_then_field_and_recording_are_stored(
        stasis_app, settings, master, workdir):
    ivr = flow_service.save_ivr(master.id, f"ivr-{secrets.token_hex(3)}", TREE)
    phones = unique_phones(1)
    campaign = Campaign.create(tenant=master, name=f"ivr-{phones[0]}",
                               group=make_group(master, phones), type="voice_ivr", ivr=ivr,
                               dial_timeout=5, retry_noanswer=0, retry_busy=0)
    # 4 2 # while the prompt plays; the line carries audio until 7.5 s; # ends the message.
    contact = uas(workdir, settings.trunk_port, "ivr", [(1.0, "4"), (1.3, "2"), (1.6, "#"),
                                                        (6.5, "#")], audio_until=7.5)
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contact.wait(15) == 0, contact.diagnostics()
    finally:
        contact.stop()

    entry = CampaignContact.get(CampaignContact.campaign == campaign)
    assert Contact.get_by_id(entry.contact_id).custom3 == "code-42"
    assert entry.result == "recorded"
    call = Call.get(Call.campaign == campaign)
    rec = IvrRecording.get(IvrRecording.call == call)
    assert rec.tenant_id == master.id and rec.ivr_id == ivr.id and rec.node == "message"
    assert rec.contact_id == entry.contact_id and rec.campaign_id == campaign.id
    path = settings.recordings_dir / f"{rec.name}.wav"
    assert path.is_file() and path.stat().st_size > 44, path  # more than a WAV header


def test_given_did_with_an_ivr_when_called_then_the_ivr_runs_instead_of_the_greeting(
        stasis_app, settings, master, workdir):
    text = f"This is the inbound menu {secrets.token_hex(2)}."  # a TTS file no one made yet
    ivr = flow_service.save_ivr(master.id, f"inbound-{secrets.token_hex(3)}", {
        "start": "hello", "nodes": {"hello": {"type": "say", "text": text}}})
    Did.create(number="15557770041", tenant=master, greeting_text="The greeting.", route="ivr",
               ivr=ivr)
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", "15557770041",
                   port=settings.sip_port + 41).start()
    assert uac.wait(30) == 0, uac.diagnostics()

    call = wait_for(lambda: Call.get_or_none(Call.did == "15557770041",
                                             Call.ended_at.is_null(False)), 10,
                    message="inbound CDR closed")
    assert call.tenant_id == master.id and call.disposition == "ANSWERED"
    spoken = settings.sounds_dir / f"{sounds.tts_name(text)}.wav"
    assert spoken.is_file()
    msgs = uac.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    said = sounds.duration_seconds(spoken)
    assert said - 0.3 <= (bye.at - ok.at).total_seconds() <= said + 2.0
