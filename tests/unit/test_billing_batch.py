"""Billing at call time batched per tenant per writer batch (ledger.authorize_calls,
ledger.settle_calls, models.txn.gather): the calls of a batch that mixes tenants are
reserved and charged exactly as one by one, each answered CDR once; a batch that fails is
re-run job by job without a double charge; credit that runs out in the middle of a batch
refuses the calls it does not cover and never goes below zero through a reservation."""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

import models
from ari_app.writer import Writer
from models import Call, Campaign, CampaignContact, Contact, ContactGroup, Tenant
from models.entities import CreditReservation, LedgerEntry
from tests.unit.test_billing_credit import (NOW, PER_MINUTE, PER_SECOND, App, _campaign,
                                            _open_reserved, _tenant)
from voxcast.billing import ledger, plans
from voxcast.billing.rating import Rate

SIX_SIX = Rate("1555", Decimal("0.60"), Decimal("0"), 6, 6)  # the bench's rate


@pytest.fixture
def writer(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'batch.sqlite3'}")
    models.create_schema()
    plans._cache.clear()
    w = Writer()
    yield w
    w.close()
    models.database.close()


def _batch(writer: Writer, jobs) -> list:
    """Run `jobs` as one writer batch (on this thread, as the writer thread runs it)."""
    results = [None] * len(jobs)

    def job(i, func):
        def run():
            results[i] = func()
        return run

    writer._run_batch([(job(i, f), None) for i, f in enumerate(jobs)])
    return results


def _finish(app, claim, billsec):
    answered = NOW if billsec is not None else None
    ended = NOW + dt.timedelta(seconds=billsec or 0)
    return lambda: app.cdrs.finish_call(claim.call_id, answered, ended, 16, "Normal Clearing")


def _assert_exact(tenant_id: int) -> Decimal:
    """balance == ledger sum, an unbroken running-balance chain, every answered CDR charged
    once and with its cost, nothing left reserved. The balance."""
    balance = ledger.balance(tenant_id)
    assert balance == ledger.ledger_sum(tenant_id)
    running = Decimal("0")
    for entry in LedgerEntry.select().where(LedgerEntry.tenant == tenant_id).order_by(
            LedgerEntry.id):
        running += entry.amount
        assert entry.balance_after == running, entry.id
    for call in Call.select().where(Call.tenant == tenant_id):
        charges = LedgerEntry.select().where(LedgerEntry.call == call.id,
                                             LedgerEntry.kind == "call").count()
        assert charges == (1 if call.disposition == "ANSWERED" else 0), call.id
        if call.disposition == "ANSWERED":
            assert call.cost is not None
    assert not CreditReservation.select().where(CreditReservation.tenant == tenant_id,
                                                CreditReservation.released_at.is_null()).exists()
    return balance


def test_a_batch_mixing_tenants_reserves_and_charges_each_call_exactly(writer):
    app = App()
    rich = _tenant("10.00", rates=(SIX_SIX,), slug="rich")
    poor = _tenant("1.00", rates=(PER_MINUTE,), slug="poor")
    promo = _tenant("0.50", rates=(PER_SECOND,), slug="promo")
    ledger.grant_free(promo.id, seconds=25, reference="promo")
    ledger.grant_free(promo.id, amount="0.07", reference="promo money")
    tenants = (rich, poor, promo)
    camps = {t.id: _campaign(t, [f"+155500000{t.id}{i}" for i in range(4)]) for t in tenants}

    claims = _batch(writer, [lambda c=c: app.claims.claim_due(c.id, 4, now=NOW)
                             for c in camps.values()])
    by_tenant = dict(zip((t.id for t in tenants), claims))
    assert [len(c) for c in claims] == [4, 0, 4]  # poor: 1.25 a call, only 1.00 there
    assert Campaign.get_by_id(camps[poor.id].id).status_code == "no_credit"
    assert _open_reserved(rich) == Decimal("1.20")  # 30 s ahead at 0.01/s, four calls
    assert all(app.billing.grant_of(c.call_id).tenant_id == promo.id for c in by_tenant[promo.id])

    # promo reserved 30 s (25 of them free) + 30 s, then one second each: 0.22 was left
    assert [app.billing.grant_of(c.call_id).covered_s for c in by_tenant[promo.id]] == \
        [30, 30, 1, 1]
    billsecs = {rich.id: [7, 13, None, 40],  # 40 s: past the 30 s reserved, charged 30 s
                promo.id: [20, 13, None, 40]}
    _batch(writer, [_finish(app, claim, billsecs[t.id][i]) for t in (promo, rich)
                    for i, claim in enumerate(by_tenant[t.id])])

    assert _assert_exact(rich.id) == Decimal("10.00") - Decimal("0.12") - Decimal("0.18") \
        - Decimal("0.30")
    costs = [Call.get_by_id(c.call_id).cost for c in by_tenant[promo.id]]
    assert costs == [Decimal("0.20"), Decimal("0.13"), None, Decimal("0.01")]
    # 20 s free; of 13 s, 5 free (0.05) and 0.07 free money, 0.01 paid; 1 s paid
    assert _assert_exact(promo.id) == Decimal("0.48")
    free = LedgerEntry.select().where(LedgerEntry.tenant == promo.id, LedgerEntry.kind == "call")
    assert sum(e.free_seconds for e in free) == 25
    assert sum((e.free_money for e in free), Decimal("0")) == Decimal("0.32")
    assert ledger.free_seconds(promo.id) == 0 and ledger.free_money(promo.id) == 0
    assert app.billing.grant_of(by_tenant[rich.id][0].call_id) is None


