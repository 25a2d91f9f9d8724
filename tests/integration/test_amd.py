"""Answering-machine detection through the real Asterisk (AMD() in [voxcast-amd]): sipp called
parties that speak a pcap, a machine (a long greeting, a beep, silence) or a person ("Hello?",
then silence)."""
from __future__ import annotations

import asyncio
import signal

import numpy as np
import pytest

from ari_app.client import AriClient, AriError

from models import Call, CampaignContact
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp
from .speech_pcap import (silence, speaking_scenario, speech_ulaw, tone_ulaw, ulaw_decode,
                          ulaw_encode, write_pcap)

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


def _run(settings, workdir, pcap, name, during=None, **fields):
    phones = unique_phones(1)
    campaign = make_campaign(settings=settings, phones=phones, amd_enabled=True,
                             text="This is voxcast. Goodbye.", **fields)
    scenario = speaking_scenario(pcap, workdir / f"{name}.xml")
    uas = Sipp(str(scenario), workdir, ["-p", str(settings.trunk_port), "-m", "1",
                                        "-timeout", "60s"], name=name).start()
    try:
        campaign_service.start(campaign, settings)
        if during:
            during(campaign)
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


def test_given_short_greeting_ending_in_a_beep_then_machine_by_the_beep(
        stasis_app, settings, master, workdir):
    """What Asterisk's default AMD() takes for a person: too few words and too little voice
    before the tone. The beep detector in [voxcast-amd] makes it a machine."""
    pcap = workdir / "short-beep.pcap"
    write_pcap(silence(0.2) + speech_ulaw("Leave a message.") + silence(0.6) + tone_ulaw(0.5)
               + silence(20), pcap)
    campaign, call, talked = _run(settings, workdir, pcap, "short-beep", tenant=master,
                                  amd_action="hangup")
    assert call.disposition == "MACHINE", call.cause_txt
    assert "AMD MACHINE BEEP" in call.cause_txt


def test_given_person_on_a_noisy_line_then_answered(stasis_app, settings, master, workdir):
    """Background noise above Asterisk's default silence threshold made "Hello." one long
    greeting (a machine); with ours it is silence and the person is a person."""
    hello = np.frombuffer(speech_ulaw("Hello."), dtype=np.uint8)
    audio = np.concatenate([ulaw_decode(hello), np.zeros(8000 * 20)])
    noisy = audio + np.random.default_rng(3).normal(0, 380, len(audio))
    pcap = workdir / "noisy.pcap"
    write_pcap(ulaw_encode(noisy), pcap)
    campaign, call, talked = _run(settings, workdir, pcap, "noisy-person", tenant=master,
                                  amd_action="hangup")
    assert call.disposition == "ANSWERED", call.cause_txt
    assert "AMD HUMAN" in call.cause_txt


def _dialplan_context(settings, channel_id: str) -> str:
    async def get():
        client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password(), "probe")
        try:
            return (await client.get(f"/channels/{channel_id}")).get("dialplan", {})
        except AriError:
            return {}
        finally:
            await client.close()
    return asyncio.run(get()).get("context", "")


def test_given_app_down_while_amd_runs_then_the_call_waits_for_it_and_hears_the_message(
        stasis_app, settings, master, workdir, parties):
    """The app is SIGKILLed while the answered call runs AMD() in [voxcast-amd] and started
    again at once: AMD's verdict comes back into Stasis (held there if the app is not back
    yet) and the person hears the message, instead of the call being dropped."""
    _, person = parties

    def crash(campaign):
        wait_for(lambda: Call.select().where(Call.campaign == campaign,
                                             Call.answered_at.is_null(False)).exists(), 30,
                 interval=0.02, message="answered")
        call = Call.get(Call.campaign == campaign)
        wait_for(lambda: _dialplan_context(settings, call.channel_id) == "voxcast-amd", 10,
                 interval=0.02, message="the call in AMD")
        stasis_app.stop(signal.SIGKILL)
        stasis_app.start()

    try:
        campaign, call, talked = _run(settings, workdir, person, "person-held", tenant=master,
                                      amd_action="hangup", during=crash)
    finally:
        if not stasis_app.alive():
            stasis_app.start()
    assert call.disposition == "ANSWERED", call.cause_txt
    assert "AMD HUMAN" in call.cause_txt
    assert talked >= float(campaign.message_seconds), talked
