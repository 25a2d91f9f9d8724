"""Monthly DID fees: charged once per DID and month, only for assigned DIDs."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import models
from models import Did, RatePlan, Tenant
from voxcast.billing import ledger, plans, recurring


@pytest.fixture
def db(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'recurring.sqlite3'}")
    models.create_schema()
    plans._cache.clear()
    yield
    models.database.close()


def test_given_dids_when_fees_run_then_each_assigned_did_is_charged_once_a_month(db):
    plan = RatePlan.create(name="with-did-fee", did_monthly_fee=Decimal("2.50"))
    tenant = Tenant.create(name="acme", slug="acme", rate_plan=plan)
    free = Tenant.create(name="nofee", slug="nofee",
                         rate_plan=RatePlan.create(name="no-fee"))
    ledger.credit(tenant.id, "10")
    Did.create(number="15550100001", tenant=tenant)
    Did.create(number="15550100002", tenant=tenant)
    Did.create(number="15550100003", tenant=free)
    Did.create(number="15550100004")  # in the pool: nobody pays
    november = dt.datetime(2026, 11, 23, 12, 0)

    assert recurring.charge_did_fees(november) == 2
    assert recurring.charge_did_fees(november + dt.timedelta(days=3)) == 0  # same month
    assert ledger.balance(tenant.id) == Decimal("5.00") == ledger.ledger_sum(tenant.id)
    assert ledger.balance(free.id) == 0

    assert recurring.charge_did_fees(dt.datetime(2026, 12, 1, 0, 5)) == 2
    assert ledger.balance(tenant.id) == Decimal("0.00") == ledger.ledger_sum(tenant.id)
    refs = sorted(e.message_ref for e in ledger.LedgerEntry.select().where(
        ledger.LedgerEntry.kind == "did_fee"))
    assert refs[0].startswith("did:") and refs[-1].endswith(":2026-12")
