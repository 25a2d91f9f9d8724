"""Billing enforced at call time through the real Asterisk: calls are cut when the credit runs
out, parallel calls never spend more than the balance, a tenant without credit is paused and
resumes after a top-up, and inbound minutes are refused without credit."""
from __future__ import annotations

import itertools
from decimal import Decimal

from models import Call, CampaignContact, Did, RatePlan, Tenant
from models.entities import CreditReservation, LedgerEntry, Rate
from voxcast.campaigns import services as campaign_service
from voxcast.billing import call_time, ledger, rating

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp

_seq = itertools.count(1)
PER_SECOND = dict(per_minute=Decimal("0.60"), initial_s=1, increment_s=1)  # 0.01 a second
LONG_TEXT = ("This message is far longer than the credit of this tenant allows, so the call "
             "must be cut by voxcast before the message ends. It goes on and on about nothing "
             "in particular, so that the called party keeps listening for a good while longer.")


def _tenant(balance: str, prefix: str = "1555", inbound_per_minute: str = "0") -> Tenant:
    """A tenant of its own on a plan with a per-second rate for `prefix`, and `balance`."""
    n = next(_seq)
    plan = RatePlan.create(name=f"billing-plan-{n}",
                           inbound_per_minute=Decimal(inbound_per_minute))
    Rate.create(plan=plan, prefix=prefix, **PER_SECOND)
    tenant = Tenant.create(name=f"billing-{n}", slug=f"billing-{n}", rate_plan=plan,
                           channel_limit=10)
    if Decimal(balance) > 0:
        ledger.credit(tenant.id, balance, reference="test credit")
    return tenant


def _rate() -> rating.Rate:
    return rating.Rate("1555", **PER_SECOND)


def _assert_books_balance(tenant: Tenant) -> Tenant:
    tenant = Tenant.get_by_id(tenant.id)
    assert Decimal(tenant.balance) == ledger.ledger_sum(tenant.id)
    assert Decimal(tenant.balance) >= 0
    assert not CreditReservation.select().where(CreditReservation.tenant == tenant.id,
                                                CreditReservation.released_at.is_null()).exists()
    return tenant


def _charges(tenant: Tenant) -> list[LedgerEntry]:
    return list(LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                           LedgerEntry.kind == "call"))


