"""The ledger: balance == SUM(ledger) after every scenario, refusals change nothing,
idempotent charges, reservations, free credit buckets and their expiry."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from models import Call, Tenant
from models.entities import CreditBucket, CreditReservation, LedgerEntry, utcnow
from voxcast.billing import ledger
from voxcast.billing.ledger import BillingError, InsufficientCredit
from voxcast.billing.rating import Rate


@pytest.fixture
def tenant(db):
    return Tenant.create(name="acme", slug="acme")


def consistent(tenant_id):
    cached = ledger.balance(tenant_id)
    assert cached == ledger.ledger_sum(tenant_id)
    last = LedgerEntry.select().where(LedgerEntry.tenant == tenant_id).order_by(
        LedgerEntry.id.desc()).first()
    if last is not None:
        assert last.balance_after == cached
    return cached


def make_call(tenant, n=1):
    return Call.create(tenant=tenant, number="+4915112345678", channel_id=f"ch-{tenant.id}-{n}")


def test_given_payment_when_credited_then_balance_and_ledger_agree(tenant):
    entry = ledger.credit(tenant.id, "25.50", "payment", "INV-1")
    assert entry.amount == D("25.5000") and entry.kind == "payment"
    ledger.credit(tenant.id, D("0.0001"), "topup", "tiny")
    assert consistent(tenant.id) == D("25.5001")


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "", None, "NaN", "Infinity", "1e12"])
def test_given_bad_amount_when_credited_then_refused_and_nothing_applied(tenant, amount):
    with pytest.raises(BillingError) as exc:
        ledger.credit(tenant.id, amount, "payment", "x")
    assert str(exc.value)
    assert LedgerEntry.select().count() == 0
    assert consistent(tenant.id) == D("0")


def test_given_unknown_tenant_when_credited_then_refused(tenant):
    for bad in (99999, "nope", None):
        with pytest.raises(BillingError, match="Unknown tenant"):
            ledger.credit(bad, "10", "payment", "x")
    assert LedgerEntry.select().count() == 0


def test_given_call_when_charged_twice_then_charged_once(tenant):
    ledger.credit(tenant.id, "10", "payment")
    call = make_call(tenant)
    first = ledger.charge(tenant.id, "1.2345", "call", call_id=call.id)
    again = ledger.charge(tenant.id, "1.2345", "call", call_id=call.id)
    assert again.id == first.id
    assert consistent(tenant.id) == D("8.7655")
    assert Call.get_by_id(call.id).cost == D("1.2345")


def test_given_message_ref_when_charged_twice_then_charged_once(tenant):
    ledger.credit(tenant.id, "1", "payment")
    ledger.charge(tenant.id, "0.05", "sms", message_ref="sms-1")
    ledger.charge(tenant.id, "0.05", "sms", message_ref="sms-1")
    ledger.charge(tenant.id, "0.05", "sms", message_ref="sms-2")
    assert consistent(tenant.id) == D("0.9000")


def test_given_charge_beyond_balance_then_balance_goes_negative_but_consistent(tenant):
    ledger.credit(tenant.id, "1", "payment")
    ledger.charge(tenant.id, "3", "call", call_id=make_call(tenant).id)
    assert consistent(tenant.id) == D("-2.0000")


def test_given_negative_or_unknown_kind_charge_then_refused(tenant):
    with pytest.raises(BillingError):
        ledger.charge(tenant.id, "-1", "call")
    with pytest.raises(BillingError):
        ledger.charge(tenant.id, "1", "nonsense")
    assert consistent(tenant.id) == D("0")


def test_given_reservations_when_available_then_they_are_set_aside(tenant):
    ledger.credit(tenant.id, "10", "payment")
    r1 = ledger.reserve(tenant.id, "4", "call a")
    r2 = ledger.reserve(tenant.id, "5", "call b")
    assert ledger.available(tenant.id) == D("1.0000")
    with pytest.raises(InsufficientCredit):
        ledger.reserve(tenant.id, "1.0001", "call c")
    assert ledger.extend(r1, "1") is True
    assert ledger.extend(r1, "0.0001") is False
    ledger.release(r2)
    ledger.release(r2)  # twice is harmless
    assert ledger.available(tenant.id) == D("5.0000")
    assert consistent(tenant.id) == D("10.0000")


def test_given_reservation_when_settled_then_actual_cost_charged_once_and_released(tenant):
    ledger.credit(tenant.id, "10", "payment")
    call = make_call(tenant)
    res = ledger.reserve(tenant.id, "2", "call", call_id=call.id)
    entry = ledger.settle(res, "0.7", call.id, seconds=60)
    assert entry.amount == D("-0.7000")
    assert ledger.settle(res, "0.7", call.id, seconds=60).id == entry.id
    assert CreditReservation.get_by_id(res).released_at is not None
    assert ledger.available(tenant.id) == D("9.3000")
    assert ledger.extend(res, "1") is False  # settled: the call is over
    assert Call.get_by_id(call.id).cost == D("0.7000")
    assert consistent(tenant.id) == D("9.3000")
    assert ledger.settle(123456, "1", None) is None


def test_given_free_minutes_and_free_money_when_settled_then_used_before_balance(tenant):
    """Split: free minutes cover that share of the call's seconds (and the same share of
    its cost), free money the next part, the paid balance the rest."""
    ledger.credit(tenant.id, "10", "payment")
    ledger.grant_free(tenant.id, seconds=60, reference="welcome minutes")
    ledger.grant_free(tenant.id, amount="0.30", reference="welcome credit")
    assert ledger.available(tenant.id) == D("10.3000")
    assert ledger.available_seconds(tenant.id) == 60
    call = make_call(tenant)
    res = ledger.reserve(tenant.id, "1", "c")
    # 180 billed seconds costing 0.90: 60 s free = 0.30, then 0.30 free money, 0.30 paid
    entry = ledger.settle(res, "0.90", call.id, seconds=180)
    assert entry.free_seconds == 60 and entry.free_money == D("0.6000")
    assert entry.amount == D("-0.3000")
    assert ledger.free_seconds(tenant.id) == 0 and ledger.free_money(tenant.id) == D("0")
    assert Call.get_by_id(call.id).cost == D("0.9000")
    assert consistent(tenant.id) == D("9.7000")
    kinds = [e.kind for e in LedgerEntry.select().order_by(LedgerEntry.id)]
    assert kinds == ["payment", "free_minutes", "free_credit", "call"]


def test_given_free_money_when_sms_charged_then_free_money_first(tenant):
    ledger.grant_free(tenant.id, amount="0.10")
    ledger.charge(tenant.id, "0.06", "sms", message_ref="m1")
    e = ledger.charge(tenant.id, "0.06", "sms", message_ref="m2")
    assert e.free_money == D("0.0400") and e.amount == D("-0.0200")
    assert consistent(tenant.id) == D("-0.0200")


def test_given_expired_bucket_then_not_used(tenant):
    ledger.credit(tenant.id, "1", "payment")
    bucket = ledger.grant_free(tenant.id, amount="5", expires_at=utcnow() + dt.timedelta(days=1))
    soon = ledger.grant_free(tenant.id, amount="1", expires_at=utcnow() + dt.timedelta(hours=1))
    assert ledger.available(tenant.id) == D("7.0000")
    e = ledger.charge(tenant.id, "0.5", "sms", message_ref="a")  # the soonest expiring first
    assert CreditBucket.get_by_id(soon.id).amount == D("0.5000") and e.amount == 0
    CreditBucket.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
        CreditBucket.id == bucket.id).execute()
    assert ledger.available(tenant.id) == D("1.5000")
    e = ledger.charge(tenant.id, "1", "sms", message_ref="b")
    assert e.free_money == D("0.5000") and e.amount == D("-0.5000")
    assert CreditBucket.get_by_id(bucket.id).amount == D("5.0000")  # expired, untouched
    assert consistent(tenant.id) == D("0.5000")


def test_given_bad_grants_then_refused(tenant):
    with pytest.raises(BillingError):
        ledger.grant_free(tenant.id, amount="0")
    with pytest.raises(BillingError):
        ledger.grant_free(tenant.id, seconds=-5)
    with pytest.raises(BillingError):
        ledger.grant_free(tenant.id, amount="1", seconds=5)
    with pytest.raises(BillingError):
        ledger.grant_free(tenant.id, amount="1", expires_at=utcnow() - dt.timedelta(days=1))
    assert CreditBucket.select().count() == 0 and LedgerEntry.select().count() == 0


def test_given_rate_when_call_authorized_then_first_increment_reserved(tenant):
    rate = Rate("49", D("0.60"), connection_fee=D("0.10"), initial_s=60, increment_s=60)
    with pytest.raises(InsufficientCredit):
        ledger.authorize_call(tenant.id, rate, "no money")
    ledger.credit(tenant.id, "2", "payment")
    auth = ledger.authorize_call(tenant.id, rate, "call 1")
    # 2.00 buys the fee + 3 minutes (0.10 + 1.80)
    assert auth.max_seconds == 180
    assert CreditReservation.get_by_id(auth.reservation_id).amount == D("0.7000")
    assert ledger.available(tenant.id) == D("1.3000")
    ledger.grant_free(tenant.id, seconds=120)
    auth2 = ledger.authorize_call(tenant.id, rate, "call 2")
    assert CreditReservation.get_by_id(auth2.reservation_id).amount == D("0")
    assert CreditReservation.get_by_id(auth2.reservation_id).seconds == 60
    assert auth2.max_seconds == 120 + 120  # free 120 s + 1.30 buys the fee + 2 minutes
    assert consistent(tenant.id) == D("2.0000")


def test_given_many_charges_when_posted_in_batches_then_running_balance_exact(tenant):
    ledger.credit(tenant.id, "100", "payment")
    n = ledger.post_charges(tenant.id, (ledger.PendingCharge(D("0.0123")) for _ in range(2500)),
                            batch=1000)
    assert n == 2500
    assert consistent(tenant.id) == D("100") - D("0.0123") * 2500


def test_given_balance_from_before_the_ledger_when_bootstrapped_then_opening_entry(db):
    import models
    old = Tenant.create(name="legacy", slug="legacy", balance=D("12.34"))
    models.bootstrap()
    assert consistent(old.id) == D("12.3400")
    assert LedgerEntry.get(LedgerEntry.tenant == old.id).kind == "opening"
    models.bootstrap()  # once only
    assert LedgerEntry.select().where(LedgerEntry.tenant == old.id).count() == 1
