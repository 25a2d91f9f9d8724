"""Rate plans from the database: the cached RateTable of a plan and its unit prices.

A plan's `version` is bumped in the same transaction as any change to it or its rates;
`rate_table_for_plan` reads that one integer and rebuilds the table only when it moved, so
every process (web UI, Stasis app) sees a change at its next lookup."""
from __future__ import annotations

import threading
from decimal import Decimal

from models import RatePlan, Tenant
from models.entities import Rate as RateRow
from voxcast.billing.rating import Rate, RateTable

_cache: dict[int, tuple[int, RateTable]] = {}
_lock = threading.Lock()


def to_rate(row: RateRow) -> Rate:
    return Rate(row.prefix, Decimal(row.per_minute), Decimal(row.connection_fee),
                row.initial_s, row.increment_s, row.description)


def bump_version(plan_id: int) -> None:
    """Mark the plan changed; call inside the transaction that changes it."""
    RatePlan.update(version=RatePlan.version + 1).where(RatePlan.id == plan_id).execute()


def rate_table_for_plan(plan_id: int) -> RateTable:
    """The plan's rates as a RateTable, rebuilt only when the plan's version changed.
    An unknown plan gives an empty table (nothing is rated)."""
    row = RatePlan.select(RatePlan.version).where(RatePlan.id == plan_id).tuples().first()
    if row is None:
        _cache.pop(plan_id, None)
        return RateTable()
    version = row[0]
    cached = _cache.get(plan_id)
    if cached and cached[0] == version:
        return cached[1]
    with _lock:
        cached = _cache.get(plan_id)
        if cached and cached[0] == version:
            return cached[1]
        query = (RateRow.select(RateRow.prefix, RateRow.per_minute, RateRow.connection_fee,
                                RateRow.initial_s, RateRow.increment_s, RateRow.description)
                 .where(RateRow.plan == plan_id).tuples())
        table = RateTable(Rate(p, Decimal(str(pm)), Decimal(str(cf)), i, inc, d)
                          for p, pm, cf, i, inc, d in query)
        _cache[plan_id] = (version, table)
        return table


def plan_of_tenant(tenant_id: int) -> RatePlan | None:
    """The tenant's plan, else the default plan."""
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is not None and tenant.rate_plan_id:
        plan = RatePlan.get_or_none(RatePlan.id == tenant.rate_plan_id)
        if plan is not None:
            return plan
    return RatePlan.select().where(RatePlan.is_default == True).first()  # noqa: E712


def rate_for_call(tenant_id: int, number: str) -> Rate | None:
    """The rate of an outbound call to `number` for this tenant; None: not allowed (no rate)."""
    plan = plan_of_tenant(tenant_id)
    return None if plan is None else rate_table_for_plan(plan.id).lookup(number)


def unit_price(tenant_id: int, kind: str) -> Decimal:
    """The tenant plan's price of one SMS ("sms"), fax page ("fax") or e-mail ("email"), or
    the inbound per-minute rate ("inbound")."""
    plan = plan_of_tenant(tenant_id)
    if plan is None:
        return Decimal("0")
    column = {"sms": "sms_price", "fax": "fax_page_price", "email": "email_price",
              "inbound": "inbound_per_minute"}[kind]
    return Decimal(str(getattr(plan, column)))
