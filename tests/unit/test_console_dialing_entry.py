"""A manual dial from the console for one of the agent's campaigns (voxcast.console.dialing):
when the contact answers, their CDR is linked to their campaign entry (found, claimed when
still to be dialled, or made for a contact added after the start), so a "call back at"
disposition re-queues them; a call outside a campaign or to no contact of it stays unlinked
and the callback is refused with a clear message. On the real SQLite database."""
from __future__ import annotations

import datetime as dt

import pytest

from models import Call, Campaign, CampaignContact, Contact, ContactGroup, Tenant
from models.entities import AgentDisposition, CampaignAgent
from voxcast.agents import errors, sessions, wrapup
from voxcast.console import dialing
from voxcast.console.errors import Refused

from .agents_support import make_agent

PHONE = "+4930123456"
NOW = dt.datetime(2026, 1, 5, 9, 0, 0)


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme", country="DE")


@pytest.fixture
def alice(acme):
    user = make_agent(acme, "alice")
    sessions.login(acme.id, user.id)
    return user


def _campaign(tenant, user, status="running"):
    group = ContactGroup.create(tenant=tenant, name="Leads")
    contact = Contact.create(tenant=tenant, group=group, phone=PHONE)
    campaign = Campaign.create(tenant=tenant, name="Sales", type="voice_agent", group=group,
                               status=status)
    CampaignAgent.create(tenant=tenant, campaign=campaign, user=user)
    return campaign, contact


def _answered(tenant, user, campaign_id=None, number=PHONE):
    """check, open both CDRs, the contact's answer: what the Stasis app does on the writer."""
    plan = dialing.check(tenant.id, user.id, number, campaign_id)
    _agent_call, contact_call = dialing.open_legs(plan, "vxc-a", "vxc-c")
    return plan, dialing.link_answered(plan, contact_call), Call.get_by_id(contact_call)


def _call_back(tenant, user, call):
    back = AgentDisposition.create(tenant=tenant, name="Call back", kind="callback")
    return wrapup.record(tenant.id, user.id, call.id, back.id,
                         callback_at=NOW + dt.timedelta(days=1), now=NOW)


def test_given_a_pending_entry_when_answered_then_claimed_linked_and_a_callback_requeues(
        acme, alice):
    campaign, contact = _campaign(acme, alice)
    entry = CampaignContact.create(tenant=acme, campaign=campaign, contact=contact,
                                   phone=PHONE, state="pending", attempts=0)
    plan, linked, call = _answered(acme, alice, campaign.id)
    assert plan.contact_id == contact.id and linked == entry.id and call.entry_id == entry.id
    row = CampaignContact.get_by_id(entry.id)
    assert (row.state, row.attempts) == ("dialing", 1)  # the dialer leaves it alone meanwhile
    CampaignContact.update(state="done").where(CampaignContact.id == entry.id).execute()  # CDR close
    _call_back(acme, alice, call)
    row = CampaignContact.get_by_id(entry.id)
    assert row.state == "pending" and row.next_attempt_at == NOW + dt.timedelta(days=1)


def test_given_a_done_entry_when_answered_then_linked_as_it_is(acme, alice):
    campaign, contact = _campaign(acme, alice, status="draft")
    entry = CampaignContact.create(tenant=acme, campaign=campaign, contact=contact,
                                   phone=PHONE, state="done", attempts=1)
    _plan, linked, _call = _answered(acme, alice, campaign.id)
    row = CampaignContact.get_by_id(entry.id)
    assert linked == entry.id and (row.state, row.attempts) == ("done", 1)


def test_given_a_contact_with_no_entry_yet_when_answered_then_one_is_made_for_a_started_campaign(
        acme, alice):
    campaign, contact = _campaign(acme, alice)
    _plan, linked, call = _answered(acme, alice, campaign.id)
    entry = CampaignContact.get(CampaignContact.campaign == campaign.id)
    assert linked == entry.id == call.entry_id
    assert (entry.contact_id, entry.phone, entry.state, entry.attempts) == (
        contact.id, PHONE, "dialing", 1)


def test_given_a_draft_campaign_without_entries_when_answered_then_none_is_made(acme, alice):
    campaign, _contact = _campaign(acme, alice, status="draft")
    _plan, linked, call = _answered(acme, alice, campaign.id)
    assert linked is None and CampaignContact.select().count() == 0  # its start queues the group
    with pytest.raises(errors.AgentInputError, match="no campaign contact"):
        _call_back(acme, alice, call)


@pytest.mark.parametrize("with_campaign, number", [(False, PHONE), (True, "+4930999888")])
def test_given_no_campaign_or_no_contact_of_it_when_call_back_then_refused_clearly(
        acme, alice, with_campaign, number):
    campaign, _contact = _campaign(acme, alice)
    _plan, linked, call = _answered(acme, alice, campaign.id if with_campaign else None, number)
    assert linked is None and call.entry_id is None
    with pytest.raises(errors.AgentInputError, match="no campaign contact to call back"):
        _call_back(acme, alice, call)
    assert CampaignContact.select().count() == 0


def test_given_the_dialer_calling_that_contact_when_dialing_manually_then_refused(acme, alice):
    campaign, contact = _campaign(acme, alice)
    CampaignContact.create(tenant=acme, campaign=campaign, contact=contact, phone=PHONE,
                           state="dialing", attempts=1)
    with pytest.raises(Refused):
        dialing.check(acme.id, alice.id, PHONE, campaign.id)
