"""The disposition form (voxcast.agents.wrapup) and time-in-state sums (voxcast.agents.stats),
on the real SQLite database: only the agent's own calls, callback re-queues the campaign
contact at the chosen UTC time, DNC adds the caller's number, wrap-up ends unless paused, and
the state log sums to the wall-clock stretch."""
from __future__ import annotations

import datetime as dt

import pytest

from models import Call, Campaign, CampaignContact, Contact, ContactGroup, DncNumber, Tenant
from models.entities import AgentDisposition, AgentSession, QueueCall
from voxcast.agents import errors, sessions, states, stats, wrapup

from .agents_support import make_agent

T0 = dt.datetime(2026, 1, 5, 9, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme", country="DE")


@pytest.fixture
def alice(acme):
    return make_agent(acme, "alice")


@pytest.fixture
def campaign_call(acme, alice):
    """A Voice Agent campaign call bridged to alice: the customer's CDR (with its campaign
    entry) and the agent leg's CDR, linked by the QueueCall."""
    group = ContactGroup.create(tenant=acme, name="Leads")
    contact = Contact.create(tenant=acme, group=group, phone="+4930123456")
    campaign = Campaign.create(tenant=acme, name="Sales", type="voice_agent", group=group)
    entry = CampaignContact.create(tenant=acme, campaign=campaign, contact=contact,
                                   phone=contact.phone, state="done", attempts=1)
    customer = Call.create(tenant=acme, campaign=campaign, contact=contact, entry=entry,
                           number=contact.phone, channel_id="cust-1", agent=alice)
    leg = Call.create(tenant=acme, campaign=campaign, direction="agent", number="7001",
                      channel_id="agent-1", agent=alice)
    QueueCall.create(tenant=acme, campaign=campaign, call=customer, agent=alice,
                     agent_call=leg, outcome="answered")
    return customer, leg, entry


def disposition(tenant, name, kind="normal"):
    return AgentDisposition.create(tenant=tenant, name=name, kind=kind)


def in_wrapup(tenant, user, now=T0):
    s = sessions.login(tenant.id, user.id, now=now)
    states.offer_started(s.id, None, now=now)
    states.offer_answered(s.id, None, now=now)
    states.call_ended(s.id, 60, now=now)
    return s


def test_given_a_normal_disposition_then_both_cdrs_carry_it_and_wrapup_ends(acme, alice, campaign_call):
    customer, leg, _entry = campaign_call
    s = in_wrapup(acme, alice)
    sale = disposition(acme, "Sale")
    out = wrapup.record(acme.id, alice.id, leg.id, sale.id, notes="  wants the red one ")
    assert out.id == customer.id
    for call in (Call.get_by_id(customer.id), Call.get_by_id(leg.id)):
        assert call.agent_disposition == "Sale" and call.notes == "wants the red one"
    assert AgentSession.get_by_id(s.id).state == "ready"


def test_given_a_paused_agent_when_recording_then_they_stay_paused(acme, alice, campaign_call):
    customer, _leg, _entry = campaign_call
    s = in_wrapup(acme, alice)
    assert states.set_state(s.id, "paused")
    wrapup.record(acme.id, alice.id, customer.id, None, notes="later")
    assert AgentSession.get_by_id(s.id).state == "paused"
    assert Call.get_by_id(customer.id).notes == "later"


def test_given_a_callback_then_the_contact_is_queued_again_at_that_utc_time(acme, alice, campaign_call):
    customer, _leg, entry = campaign_call
    back = disposition(acme, "Call back", "callback")
    when = wrapup.parse_callback("2026-01-06T14:30", "Europe/Berlin")
    assert when == dt.datetime(2026, 1, 6, 13, 30)
    wrapup.record(acme.id, alice.id, customer.id, back.id, callback_at=when, now=T0)
    row = CampaignContact.get_by_id(entry.id)
    assert row.state == "pending" and row.next_attempt_at == dt.datetime(2026, 1, 6, 13, 30)
    aware = dt.datetime(2026, 1, 7, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    wrapup.record(acme.id, alice.id, customer.id, back.id, callback_at=aware, now=T0)
    assert CampaignContact.get_by_id(entry.id).next_attempt_at == dt.datetime(2026, 1, 7, 6, 0)


@pytest.mark.parametrize("when, field", [(None, "callback_at"),
                                         (T0 - dt.timedelta(hours=1), "callback_at"),
                                         (T0 + dt.timedelta(days=400), "callback_at")])
def test_given_a_callback_without_a_sensible_time_then_refused_and_nothing_changes(
        acme, alice, campaign_call, when, field):
    customer, _leg, entry = campaign_call
    back = disposition(acme, "Call back", "callback")
    with pytest.raises(errors.AgentInputError) as exc:
        wrapup.record(acme.id, alice.id, customer.id, back.id, notes="x", callback_at=when, now=T0)
    assert exc.value.field == field
    assert CampaignContact.get_by_id(entry.id).state == "done"
    assert Call.get_by_id(customer.id).notes == ""


def test_given_an_inbound_call_when_a_callback_is_chosen_then_refused(acme, alice):
    call = Call.create(tenant=acme, direction="inbound", number="+4930999", channel_id="in-1",
                       agent=alice)
    back = disposition(acme, "Call back", "callback")
    with pytest.raises(errors.AgentInputError):
        wrapup.record(acme.id, alice.id, call.id, back.id, callback_at=T0 + dt.timedelta(hours=1),
                      now=T0)


def test_given_dnc_then_the_callers_number_is_on_the_tenants_list(acme, alice, campaign_call):
    customer, leg, _entry = campaign_call
    stop = disposition(acme, "Do not call", "dnc")
    wrapup.record(acme.id, alice.id, leg.id, stop.id)
    rows = [(r.tenant_id, r.phone) for r in DncNumber.select()]
    assert rows == [(acme.id, "+4930123456")]


def test_given_dnc_for_a_number_we_dialled_that_the_phone_library_calls_invalid_then_listed_as_is(
        acme, alice, campaign_call):
    """+1555... passes our dialling (it is E.164) but not phonenumbers' validity rules: the
    number of our own CDR is listed as recorded, and wrap-up ends."""
    customer, _leg, _entry = campaign_call
    Call.update(number="+15557770101").where(Call.id == customer.id).execute()
    s = in_wrapup(acme, alice)
    stop = disposition(acme, "Do not call", "dnc")
    wrapup.record(acme.id, alice.id, customer.id, stop.id, notes="never again")
    assert [(r.tenant_id, r.phone) for r in DncNumber.select()] == [(acme.id, "+15557770101")]
    assert Call.get_by_id(customer.id).agent_disposition == "Do not call"
    assert AgentSession.get_by_id(s.id).state == "ready"


def test_given_dnc_for_a_withheld_caller_then_nothing_listed_but_the_form_is_saved(acme, alice):
    call = Call.create(tenant=acme, direction="inbound", number="anonymous", channel_id="in-2",
                       agent=alice)
    s = in_wrapup(acme, alice)
    stop = disposition(acme, "Do not call", "dnc")
    wrapup.record(acme.id, alice.id, call.id, stop.id, notes="hid the number")
    assert DncNumber.select().count() == 0
    row = Call.get_by_id(call.id)
    assert row.agent_disposition == "Do not call" and row.notes == "hid the number"
    assert AgentSession.get_by_id(s.id).state == "ready"


def test_given_another_agents_or_tenants_call_then_refused(acme, alice, campaign_call):
    customer, _leg, _entry = campaign_call
    bob = make_agent(acme, "bob")
    with pytest.raises(errors.NotYourCall):
        wrapup.record(acme.id, bob.id, customer.id, None, notes="not mine")
    other = Tenant.create(name="Other", slug="other")
    mallory = make_agent(other, "mallory")
    with pytest.raises(errors.NotFound):
        wrapup.record(other.id, mallory.id, customer.id, None, notes="x")
    foreign = disposition(other, "Sale")
    with pytest.raises(errors.NotFound):
        wrapup.record(acme.id, alice.id, customer.id, foreign.id)
    assert Call.get_by_id(customer.id).notes == ""


def test_given_an_inactive_disposition_or_long_notes_then_refused(acme, alice, campaign_call):
    customer, _leg, _entry = campaign_call
    old = AgentDisposition.create(tenant=acme, name="Old", active=False)
    with pytest.raises(errors.AgentInputError):
        wrapup.record(acme.id, alice.id, customer.id, old.id)
    with pytest.raises(errors.AgentInputError):
        wrapup.record(acme.id, alice.id, customer.id, None, notes="x" * 5001)


def test_state_log_sums_to_the_stretch(acme, alice):
    s = sessions.login(acme.id, alice.id, now=at(0))           # ready 0-100
    states.offer_started(s.id, None, now=at(100))              # ringing 100-110
    states.offer_answered(s.id, None, now=at(110))             # on_call 110-230
    states.call_ended(s.id, 20, now=at(230))                   # wrapup 230-250
    states.finish_wrapups(now=at(250))                         # ready 250-300
    states.set_state(s.id, "paused", now=at(300))              # paused 300-400
    sessions.logout(s.id, now=at(400))                         # logged_out 400-
    got = stats.time_in_states(acme.id, alice.id, at(0), at(500), now=at(1000))
    assert got == {"ready": 150, "ringing": 10, "on_call": 120, "wrapup": 20, "paused": 100,
                   "logged_out": 100, "login": 400}
    # clipped to the stretch asked for
    part = stats.time_in_states(acme.id, alice.id, at(105), at(240), now=at(1000))
    assert part["ringing"] == 5 and part["on_call"] == 120 and part["wrapup"] == 10
    assert part["login"] == 135
    assert stats.by_user(acme.id, at(0), at(500), now=at(1000))[alice.id]["login"] == 400


def test_open_state_runs_to_now_and_pauses_sum_by_reason(acme, alice):
    from models.entities import PauseReason
    lunch = PauseReason.create(tenant=acme, name="Lunch")
    s = sessions.login(acme.id, alice.id, now=at(0))
    states.set_state(s.id, "paused", pause_reason_id=lunch.id, now=at(10))
    states.set_state(s.id, "paused", now=at(40))  # still paused, no reason now
    got = stats.time_in_states(acme.id, alice.id, at(0), at(3600), now=at(100))
    assert got["ready"] == 10 and got["paused"] == 90 and got["login"] == 100
    assert stats.pause_by_reason(acme.id, alice.id, at(0), at(3600), now=at(100)) == {
        "Lunch": 30, "": 60}
    other = Tenant.create(name="Other", slug="other")
    assert stats.time_in_states(other.id, alice.id, at(0), at(3600))["login"] == 0


def test_agent_report_offers_answer_speed_pauses_and_dispositions(acme, alice, campaign_call):
    from models.entities import PauseReason
    customer, leg, _entry = campaign_call
    Call.update(started_at=at(30)).where(Call.id.in_([customer.id, leg.id])).execute()
    bob = make_agent(acme, "bob")
    lunch = PauseReason.create(tenant=acme, name="Lunch")
    s = sessions.login(acme.id, alice.id, now=at(0))
    states.offer_started(s.id, None, now=at(10))
    states.offer_unanswered(s.id, 3, now=at(25))          # missed after 15 s
    states.offer_started(s.id, None, now=at(30))
    states.offer_answered(s.id, None, now=at(34))          # answered after 4 s
    states.call_ended(s.id, 0, now=at(94))
    states.offer_started(s.id, None, now=at(100))
    states.offer_answered(s.id, None, now=at(106))         # answered after 6 s
    states.call_ended(s.id, 10, now=at(166))
    states.set_state(s.id, "paused", pause_reason_id=lunch.id, now=at(170))
    sessions.logout(s.id, now=at(200))
    sale = disposition(acme, "Sale")
    wrapup.record(acme.id, alice.id, customer.id, sale.id, now=at(180))
    sessions.login(acme.id, bob.id, now=at(150))           # bob: logged in, nothing else
    report = stats.agent_report(acme.id, at(0), at(300), now=at(300))
    assert [r.username for r in report] == ["alice", "bob"]
    a, b = report
    assert (a.sessions, a.offers, a.answered, a.missed) == (1, 3, 2, 1)
    assert a.answer_speed == 5 and a.average_talk == 60
    assert a.seconds["on_call"] == 120 and a.seconds["login"] == 200
    assert a.pauses == {"Lunch": 30}
    assert a.dispositions == {"Sale": 1}  # the customer's CDR, not the agent leg too
    assert (b.sessions, b.offers, b.seconds["ready"], b.answer_speed) == (1, 0, 150, None)


def test_given_the_campaign_completed_meanwhile_when_a_callback_is_set_then_it_runs_again(
        acme, alice, campaign_call):
    customer, _leg, entry = campaign_call
    Campaign.update(status="completed", finished_at=T0).where(
        Campaign.id == entry.campaign_id).execute()
    back = disposition(acme, "Call back", "callback")
    wrapup.record(acme.id, alice.id, customer.id, back.id, callback_at=at(3600), now=T0)
    campaign = Campaign.get_by_id(entry.campaign_id)
    assert (campaign.status, campaign.finished_at) == ("running", None)
    assert CampaignContact.get_by_id(entry.id).state == "pending"
    Campaign.update(status="stopped").where(Campaign.id == entry.campaign_id).execute()
    wrapup.record(acme.id, alice.id, customer.id, back.id, callback_at=at(7200), now=T0)
    assert Campaign.get_by_id(entry.campaign_id).status == "stopped"  # stopped stays stopped