def test_given_credit_for_3_seconds_when_contact_never_hangs_up_then_we_cut_the_call_at_3s(
        stasis_app, settings, workdir):
    tenant = _tenant("0.03")
    campaign = make_campaign(tenant, settings, unique_phones(1), text=LONG_TEXT)
    assert float(campaign.message_seconds) > 8
    uas = Sipp.uas("uas_answer_never_hangup.xml", workdir, settings.trunk_port, calls=1).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()

    (call,) = Call.select().where(Call.campaign == campaign)
    assert call.disposition == "ANSWERED" and call.cause_txt == call_time.CUT_CAUSE
    assert 2 <= call.billsec <= 3
    # What the called party saw: our BYE about 3 s after its answer was acknowledged.
    msgs = uas.messages()
    ack = next(m for m in msgs if m.method == "ACK" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    assert 2.4 <= (bye.at - ack.at).total_seconds() <= 3.8, (bye.at - ack.at)
    # Charged the rated cost, linked to the CDR; the books balance; nothing left reserved.
    (charge,) = _charges(tenant)
    assert charge.call_id == call.id
    assert -charge.amount == Decimal(call.cost) == rating.call_cost(_rate(), call.billsec)
    tenant = _assert_books_balance(tenant)
    assert Decimal(tenant.balance) == Decimal("0.03") - Decimal(call.cost)


def test_given_credit_for_12_seconds_when_4_parallel_calls_never_hang_up_then_total_stays_within(
        stasis_app, settings, workdir):
    tenant = _tenant("0.12")
    phones = unique_phones(4)
    campaign = make_campaign(tenant, settings, phones, text=LONG_TEXT, channel_limit=4)
    uas = Sipp.uas("uas_answer_never_hangup.xml", workdir, settings.trunk_port, calls=4).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()

    calls = list(Call.select().where(Call.campaign == campaign))
    assert sorted(c.number for c in calls) == sorted(phones)
    # All four ran at once, and every one was cut by us when its credit ended.
    assert all(c.disposition == "ANSWERED" and c.cause_txt == call_time.CUT_CAUSE for c in calls)
    billed = sum(Decimal(c.cost) for c in calls)
    assert billed <= Decimal("0.12")
    assert billed >= Decimal("0.10")  # the credit was used, not refused
    assert sum(-e.amount for e in _charges(tenant)) == billed
    tenant = _assert_books_balance(tenant)
    assert Decimal(tenant.balance) == Decimal("0.12") - billed
    dialogs = uas.dialogs()
    assert len(dialogs) == 4
    assert all(any(m.method == "BYE" and not m.sent for m in msgs) for msgs in dialogs.values())


def test_given_no_credit_when_campaign_starts_then_it_pauses_and_resumes_after_a_top_up(
        stasis_app, settings, workdir):
    tenant = _tenant("0")
    phones = unique_phones(2)
    campaign = make_campaign(tenant, settings, phones, text="Hello.", channel_limit=2)
    campaign_service.start(campaign, settings)
    wait_for(lambda: reload(campaign).status == "paused", 15, message="paused for credit")
    assert reload(campaign).status_code == call_time.NO_CREDIT.code
    assert not Call.select().where(Call.campaign == campaign).exists()
    assert all(e.state == "pending" and e.attempts == 0
               for e in CampaignContact.select().where(CampaignContact.campaign == campaign))

    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=2).start()
    try:
        ledger.credit(tenant.id, "1.00", reference="top-up")
        wait_for(lambda: reload(campaign).status == "completed", 30,
                 message="resumed by itself and completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    calls = list(Call.select().where(Call.campaign == campaign))
    assert len(calls) == 2 and {c.disposition for c in calls} == {"ANSWERED"}
    assert all(Decimal(c.cost) == rating.call_cost(_rate(), c.billsec) for c in calls)
    tenant = _assert_books_balance(tenant)
    assert Decimal(tenant.balance) == Decimal("1.00") - sum(Decimal(c.cost) for c in calls)


def test_given_destination_without_rate_then_contact_fails_and_nothing_is_dialed(
        stasis_app, settings, workdir):
    tenant = _tenant("1.00", prefix="1999")  # no rate for +1555...
    campaign = make_campaign(tenant, settings, unique_phones(1), text="Hello.")
    campaign_service.start(campaign, settings)
    wait_for(lambda: reload(campaign).status == "completed", 15, message="campaign completed")
    (call,) = Call.select().where(Call.campaign == campaign)
    assert call.disposition == "FAILED" and call.cause_txt == call_time.NO_RATE
    assert call.billsec == 0 and Decimal(call.cost) == 0
    (entry,) = CampaignContact.select().where(CampaignContact.campaign == campaign)
    assert entry.state == "failed"
    _assert_books_balance(tenant)


def test_given_plan_charging_inbound_when_tenant_has_no_credit_then_inbound_call_gets_busy(
        stasis_app, settings, workdir):
    tenant = _tenant("0", inbound_per_minute="0.60")
    Did.create(number="15557780001", tenant=tenant, greeting_text="Hello.")
    uac = Sipp.uac("uac_call_busy.xml", workdir, f"127.0.0.1:{settings.sip_port}", "15557780001",
                   port=settings.sip_port + 33).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    assert not Call.select().where(Call.did == "15557780001").exists()

    # With credit the call is answered, and its seconds are charged at hang-up.
    ledger.credit(tenant.id, "1.00", reference="top-up")
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", "15557780001",
                   port=settings.sip_port + 33).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    call = wait_for(lambda: Call.get_or_none(Call.did == "15557780001",
                                             Call.ended_at.is_null(False)), 10,
                    message="inbound CDR closed")
    wait_for(lambda: Call.get_by_id(call.id).cost is not None, 5, message="inbound call rated")
    call = Call.get_by_id(call.id)
    inbound = call_time.inbound_rate(Decimal("0.60"))
    assert Decimal(call.cost) == rating.call_cost(inbound, call.billsec) > 0
    _assert_books_balance(tenant)