def test_batched_settlement_posts_what_settling_one_by_one_posts(writer):
    """The same calls on two identical tenants: settled in one batch and one at a time."""
    results = {}
    for mode in ("together", "alone"):
        app = App()
        tenant = _tenant("0.40", rates=(PER_SECOND,), slug=mode)
        ledger.grant_free(tenant.id, seconds=12, reference="a")
        ledger.grant_free(tenant.id, seconds=5, reference="b",
                          expires_at=dt.datetime(2100, 1, 1))
        ledger.grant_free(tenant.id, amount="0.09", reference="c")
        claims = _batch(writer, [lambda: app.claims.claim_due(
            _campaign(tenant, [f"+1555000{i:04d}" for i in range(6)]).id, 6, now=NOW)])[0]
        billsecs = [3, 9, None, 30, 1, 14]
        if mode == "alone":  # ledger.settle, one call at a time, then the CDRs closed
            for claim, billsec in zip(claims, billsecs):
                app.billing.settle(app.billing.grant_of(claim.call_id), claim.call_id,
                                   billsec or 0)
        _batch(writer, [_finish(app, c, s) for c, s in zip(claims, billsecs)])
        _assert_exact(tenant.id)
        results[mode] = [(e.amount, e.balance_after, e.free_money, e.free_seconds)
                         for e in LedgerEntry.select().where(LedgerEntry.tenant == tenant.id)
                         .order_by(LedgerEntry.id)]
    assert results["together"] == results["alone"]


def _another_campaign(tenant, phones) -> Campaign:
    """A second running campaign of the tenant (test_billing_credit's makes one group "g")."""
    group = ContactGroup.create(tenant=tenant, name="second")
    campaign = Campaign.create(tenant=tenant, name="second", group=group, status="running")
    for phone in phones:
        contact = Contact.create(tenant=tenant, group=group, phone=phone)
        CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact, phone=phone,
                               next_attempt_at=NOW)
    return campaign


def _boom():
    raise ValueError("bad input")


def test_a_failing_batch_is_re_run_job_by_job_and_charges_each_call_once(writer, caplog):
    app = App()
    a, b = (_tenant("5.00", rates=(PER_SECOND,), slug=s) for s in ("a", "b"))
    claims = _batch(writer, [lambda t=t: app.claims.claim_due(
        _campaign(t, [f"+15550{t.id}0001", f"+15550{t.id}0002"]).id, 2, now=NOW)
        for t in (a, b)])
    jobs = [_finish(app, claims[0][0], 10), _finish(app, claims[1][0], 20), _boom,
            _finish(app, claims[0][1], 5), _finish(app, claims[1][1], None)]

    with caplog.at_level(logging.ERROR, logger="voxcast.writer"):
        _batch(writer, jobs)

    assert "_boom" in caplog.text
    assert _assert_exact(a.id) == Decimal("4.85")
    assert _assert_exact(b.id) == Decimal("4.80")
    assert all(app.billing.grant_of(c.call_id) is None for cs in claims for c in cs)


