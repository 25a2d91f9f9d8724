"""Answering-machine detection through the real Asterisk (AMD() in [voxcast-amd]): sipp called
parties that speak a pcap, a machine (a long greeting, a beep, silence) or a person ("Hello?",
then silence)."""
from __future__ import annotations

import pytest

from models import Call, CampaignContact
from voxcast import campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp
from .speech_pcap import silence, speaking_scenario, speech_ulaw, tone_ulaw, write_pcap

GREETING = ("Hi, you have reached the voice mail of John Smith. I cannot take your call "
            "right now. Please leave your message after the tone.")


@pytest.fixture(scope="module")
def parties(settings):
    """(machine pcap, greeting-and-beep seconds), (person pcap); fixed paths under the state dir."""
    base = settings.state_dir / "pcap"
    greeting = speech_ulaw(GREETING) + silence(0.3) + tone_ulaw(0.5)
    machine = base / "machine.pcap"
    write_pcap(greeting + silence(20), machine)
    person = base / "person.pcap"
    write_pcap(speech_ulaw("Hello?") + silence(20), person)
    return (machine, len(greeting) / 8000), person


def _run(settings, workdir, pcap, name, **fields):
    phones = unique_phones(1)
    campaign = make_campaign(settings=settings, phones=phones, amd_enabled=True,
                             text="This is voxcast. Goodbye.", **fields)
    scenario = speaking_scenario(pcap, workdir / f"{name}.xml")
    uas = Sipp(str(scenario), workdir, ["-p", str(settings.trunk_port), "-m", "1",
                                        "-timeout", "60s"], name=name).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    (call,) = Call.select().where(Call.campaign == campaign)
    msgs = uas.messages()
    ack = next(m for m in msgs if m.method == "ACK" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    return reload(campaign), call, (bye.at - ack.at).total_seconds()


def test_given_machine_and_hangup_action_then_hung_up_during_greeting_as_machine(
        stasis_app, settings, master, workdir, parties):
    (machine, greeting_s), _ = parties
    campaign, call, talked = _run(settings, workdir, machine, "machine-hangup", tenant=master,
                                  amd_action="hangup")
    assert call.disposition == "MACHINE", call.cause_txt
    assert "AMD MACHINE" in call.cause_txt
    assert talked < greeting_s  # hung up before the greeting ended: no message left
    (entry,) = CampaignContact.select().where(CampaignContact.campaign == campaign)
    assert (entry.state, entry.last_disposition) == ("failed", "MACHINE")  # retry_machine 0
    assert campaign_service.progress(campaign)["machine"] == 1


def test_given_machine_and_leave_message_then_message_plays_after_the_beep(
        stasis_app, settings, master, workdir, parties):
    (machine, greeting_s), _ = parties
    campaign, call, talked = _run(settings, workdir, machine, "machine-message", tenant=master,
                                  amd_action="leave_message")
    assert call.disposition == "MACHINE", call.cause_txt
    message_s = float(campaign.message_seconds)
    # the message started only once the beep was over and silence followed
    assert talked >= greeting_s + message_s, (talked, greeting_s, message_s)
    (entry,) = CampaignContact.select().where(CampaignContact.campaign == campaign)
    assert (entry.state, entry.last_disposition) == ("done", "MACHINE")


def test_given_person_says_hello_then_answered_and_hears_the_message(
        stasis_app, settings, master, workdir, parties):
    _, person = parties
    campaign, call, talked = _run(settings, workdir, person, "person", tenant=master,
                                  amd_action="hangup")
    assert call.disposition == "ANSWERED", call.cause_txt
    assert "AMD HUMAN" in call.cause_txt
    message_s = float(campaign.message_seconds)
    assert message_s <= talked <= message_s + 4, (talked, message_s)
    assert campaign_service.progress(campaign)["machine"] == 0
