"""DID routing into the other flows through the real Asterisk: an IVR whose transfer node
hands the caller to a queue (the ACD's QueueRunner, its fallback when nobody is logged in), a
campaign's inbound flow, and a tenant's phone dialling an IVR number (the `ivr` Stasis route
after the FastAGI's decision)."""
from __future__ import annotations

import itertools
import json
import secrets

import pytest

from models import Call, Campaign, Did, Tenant
from models.entities import Ivr, Queue, QueueCall
from voxcast.audio import sounds

from .conftest import wait_for
from .phones import answers, dial, tenant_with_phones
from .sipp import Sipp

_seq = itertools.count(1)


@pytest.fixture
def tenant(db) -> Tenant:
    slug = f"didf-{secrets.token_hex(3)}"
    return Tenant.create(name=slug, slug=slug, channel_limit=5)


def _did(tenant: Tenant, **fields) -> Did:
    return Did.create(number=f"1555134{next(_seq):03d}", tenant=tenant, **fields)


def _seconds(settings, text: str) -> float:
    return sounds.duration_seconds(settings.sounds_dir / f"{sounds.tts_name(text)}.wav")


def _answered_to_bye(uac: Sipp) -> float:
    msgs = uac.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    return (bye.at - ok.at).total_seconds()


def test_given_ivr_transfer_to_a_queue_when_nobody_is_logged_in_then_the_queues_fallback_runs(
        stasis_app, settings, tenant, workdir):
    queue = Queue.create(tenant=tenant, name="Support", fallback="message",
                         fallback_text="Nobody is in the support queue.")
    tree = {"start": "hello", "nodes": {
        "hello": {"type": "say", "text": "Putting you through to support.", "next": "q"},
        "q": {"type": "transfer", "target": {"kind": "queue", "value": queue.id}}}}
    ivr = Ivr.create(tenant=tenant, name="Front", tree=json.dumps(tree))
    did = _did(tenant, route="ivr", ivr=ivr)
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", did.number,
                   port=settings.sip_port + 71, timeout=40).start()
    assert uac.wait(40) == 0, uac.diagnostics()
    call = wait_for(lambda: Call.get_or_none(Call.did == did.number, Call.ended_at.is_null(False)),
                    10, message="inbound CDR closed")
    stay = wait_for(lambda: QueueCall.get_or_none(QueueCall.queue == queue.id,
                                                  QueueCall.ended_at.is_null(False)), 10,
                    message="the caller's QueueCall closed")
    assert stay.call_id == call.id and stay.tenant_id == tenant.id
    assert stay.outcome == "no_agents" and stay.agent_id is None
    # the IVR's prompt, then the queue's message (and its goodbye): both were played
    heard = _answered_to_bye(uac)
    assert heard >= _seconds(settings, "Putting you through to support.") + \
        _seconds(settings, "Nobody is in the support queue.") - 0.3, heard


def test_given_did_to_a_voice_message_campaign_then_the_caller_hears_its_message(
        stasis_app, settings, tenant, workdir):
    text = "This is the spring sale message for callers."
    name = sounds.tts(text, settings.sounds_dir)
    campaign = Campaign.create(tenant=tenant, name="Spring", type="voice_message",
                               message_file=name, message_text=text)
    did = _did(tenant, route="campaign", campaign=campaign)
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", did.number,
                   port=settings.sip_port + 72).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    seconds = _seconds(settings, text)
    assert seconds - 0.3 <= _answered_to_bye(uac) <= seconds + 2.0
    call = wait_for(lambda: Call.get_or_none(Call.did == did.number, Call.ended_at.is_null(False)),
                    10, message="inbound CDR closed")
    assert call.disposition == "ANSWERED" and call.tenant_id == tenant.id


