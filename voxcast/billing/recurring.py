"""Recurring charges: each DID a tenant holds costs its plan's monthly DID fee, once per
calendar month (UTC). Idempotent through the ledger's message reference "did:<id>:<YYYY-MM>",
so running it every hour (the Stasis app does) or again after a crash charges nothing twice."""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from models import Did
from models.entities import utcnow

from . import ledger, plans

log = logging.getLogger("voxcast.billing.recurring")


def charge_did_fees(now: dt.datetime | None = None) -> int:
    """Charge this month's fee of every assigned DID not yet charged; how many were charged."""
    month = (now or utcnow()).strftime("%Y-%m")
    charged = 0
    fees: dict[int, Decimal] = {}
    for did in Did.select().where(Did.tenant.is_null(False)):
        if did.tenant_id not in fees:
            plan = plans.plan_of_tenant(did.tenant_id)
            fees[did.tenant_id] = Decimal(plan.did_monthly_fee or 0) if plan else Decimal(0)
        fee = fees[did.tenant_id]
        if fee <= 0:
            continue
        ref = f"did:{did.id}:{month}"
        before = ledger.LedgerEntry.select().where(ledger.LedgerEntry.message_ref == ref).exists()
        if before:
            continue
        ledger.charge(did.tenant_id, fee, "did_fee", message_ref=ref,
                      reference=f"DID {did.number}, {month}")
        charged += 1
    if charged:
        log.info("charged %d DID monthly fee(s) for %s", charged, month)
    return charged