def test_a_failing_settlement_leaves_the_cdrs_closed_and_the_others_charged(writer, monkeypatch,
                                                                          caplog):
    app = App()
    good, bad = (_tenant("5.00", rates=(PER_SECOND,), slug=s) for s in ("good", "bad"))
    claims = _batch(writer, [lambda t=t: app.claims.claim_due(
        _campaign(t, [f"+15550{t.id}0001"]).id, 1, now=NOW) for t in (good, bad)])
    real = ledger.settle_calls

    def settle_calls(tenant_id, items):
        if tenant_id == bad.id:
            raise RuntimeError("ledger unavailable")
        return real(tenant_id, items)

    monkeypatch.setattr(ledger, "settle_calls", settle_calls)
    with caplog.at_level(logging.ERROR, logger="voxcast.credit"):
        _batch(writer, [_finish(app, claims[0][0], 10), _finish(app, claims[1][0], 10)])

    assert all(Call.get_by_id(c[0].call_id).ended_at is not None for c in claims)
    assert _assert_exact(good.id) == Decimal("4.90")
    assert "settled at the next start" in caplog.text
    assert _open_reserved(bad) == Decimal("0.30")  # left for the next start's reconcile
    monkeypatch.setattr(ledger, "settle_calls", real)
    assert App().billing.reconcile() == 1
    assert _assert_exact(bad.id) == Decimal("4.90")


def test_credit_running_out_in_the_middle_of_a_batch_refuses_the_rest_and_never_overspends(
        writer):
    app = App()
    tenant = _tenant("0.75", rates=(SIX_SIX,))  # 2 calls at 30 s ahead + 2 at one increment
    first = _campaign(tenant, [f"+155500001{i}" for i in range(3)])
    second = _another_campaign(tenant, [f"+155500002{i}" for i in range(3)])

    claimed = _batch(writer, [lambda: app.claims.claim_due(first.id, 3, now=NOW),
                              lambda: app.claims.claim_due(second.id, 3, now=NOW)])

    assert [len(c) for c in claimed] == [3, 1]
    covered = [app.billing.grant_of(c.call_id).covered_s for cs in claimed for c in cs]
    assert covered == [30, 30, 6, 6]  # 0.30 + 0.30 + 0.06 + 0.06 = 0.72 of 0.75
    assert ledger.available(tenant.id) == Decimal("0.03") >= 0
    assert Campaign.get_by_id(second.id).status_code == "no_credit"
    assert Campaign.get_by_id(first.id).status == "running"

    # They all run past what is reserved in the same batch: each charged only its reservation
    _batch(writer, [_finish(app, c, 45) for cs in claimed for c in cs])
    assert _assert_exact(tenant.id) == Decimal("0.03")
    assert Tenant.get_by_id(tenant.id).balance >= 0


def test_settling_a_call_already_charged_does_not_charge_it_again(writer):
    tenant = _tenant("1.00")
    calls = [Call.create(tenant=tenant, number="+15550000001", channel_id=f"c{i}", billsec=10)
             for i in range(2)]
    auths = ledger.authorize_calls(tenant.id, [ledger.CallWant(PER_SECOND, "x", c.id, 30)
                                               for c in calls])
    ledger.charge(tenant.id, "0.10", "call", call_id=calls[0].id)  # charged by another path
    items = [ledger.CallSettlement(a.reservation_id, c.id, Decimal("0.10"), 10)
             for a, c in zip(auths, calls)]
    assert ledger.settle_calls(tenant.id, [items[0], items[0], items[1]]) == 1
    assert ledger.settle_calls(tenant.id, items) == 0  # settled: nothing more
    for call in calls:
        assert LedgerEntry.select().where(LedgerEntry.call == call.id).count() == 1
    assert ledger.balance(tenant.id) == Decimal("0.80") == ledger.ledger_sum(tenant.id)
    assert all(CreditReservation.get_by_id(a.reservation_id).entry_id is not None
               for a in auths)
    assert _open_reserved(tenant) == 0


@pytest.mark.parametrize("free_seconds", [0, 40])
def test_extensions_in_prepared_sql_grow_reservations_as_before(writer, free_seconds):
    """ledger.extend_call (a Grant that knows its tenant) against the peewee path it replaces
    (tenant unknown), on identical worlds: parallel calls share what is left, then take one
    increment each, free minutes first; the same seconds covered at each step."""
    steps = {}
    for mode in ("prepared", "before"):
        app = App()
        tenant = _tenant("0.95", rates=(PER_SECOND,), slug=mode)
        if free_seconds:
            ledger.grant_free(tenant.id, seconds=free_seconds, reference="promo")
        claims = app.claims.claim_due(_campaign(tenant, ["+15550000001", "+15550000002",
                                                         "+15550000003"]).id, 3, now=NOW)
        grants = [app.billing.grant_of(c.call_id) for c in claims]
        if mode == "before":
            for grant in grants:
                grant.tenant_id = None
        steps[mode] = [app.billing.extend(grants[i % 3], 30) for i in range(12)]
        for claim, grant in zip(claims, grants):
            _batch(writer, [_finish(app, claim, grant.covered_s)])
        steps[mode].append(_assert_exact(tenant.id))
    assert steps["prepared"] == steps["before"]
    assert steps["prepared"][-1] >= 0