def test_given_ivr_number_when_a_phone_of_the_tenant_dials_it_then_the_ivr_runs(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = tenant_with_phones(settings, ["131301"])
    text = "You reached the internal help line."
    Ivr.create(tenant=tenant, name="Help", number="5131", tree=json.dumps(
        {"start": "a", "nodes": {"a": {"type": "say", "text": text}}}))
    phone = dial(settings, workdir, "131301", pw["131301"], "5131", settings.sip_port + 73,
                 scenario="uac_phone_dial_until_bye.xml")
    assert phone.wait(40) == 0, phone.diagnostics() + agi_server.log_tail()
    assert "200" in answers(phone)
    call = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id, Call.did == "5131",
                                             Call.ended_at.is_null(False)), 10,
                    message="the phone's IVR CDR closed")
    assert call.direction == "internal" and call.number == "131301"
    assert abs(float(call.billsec) - _seconds(settings, text)) <= 1.5


def test_given_another_tenants_ivr_number_when_a_phone_dials_it_then_nothing_runs(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = tenant_with_phones(settings, ["131302"])
    other, _ = tenant_with_phones(settings, ["131303"])
    Ivr.create(tenant=other, name="Theirs", number="5132", tree=json.dumps(
        {"start": "a", "nodes": {"a": {"type": "say", "text": "Not for you."}}}))
    phone = dial(settings, workdir, "131302", pw["131302"], "5132", settings.sip_port + 74)
    phone.wait(40)
    assert "200" not in answers(phone)
    assert not Call.select().where(Call.did == "5132").exists()


def test_given_did_to_a_voice_agent_campaign_then_the_caller_reaches_its_ready_agent(
        stasis_app, settings, tenant, workdir):
    """An inbound caller of a Voice Agent campaign is offered to the campaign's agent (a
    logged-in agent with a registered phone) through the ACD and bridged; the agent's phone
    hangs up after talking, and so do we."""
    from werkzeug.security import generate_password_hash

    from models import Extension, User
    from models.entities import CampaignAgent
    from voxcast.agents import sessions
    from voxcast.runtime import asterisk, pjsip_sync

    user = User.create(tenant=tenant, username=f"va-{secrets.token_hex(3)}", role="agent",
                       password_hash=generate_password_hash("x"))
    ext = Extension.create(number="131401", secret=secrets.token_urlsafe(12), tenant=tenant,
                           user=user)
    campaign = Campaign.create(tenant=tenant, name="Inbound sales", type="voice_agent",
                               wrapup_seconds=0)
    CampaignAgent.create(tenant=tenant, campaign=campaign, user=user)
    pjsip_sync.sync(settings)
    wait_for(lambda: "Endpoint:  131401" in asterisk.cli(settings, "pjsip show endpoints"), 10,
             message="endpoint 131401")
    port = settings.sip_port + 75
    reg = Sipp("uac_register.xml", workdir, [f"127.0.0.1:{settings.sip_port}", "-s", "131401",
                                             "-au", "131401", "-ap", ext.secret, "-p", str(port),
                                             "-m", "1", "-timeout", "20s"], name="register-131401")
    reg.start()
    assert reg.wait(30) == 0, reg.diagnostics()
    sessions.login(tenant.id, user.id)
    phone = Sipp("uas_agent.xml", workdir, ["-p", str(port), "-m", "1", "-d", "2000",
                                            "-timeout", "40s"], name="agent-131401").start()
    try:
        did = _did(tenant, route="campaign", campaign=campaign)
        uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}",
                       did.number, port=settings.sip_port + 77, timeout=40).start()
        assert uac.wait(40) == 0, uac.diagnostics()  # bridged, then the agent's hang-up ends it
        assert phone.wait(15) == 0, phone.diagnostics()
    finally:
        phone.stop()
        sessions.end_for_user(user.id, "logout")
    leg = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id, Call.agent == user.id,
                                            Call.ended_at.is_null(False)), 10,
                   message="the agent leg's CDR")
    assert leg.disposition == "ANSWERED"
    inbound = Call.get(Call.did == did.number)
    assert inbound.disposition == "ANSWERED" and _answered_to_bye(uac) >= 2.0
