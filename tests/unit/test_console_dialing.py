"""The console's checks that the web and the Stasis app share: who may dial what (a campaign
of theirs, the tenant's blocked prefixes and DNC lists, their state), which transfer targets
are the tenant's, and which call the console pops and asks the disposition of (an ACD agent
leg leads to its caller's CDR)."""
from __future__ import annotations

import pytest

from models.entities import (
    Call, Campaign, CampaignAgent, CampaignContact, Contact, ContactGroup, DncNumber, Extension,
    Queue, QueueCall, Tenant, User,
)
from models.entities import utcnow
from voxcast.agents import sessions, states
from voxcast.console import dialing, targets, view
from voxcast.console.errors import BadNumber, BadTarget, NotLoggedIn, Refused

from .agents_support import extension_number, make_agent


@pytest.fixture
def acme(db):
    tenant = Tenant.create(name="acme", slug="acme", blocked_prefixes="1900 44",
                           channel_limit=7)
    ann = make_agent(tenant, "ann")
    group = ContactGroup.create(tenant=tenant, name="G")
    contact = Contact.create(tenant=tenant, group=group, phone="+12025550141", first_name="Ada")
    campaign = Campaign.create(tenant=tenant, name="Renewals", type="voice_agent", group=group,
                               caller_id="+12025550100", wrapup_seconds=45, channel_limit=3)
    CampaignAgent.create(tenant=tenant, campaign=campaign, user=ann)
    CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact, phone=contact.phone)
    other = Tenant.create(name="other", slug="other")
    return tenant, ann, campaign, contact, other


def test_given_campaign_contact_when_checked_then_the_plan_carries_contact_caller_id_limits(acme):
    tenant, ann, campaign, contact, _ = acme
    session = sessions.login(tenant.id, ann.id)
    plan = dialing.check(tenant.id, ann.id, "(202) 555-0141", campaign.id)
    assert plan.number == "+12025550141" and plan.contact_id == contact.id
    assert plan.caller_id == "+12025550100" and plan.wrapup_seconds == 45
    assert plan.session_id == session.id and plan.extension == extension_number(ann)
    assert (plan.tenant_channel_limit, plan.campaign_channel_limit) == (7, 3)
    plain = dialing.check(tenant.id, ann.id, "+12025550199")
    assert plain.contact_id is None and plain.campaign_id is None
    assert plain.wrapup_seconds == dialing.MANUAL_WRAPUP_S


def test_given_refusals_when_checked_then_each_says_why(acme):
    tenant, ann, campaign, _contact, other = acme
    with pytest.raises(NotLoggedIn):
        dialing.check(tenant.id, ann.id, "+12025550199")
    session = sessions.login(tenant.id, ann.id)
    with pytest.raises(BadNumber):
        dialing.check(tenant.id, ann.id, "12")
    with pytest.raises(Refused):  # blocked prefix
        dialing.check(tenant.id, ann.id, "+19005550100")
    DncNumber.create(tenant=tenant, phone="+12025550177")
    with pytest.raises(Refused):
        dialing.check(tenant.id, ann.id, "+12025550177")
    DncNumber.create(tenant=None, phone="+12025550178")  # the provider's list
    with pytest.raises(Refused):
        dialing.check(tenant.id, ann.id, "+12025550178")
    theirs = Campaign.create(tenant=other, name="Theirs", type="voice_agent")
    with pytest.raises(BadTarget):
        dialing.check(tenant.id, ann.id, "+12025550199", theirs.id)
    not_mine = Campaign.create(tenant=tenant, name="Not mine", type="voice_agent")
    with pytest.raises(BadTarget):
        dialing.check(tenant.id, ann.id, "+12025550199", not_mine.id)
    assert states.set_state(session.id, "ringing")
    with pytest.raises(Refused):  # already on the phone
        dialing.check(tenant.id, ann.id, "+12025550199")
    with pytest.raises(NotLoggedIn):  # a stale session id from the web
        dialing.check(tenant.id, ann.id, "+12025550199", session_id=session.id + 99)


def test_given_targets_when_resolved_then_only_the_tenants_own_are_allowed(acme):
    tenant, ann, _campaign, _contact, other = acme
    bob = make_agent(tenant, "bob")
    zed = make_agent(other, "zed")
    queue = Queue.create(tenant=tenant, name="Support", number="800")
    their_queue = Queue.create(tenant=other, name="Theirs")
    target = targets.resolve(tenant.id, "agent", bob.id, ann.id)
    assert target.endpoint == f"PJSIP/{extension_number(bob)}" and target.user_id == bob.id
    with pytest.raises(BadTarget):
        targets.resolve(tenant.id, "agent", zed.id, ann.id)
    with pytest.raises(BadTarget):  # not to oneself
        targets.resolve(tenant.id, "agent", ann.id, ann.id)
    target = targets.resolve(tenant.id, "queue", queue.id, ann.id)
    assert target.endpoint == f"Local/{tenant.id:08d}{queue.id}@voxcast-console-queue/n"
    with pytest.raises(BadTarget):
        targets.resolve(tenant.id, "queue", their_queue.id, ann.id)
    assert targets.resolve(tenant.id, "extension", extension_number(bob), ann.id).user_id == bob.id
    with pytest.raises(BadTarget):
        targets.resolve(tenant.id, "extension", extension_number(zed), ann.id)
    outside = targets.resolve(tenant.id, "number", "+1 202 555 0188", ann.id)
    assert outside.pstn and outside.endpoint == "PJSIP/+12025550188@pstn"
    with pytest.raises(BadTarget):
        targets.resolve(tenant.id, "number", "+441234567890", ann.id)  # blocked prefix 44
    with pytest.raises(BadTarget):
        targets.resolve(tenant.id, "fax", "1", ann.id)
    assert [a for a, _ in targets.choices(tenant.id, ann.id)["agents"]] == [bob.id]


def test_given_acd_agent_leg_when_popped_then_the_callers_cdr_is_shown_and_disposed(acme):
    tenant, ann, campaign, contact, _ = acme
    session = sessions.login(tenant.id, ann.id)
    customer = Call.create(tenant=tenant, campaign=campaign, contact=contact,
                           number=contact.phone, channel_id="cust", answered_at=utcnow())
    leg = Call.create(tenant=tenant, direction="agent", number=extension_number(ann),
                      channel_id="leg", agent=ann, answered_at=utcnow())
    QueueCall.create(tenant=tenant, campaign=campaign, call=customer, agent=ann, agent_call=leg)
    assert states.set_state(session.id, "on_call", call_id=leg.id)
    snap = view.snapshot(tenant.id, User.get_by_id(ann.id))
    assert snap["call"]["call_id"] == customer.id and snap["call"]["name"] == "Ada"
    assert snap["call"]["campaign"] == "Renewals"
    assert states.call_ended(session.id, 30)
    snap = view.snapshot(tenant.id, User.get_by_id(ann.id))
    assert snap["call"] is None and snap["pending"]["call_id"] == leg.id
    Call.update(agent_disposition="Done").where(Call.id << [leg.id, customer.id]).execute()
    assert view.snapshot(tenant.id, User.get_by_id(ann.id))["pending"] is None


def test_given_other_tenants_session_when_snapshot_then_nothing_leaks(acme):
    tenant, ann, *_ , other = acme
    sessions.login(tenant.id, ann.id)
    snap = view.snapshot(other.id, User.get_by_id(ann.id))
    assert snap["logged_in"] is False and snap["call"] is None
    assert Extension.get(Extension.user == ann.id).tenant_id == tenant.id
