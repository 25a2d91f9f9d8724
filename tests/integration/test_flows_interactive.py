"""Voice Interactive (press 1) campaigns through the real Asterisk: the contact (a sipp UAS)
presses keys as RFC 4733 events or SIP INFO while the message plays.

The transfer target is an extension of the tenant (a PJSIP endpoint) that a second sipp
registers to and answers on its own port, as a desk phone would: it proves the call really
reached the agent, separately from the contact's UAS on the trunk port."""
from __future__ import annotations

import json
import secrets

from models import Call, CampaignContact, DncNumber, Extension
from voxcast.runtime import pjsip_sync
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .dtmf import uas
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp
from .test_extensions import _register

MESSAGE = "Press 1 to talk to us. Press 2 to stop these calls."


def _interactive(master, settings, phones, **flow):
    cfg = {"keys": {"1": "transfer", "2": "opt_out", "3": "replay"}, "timeout": 3,
           "no_input": "hangup", **flow}
    return make_campaign(master, settings, phones, text=MESSAGE, type="voice_interactive",
                         flow=json.dumps(cfg), dial_timeout=5, retry_noanswer=0, retry_busy=0)


def test_given_press1_campaign_when_contact_presses_1_then_the_extension_is_bridged_in(
        stasis_app, settings, master, workdir):
    ext = Extension.create(number="7311", secret=secrets.token_urlsafe(12), tenant=master)
    assert pjsip_sync.sync(settings) is True
    agent_port = settings.sip_port + 61
    _register(settings, workdir, "7311", ext.secret, "uac_register.xml", agent_port)
    agent = Sipp.uas("uas_answer.xml", workdir, agent_port, calls=1, timeout=40).start()
    phones = unique_phones(1)
    campaign = _interactive(master, settings, phones,
                            transfer={"kind": "extension", "value": "7311"})
    # The contact presses 1 one second into the message and hangs up 4 s after answering.
    contact = uas(workdir, settings.trunk_port, "press1", [(1.0, "1")], hangup_after=5.0)
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contact.wait(15) == 0, contact.diagnostics()
        assert agent.wait(15) == 0, agent.diagnostics()
    finally:
        contact.stop()
        agent.stop()

    entry = CampaignContact.get(CampaignContact.campaign == campaign)
    assert entry.result == "transferred" and entry.state == "done"
    # The agent's phone got the call (INVITE) and our BYE when the contact hung up.
    received = [m.method for m in agent.messages() if not m.sent]
    assert received[0] == "INVITE" and "BYE" in received, received
    # The contact's own call and the transfer leg: both CDRs, both the tenant's.
    calls = {c.direction: c for c in Call.select().where(Call.campaign == campaign)}
    assert set(calls) == {"outbound", "transfer"}
    leg = calls["transfer"]
    assert leg.tenant_id == master.id and leg.number == "7311"
    assert leg.disposition == "ANSWERED" and leg.ended_at is not None
    assert calls["outbound"].disposition == "ANSWERED"
    p = campaign_service.progress(reload(campaign))
    assert (p["pressed1"], p["transferred"], p["dialed"], p["answered"]) == (1, 1, 1, 1)


def test_given_press1_campaign_when_contact_presses_2_by_sip_info_then_it_is_opted_out(
        stasis_app, settings, master, workdir):
    phones = unique_phones(1)
    campaign = _interactive(master, settings, phones,
                            transfer={"kind": "number", "value": "+15559990000"})
    contact = uas(workdir, settings.trunk_port, "press2-info", [(1.0, "2")], mode="info")
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contact.wait(15) == 0, contact.diagnostics()
    finally:
        contact.stop()
    entry = CampaignContact.get(CampaignContact.campaign == campaign)
    assert entry.result == "opted_out"
    dnc = DncNumber.get(DncNumber.tenant == master, DncNumber.phone == phones[0])
    assert dnc.source == "opt-out"
    assert campaign_service.progress(reload(campaign))["opted_out"] == 1
    # We hung up (after the goodbye), not the contact.
    assert any(m.method == "BYE" and not m.sent for m in contact.messages())


def test_given_press1_campaign_when_no_key_is_pressed_then_it_hangs_up_after_the_timeout(
        stasis_app, settings, master, workdir):
    phones = unique_phones(1)
    campaign = _interactive(master, settings, phones,
                            transfer={"kind": "number", "value": "+15559990000"})
    contact = uas(workdir, settings.trunk_port, "silent", [], mode="info")
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contact.wait(15) == 0, contact.diagnostics()
    finally:
        contact.stop()
    entry = CampaignContact.get(CampaignContact.campaign == campaign)
    assert entry.result == ""
    call = Call.get(Call.campaign == campaign)
    message_s = float(reload(campaign).message_seconds)
    assert message_s + 2 <= call.billsec <= message_s + 5  # message, then the 3 s timeout


def test_given_agent_list_when_the_first_agent_is_not_reachable_then_the_next_one_gets_the_call(
        stasis_app, settings, master, workdir):
    away = Extension.create(number="7321", secret=secrets.token_urlsafe(12), tenant=master)
    ext = Extension.create(number="7322", secret=secrets.token_urlsafe(12), tenant=master)
    assert away and pjsip_sync.sync(settings) is True
    agent_port = settings.sip_port + 62
    _register(settings, workdir, "7322", ext.secret, "uac_register.xml", agent_port)
    agent = Sipp.uas("uas_answer.xml", workdir, agent_port, calls=1, timeout=40).start()
    phones = unique_phones(1)
    campaign = _interactive(master, settings, phones,
                            transfer={"kind": "agents", "value": ["7321", "7322"]})
    contact = uas(workdir, settings.trunk_port, "press1-agents", [(1.0, "1")], mode="info",
                  hangup_after=6.0)
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contact.wait(15) == 0, contact.diagnostics()
        assert agent.wait(15) == 0, agent.diagnostics()
    finally:
        contact.stop()
        agent.stop()
    legs = list(Call.select().where(Call.campaign == campaign, Call.direction == "transfer")
                .order_by(Call.id))
    assert [(leg.number, leg.disposition) for leg in legs] == [("7321", "FAILED"),
                                                                ("7322", "ANSWERED")]
    assert CampaignContact.get(CampaignContact.campaign == campaign).result == "transferred"
