"""The disposition form's two special kinds end to end (issue 12 item 5), in Chromium against
the real Asterisk and Stasis app with sipp as the agent's phone and the contact: "call back
at" on a Voice Agent campaign's call re-queues that contact for that time (tenant's time zone
to UTC), and "do not call" after a manual call puts the number on the tenant's DNC list, so
the console refuses to dial it again before any phone rings."""
from __future__ import annotations

import datetime as dt

from models import Call
from models.entities import AgentDisposition, CampaignContact, Rate
from voxcast.agents import wrapup
from voxcast.contacts import dnc

from .conftest import wait_for
from .sipp import Sipp
from .test_agent_console import CONTACT, _console, _dial, centre  # noqa: F401 (fixture)
from .test_billing_enforcement import PER_SECOND

REAL = "+12025550143"  # a number phonenumbers calls valid (the DNC list checks it)


def _tomorrow_local() -> str:
    day = dt.date.today() + dt.timedelta(days=1)
    return f"{day:%Y-%m-%d}T10:30"


def test_given_voice_agent_call_when_disposition_is_call_back_then_the_contact_is_requeued(
        page, web, settings, workdir, centre):
    from voxcast.campaigns import editing
    from voxcast.campaigns import services as campaign_service
    tenant, first, ann, _bob = centre
    AgentDisposition.create(tenant=tenant, name="Call back", kind="callback")
    campaign = editing.create(tenant, {
        "name": f"callback-{tenant.id}", "type": "voice_agent", "group_id": first.group_id,
        "agent_ids": [ann.user.id], "dial_ratio": 1.0, "wrapup_seconds": 30,
        "channel_limit": 2, "dial_timeout": 10, "retry_noanswer": 0, "retry_busy": 0,
        "retry_interval": 30}, settings=settings, actor=editing.Actor(None))
    trunk = Sipp.uas("uas_answer_never_hangup.xml", workdir, settings.trunk_port, calls=1,
                     timeout=60).start()
    when = _tomorrow_local()
    try:
        _console(page, web, tenant, ann)
        campaign_service.start(campaign, settings)
        page.wait_for_selector("#contact-pop", timeout=30000)
        page.click("#btn-hangup")
        page.wait_for_selector("#disposition-form", timeout=20000)
        page.select_option("#disposition-form select[name=disposition_id]", label="Call back")
        page.fill("#disposition-form input[name=callback_at]", when)
        page.fill("#disposition-form textarea[name=notes]", "Ring her tomorrow morning.")
        page.click("#btn-disposition")
        page.wait_for_selector("#agent-state[data-state=ready]")
    finally:
        trunk.stop()
    customer = Call.get(Call.campaign == campaign.id, Call.direction == "outbound")
    assert customer.agent_disposition == "Call back"
    assert customer.notes == "Ring her tomorrow morning."
    entry = CampaignContact.get(CampaignContact.campaign == campaign.id,
                                CampaignContact.phone == CONTACT)
    assert entry.state == "pending"
    assert entry.next_attempt_at == wrapup.parse_callback(when, tenant.timezone or "UTC")


def test_given_manual_call_when_disposition_is_dnc_then_the_number_is_never_dialled_again(
        page, web, settings, workdir, centre):
    tenant, _campaign, ann, _bob = centre
    Rate.create(plan=tenant.rate_plan_id, prefix="1202", **PER_SECOND)
    AgentDisposition.create(tenant=tenant, name="Do not call", kind="dnc")
    trunk = Sipp.uas("uas_answer_never_hangup.xml", workdir, settings.trunk_port, calls=1,
                     timeout=60).start()
    try:
        _console(page, web, tenant, ann)
        page.fill("#dial-form input[name=number]", REAL)
        page.click("#btn-dial")
        page.wait_for_selector("#agent-state[data-state=on_call]", timeout=20000)
        page.click("#btn-hangup")
        page.wait_for_selector("#disposition-form", timeout=20000)
        page.select_option("#disposition-form select[name=disposition_id]", label="Do not call")
        page.click("#btn-disposition")
        page.wait_for_selector("#agent-state[data-state=ready]")
    finally:
        trunk.stop()
    assert dnc.is_blocked(tenant.id, REAL)
    assert Call.get(Call.tenant == tenant.id, Call.direction == "outbound").agent_disposition \
        == "Do not call"
    invites = ann.received().count("INVITE")
    calls = Call.select().where(Call.tenant == tenant.id).count()
    page.fill("#dial-form input[name=number]", REAL)
    page.click("#btn-dial")
    page.wait_for_selector("#console-msg:has-text('do-not-call')")
    assert ann.received().count("INVITE") == invites  # the phone did not ring again
    assert Call.select().where(Call.tenant == tenant.id).count() == calls


def test_given_manual_call_of_a_campaign_contact_when_call_back_then_the_contact_is_requeued(
        page, web, settings, workdir, centre):
    tenant, campaign, ann, _bob = centre
    AgentDisposition.create(tenant=tenant, name="Call back", kind="callback")
    trunk = Sipp.uas("uas_answer_never_hangup.xml", workdir, settings.trunk_port, calls=1,
                     timeout=60).start()
    when = _tomorrow_local()
    try:
        _console(page, web, tenant, ann)
        _dial(page, campaign)
        page.wait_for_selector("#agent-state[data-state=on_call]", timeout=20000)
        page.click("#btn-hangup")
        page.wait_for_selector("#disposition-form", timeout=20000)
        page.select_option("#disposition-form select[name=disposition_id]", label="Call back")
        page.fill("#disposition-form input[name=callback_at]", when)
        page.click("#btn-disposition")
        wait_for(lambda: Call.get(Call.tenant == tenant.id, Call.direction == "outbound")
                 .agent_disposition == "Call back", 10, message="disposition saved")
    finally:
        trunk.stop()
    entry = CampaignContact.get(CampaignContact.campaign == campaign.id,
                                CampaignContact.phone == CONTACT)
    assert entry.state == "pending"
    assert entry.next_attempt_at == wrapup.parse_callback(when, tenant.timezone or "UTC")
