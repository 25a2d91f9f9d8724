"""Billing at call time: the arithmetic of chunks and cuts (voxcast.billing.call_time), and the
writer-thread jobs (voxcast.billing.call_credit.CallBilling, wired as ari_app.main wires it)
on a real SQLite file: reservations at claim time, extensions, settlement with the CDR,
pausing for credit and resuming after a top-up, restart reconcile."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import models
from voxcast.dialing.admission import Admission, DncCheck
from voxcast.cdr.records import Cdrs
from voxcast.dialing.claims import Claims
from models import Call, Campaign, CampaignContact, Contact, ContactGroup, RatePlan, Tenant
from models.entities import CreditReservation, FaxDocument, Rate as RateRow
from voxcast.billing import call_time, ledger, plans, rating
from voxcast.billing.call_credit import CallBilling
from voxcast.campaigns import lifecycle
from voxcast.billing.rating import Rate

NOW = dt.datetime(2026, 1, 1, 12, 0)
PER_SECOND = Rate("1555", Decimal("0.60"), Decimal("0"), 1, 1)  # 0.01 a second
PER_MINUTE = Rate("1555", Decimal("1.20"), Decimal("0.05"), 60, 60)


# -- pure -------------------------------------------------------------------------------------

@pytest.mark.parametrize("initial, inc, expected", [(1, 1, 30), (6, 6, 30), (60, 60, 60),
                                                    (30, 7, 35), (1, 45, 45)])
def test_an_extension_is_whole_increments_of_at_least_30_seconds(initial, inc, expected):
    rate = Rate("1", Decimal("1"), Decimal("0"), initial, inc)
    assert call_time.chunk_seconds(rate) == expected
    assert call_time.chunk_seconds(rate) % inc == 0


def test_extension_is_asked_ahead_and_cut_comes_just_before_the_reserved_time_ends():
    assert call_time.extend_at(60) == 55 and call_time.extend_at(3) == 0
    assert call_time.cut_at(3) == pytest.approx(2.7) and call_time.cut_at(0) == 0


def test_a_call_is_never_billed_beyond_what_was_reserved():
    assert call_time.billed_seconds(4, 3) == 3
    assert call_time.billed_seconds(2, 3) == 2
    assert call_time.billed_seconds(0, 3) == 0


def test_inbound_minutes_are_billed_per_second_or_not_at_all():
    assert call_time.inbound_rate(0) is None and call_time.inbound_rate("0.00") is None
    rate = call_time.inbound_rate("0.60")
    assert rating.call_cost(rate, 10) == Decimal("0.1000")


# -- with the database ------------------------------------------------------------------------

@pytest.fixture
def database(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'credit.sqlite3'}")
    models.create_schema()
    plans._cache.clear()  # plan ids repeat across these throwaway databases
    yield models.database
    models.database.close()


class App:
    """The billing part of what ari_app.main.build() wires: CallBilling as an admission gate of
    the claims and of the CDR close. `restarted()`: a new run of the app, nothing in memory."""

    def __init__(self):
        self.billing = CallBilling()
        admission = Admission([DncCheck(), self.billing])
        self.claims, self.cdrs = Claims(admission), Cdrs(admission)

    def restarted(self) -> "App":
        return App()


@pytest.fixture
def app():
    return App()


def _tenant(balance="0", rates=(PER_SECOND,), slug="acme") -> Tenant:
    plan = RatePlan.create(name=f"plan-{slug}")
    for r in rates:
        RateRow.create(plan=plan, prefix=r.prefix, per_minute=r.per_minute,
                       connection_fee=r.connection_fee, initial_s=r.initial_s,
                       increment_s=r.increment_s)
    tenant = Tenant.create(name=slug, slug=slug, rate_plan=plan)
    if Decimal(balance) > 0:
        ledger.credit(tenant.id, balance)
    return tenant


def _campaign(tenant, phones) -> Campaign:
    group = ContactGroup.create(tenant=tenant, name="g")
    campaign = Campaign.create(tenant=tenant, name="c", group=group, status="running")
    for phone in phones:
        contact = Contact.create(tenant=tenant, group=group, phone=phone)
        CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact, phone=phone,
                               next_attempt_at=NOW)
    return campaign


def _open_reserved(tenant) -> Decimal:
    return sum((Decimal(r.amount) for r in CreditReservation.select().where(
        CreditReservation.tenant == tenant.id, CreditReservation.released_at.is_null())),
        Decimal("0"))


def _finish(app, claim, billsec: int | None):
    answered = NOW if billsec is not None else None
    ended = NOW + dt.timedelta(seconds=billsec or 0)
    with models.database.atomic():  # as the writer thread runs it
        return app.cdrs.finish_call(claim.call_id, answered, ended, 16, "Normal Clearing")


def test_claims_reserve_the_first_increment_until_the_credit_ends_then_the_campaign_pauses(database, app):
    tenant = _tenant("0.03")
    campaign = _campaign(tenant, [f"+1555000000{i}" for i in range(5)])

    claims = app.claims.claim_due(campaign.id, 10, now=NOW)

    assert len(claims) == 3  # 0.01 each
    assert _open_reserved(tenant) == Decimal("0.03")
    assert ledger.available(tenant.id) == 0
    assert all(app.billing.grant_of(c.call_id).covered_s == 1 for c in claims)
    campaign = Campaign.get_by_id(campaign.id)
    assert (campaign.status, campaign.status_code) == ("paused", "no_credit")
    assert campaign.status_reason == call_time.NO_CREDIT.text()
    states = sorted(e.state for e in CampaignContact.select())
    assert states == ["dialing"] * 3 + ["pending"] * 2
    assert Call.select().count() == 3  # the refused ones have no CDR
    # The dialer's "nothing wrong" note does not clear the reason of a paused campaign.
    lifecycle.note(campaign.id, None)
    assert Campaign.get_by_id(campaign.id).status_code == "no_credit"


def test_a_destination_without_rate_is_failed_with_a_cdr_and_never_claimed(database, app):
    tenant = _tenant("1.00")
    campaign = _campaign(tenant, ["+15550000001", "+4930123456"])
    claims = app.claims.claim_due(campaign.id, 10, now=NOW)
    assert [c.phone for c in claims] == ["+15550000001"]
    entry = CampaignContact.get(CampaignContact.phone == "+4930123456")
    assert entry.state == "failed"
    cdr = Call.get(Call.number == "+4930123456")
    assert (cdr.disposition, cdr.cause_txt, cdr.billsec) == ("FAILED", call_time.NO_RATE, 0)
    assert cdr.ended_at is not None and cdr.cost == 0
    assert app.claims.claim_due(campaign.id, 10, now=NOW + dt.timedelta(hours=1)) == []


def test_extension_takes_what_is_available_and_settling_charges_the_rated_cost(database, app):
    tenant = _tenant("0.05")
    campaign = _campaign(tenant, ["+15550000001"])
    (claim,) = app.claims.claim_due(campaign.id, 1, now=NOW)
    grant = app.billing.grant_of(claim.call_id)

    assert app.billing.extend(grant, 30) == 5  # only 0.04 more was there
    assert app.billing.extend(grant, 30) == 5  # nothing left: the call is to be cut at 5 s
    assert ledger.available(tenant.id) == 0

    assert _finish(app, claim, billsec=5) == "ANSWERED"
    call = Call.get_by_id(claim.call_id)
    assert call.cost == Decimal("0.05") == rating.call_cost(PER_SECOND, 5)
    tenant = Tenant.get_by_id(tenant.id)
    assert tenant.balance == 0 == ledger.ledger_sum(tenant.id)
    assert _open_reserved(tenant) == 0 and app.billing.grant_of(claim.call_id) is None


def test_a_call_billed_past_its_reservation_is_charged_only_what_was_reserved(database, app):
    tenant = _tenant("0.03")
    (claim,) = app.claims.claim_due(_campaign(tenant, ["+15550000001"]).id, 1, now=NOW)
    app.billing.extend(app.billing.grant_of(claim.call_id), 30)
    _finish(app, claim, billsec=4)  # hang-up latency rounded up past the 3 s we cut at
    assert Call.get_by_id(claim.call_id).cost == Decimal("0.03")
    assert Tenant.get_by_id(tenant.id).balance == 0


def test_an_unanswered_call_releases_its_reservation_and_costs_nothing(database, app):
    tenant = _tenant("2.00", rates=(PER_MINUTE,))
    (claim,) = app.claims.claim_due(_campaign(tenant, ["+15550000001"]).id, 1, now=NOW)
    assert _open_reserved(tenant) == Decimal("1.25")  # connection fee + first minute
    _finish(app, claim, billsec=None)
    assert _open_reserved(tenant) == 0
    assert Call.get_by_id(claim.call_id).cost is None
    assert Tenant.get_by_id(tenant.id).balance == Decimal("2.00")


def test_paused_for_credit_resumes_after_a_top_up_and_only_that_reason_resumes(database, app):
    tenant = _tenant("0")
    campaign = _campaign(tenant, ["+15550000001"])
    assert app.claims.claim_due(campaign.id, 1, now=NOW) == []
    assert Campaign.get_by_id(campaign.id).status == "paused"
    other = Campaign.create(tenant=tenant, name="paused by hand", status="paused",
                            status_reason="")
    assert app.billing.resume_paused() == []  # still no credit

    ledger.credit(tenant.id, "0.01")
    assert app.billing.resume_paused() == [campaign.id]
    assert Campaign.get_by_id(campaign.id).status == "running"
    assert Campaign.get_by_id(other.id).status == "paused"
    assert len(app.claims.claim_due(campaign.id, 1, now=NOW)) == 1


def test_restart_reconcile_releases_orphans_and_settles_closed_calls(database, app):
    tenant = _tenant("1.00")
    (claim,) = app.claims.claim_due(_campaign(tenant, ["+15550000001"]).id, 1, now=NOW)
    loose = ledger.reserve(tenant.id, "0.10", "crashed before the CDR")
    app = app.restarted()  # the app restarted: nothing in memory
    # The CDR of the placed call is closed by the restart (answered, 10 s).
    Call.update(answered_at=NOW, ended_at=NOW + dt.timedelta(seconds=10), billsec=10,
                disposition="ANSWERED").where(Call.id == claim.call_id).execute()

    assert app.billing.reconcile() == 2
    assert CreditReservation.get_by_id(loose).released_at is not None
    assert Call.get_by_id(claim.call_id).cost == Decimal("0.10")
    tenant = Tenant.get_by_id(tenant.id)
    assert tenant.balance == Decimal("0.90") == ledger.ledger_sum(tenant.id)
    assert _open_reserved(tenant) == 0


def test_without_any_rate_plan_calls_are_not_rated(database, app):
    tenant = Tenant.create(name="free", slug="free")
    claims = app.claims.claim_due(_campaign(tenant, ["+4930123456"]).id, 1, now=NOW)
    assert len(claims) == 1 and app.billing.grant_of(claims[0].call_id) is None


def test_free_minutes_keep_a_call_going_past_its_first_increment_then_it_is_cut(database, app):
    tenant = _tenant("0")
    ledger.grant_free(tenant.id, seconds=20, reference="promo")  # 20 free seconds
    campaign = _campaign(tenant, ["+15550000001"])
    (claim,) = app.claims.claim_due(campaign.id, 1, now=NOW)  # the first second, from free minutes
    grant = app.billing.grant_of(claim.call_id)

    assert app.billing.extend(grant, 10) == 11  # more free seconds, no money needed
    assert app.billing.extend(grant, 30) == 20  # the rest of the free minutes
    assert app.billing.extend(grant, 30) == 20  # nothing left: the call is to be cut at 20 s

    assert _finish(app, claim, billsec=20) == "ANSWERED"
    tenant = Tenant.get_by_id(tenant.id)
    assert tenant.balance == 0 == ledger.ledger_sum(tenant.id)  # nothing paid
    assert ledger.free_seconds(tenant.id) == 0
    assert _open_reserved(tenant) == 0


def test_free_destinations_reserve_nothing_post_nothing_and_cost_zero(database, app):
    free = Rate("1555", Decimal("0"), Decimal("0"), 1, 1)
    tenant = _tenant("0", rates=(free,))  # no money at all: a free call still goes out
    campaign = _campaign(tenant, ["+15550000001", "+15550000002"])

    claims = app.claims.claim_due(campaign.id, 10, now=NOW)

    assert len(claims) == 2
    assert CreditReservation.select().count() == 0
    grant = app.billing.grant_of(claims[0].call_id)
    assert grant.reservation_id is None and grant.covered_s == rating.MAX_CALL_SECONDS
    assert app.billing.extend(grant, 30) == rating.MAX_CALL_SECONDS
    assert _finish(app, claims[0], 42) == "ANSWERED"
    assert _finish(app, claims[1], None) == "NO ANSWER"
    costs = {c.id: c.cost for c in Call.select()}
    assert costs[claims[0].call_id] == Decimal("0")  # rated: free
    assert costs[claims[1].call_id] is None  # never answered: nothing to rate
    assert ledger.balance(tenant.id) == 0 and app.billing.grant_of(claims[0].call_id) is None


def test_a_call_still_up_at_restart_is_settled_when_its_cdr_closes(database, app):
    tenant = _tenant("1.00")
    (claim,) = app.claims.claim_due(_campaign(tenant, ["+15550000001"]).id, 1, now=NOW)
    app = app.restarted()  # the app restarted while the call was up

    assert app.billing.reconcile() == 0  # left open: its CDR is still open
    assert _open_reserved(tenant) == Decimal("0.30")  # 30 s reserved ahead
    _finish(app, claim, billsec=5)  # Asterisk reports the end to the new run

    assert Call.get_by_id(claim.call_id).cost == Decimal("0.05")
    assert _open_reserved(tenant) == 0
    tenant = Tenant.get_by_id(tenant.id)
    assert tenant.balance == Decimal("0.95") == ledger.ledger_sum(tenant.id)


def test_a_call_reserves_30_seconds_ahead_when_it_can_else_its_first_increment(database, app):
    rich, poor = _tenant("1.00", slug="rich"), _tenant("0.05", slug="poor")
    (a,) = app.claims.claim_due(_campaign(rich, ["+15550000001"]).id, 1, now=NOW)
    (b,) = app.claims.claim_due(_campaign(poor, ["+15550000002"]).id, 1, now=NOW)

    assert app.billing.grant_of(a.call_id).covered_s == 30  # no extension for a short call
    assert _open_reserved(rich) == Decimal("0.30")
    assert app.billing.grant_of(b.call_id).covered_s == 1  # 30 s would be 0.30: only 1 s
    assert _open_reserved(poor) == Decimal("0.01")
    _finish(app, a, billsec=12)
    assert Call.get_by_id(a.call_id).cost == Decimal("0.12")
    assert _open_reserved(rich) == 0
    rich = Tenant.get_by_id(rich.id)
    assert rich.balance == Decimal("0.88") == ledger.ledger_sum(rich.id)


# -- fax campaigns: billed per page, their calls carry no minute charge -------------------------

def _fax_campaign(tenant, phones, pages=2) -> Campaign:
    campaign = _campaign(tenant, phones)
    doc = FaxDocument.create(tenant=tenant, name="offer", tiff="offer.tif", pages=pages)
    Campaign.update(type="fax", fax_document=doc).where(Campaign.id == campaign.id).execute()
    return Campaign.get_by_id(campaign.id)


def test_fax_calls_need_a_rate_but_reserve_and_charge_no_minutes(database, app):
    tenant = _tenant("0.50", rates=(PER_MINUTE,))  # 1.20/min + 0.05: not one minute's worth
    RatePlan.update(fax_page_price=Decimal("0.10")).execute()
    campaign = _fax_campaign(tenant, ["+15550000001", "+15550000002", "+4930123456"])

    claims = app.claims.claim_due(campaign.id, 10, now=NOW)

    # +49 has no rate: failed with a CDR as for any call; the two rated ones go out although
    # the credit does not cover one minute (the pages are checked by the fax attempt).
    assert sorted(c.phone for c in claims) == ["+15550000001", "+15550000002"]
    assert CampaignContact.get(CampaignContact.phone == "+4930123456").state == "failed"
    assert Campaign.get_by_id(campaign.id).status == "running"
    assert CreditReservation.select().count() == 0
    grant = app.billing.grant_of(claims[0].call_id)
    assert grant.reservation_id is None and grant.covered_s == rating.MAX_CALL_SECONDS

    assert _finish(app, claims[0], 180) == "ANSWERED"  # three minutes of fax
    assert Call.get_by_id(claims[0].call_id).cost == Decimal("0")
    assert ledger.balance(tenant.id) == Decimal("0.50") == ledger.ledger_sum(tenant.id)


def test_a_fax_campaign_paused_for_credit_resumes_when_the_pages_are_affordable(database, app):
    tenant = _tenant("0", rates=(PER_MINUTE,))
    RatePlan.update(fax_page_price=Decimal("0.10")).execute()
    campaign = _fax_campaign(tenant, ["+15550000001"], pages=2)
    lifecycle.pause_for(campaign.id, call_time.NO_CREDIT)

    ledger.credit(tenant.id, "0.10")  # one page: not the document
    assert app.billing.resume_paused() == []
    ledger.credit(tenant.id, "0.10")  # both pages, far from a minute's 1.25
    assert app.billing.resume_paused() == [campaign.id]


@pytest.mark.parametrize("kind", ["sms", "email"])
def test_a_message_campaign_paused_for_credit_resumes_by_its_message_price(database, app, kind):
    tenant = _tenant("0", rates=(PER_MINUTE,))  # the contacts' phones are rated for calls
    RatePlan.update(sms_price=Decimal("0.05"), email_price=Decimal("0.05")).execute()
    campaign = _campaign(tenant, ["+15550000001"])
    Campaign.update(type=kind).where(Campaign.id == campaign.id).execute()
    lifecycle.pause_for(campaign.id, call_time.NO_CREDIT)
    # an e-mail contact without a number (no rate to look up): still no credit
    no_phone = Campaign.create(tenant=tenant, name="no phone", group=campaign.group_id,
                               type=kind, status="running")
    contact = Contact.create(tenant=tenant, group=campaign.group_id, phone="",
                             email="ann@example.com")
    CampaignContact.create(tenant=tenant, campaign=no_phone, contact=contact, phone="",
                           next_attempt_at=NOW)
    lifecycle.pause_for(no_phone.id, call_time.NO_CREDIT)

    # Judged by the messaging process's Dispatcher, by the price of the next message (the
    # Stasis app's Resumer leaves them: a call's rate says nothing about a message's price).
    from voxcast.messaging.dispatch import Dispatcher, Rendered
    dispatcher = Dispatcher(kind, lambda campaign, fields: Rendered("Hello"))
    assert dispatcher.resume_affordable() == []  # nothing to pay a message with
    ledger.credit(tenant.id, "0.05")  # one message, far from a call minute's 1.25
    assert app.billing.resume_paused() == []
    assert sorted(dispatcher.resume_affordable()) == sorted([campaign.id, no_phone.id])
