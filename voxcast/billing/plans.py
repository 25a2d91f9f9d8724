"""Rate plans from the database: the cached RateTable of a plan and its unit prices.

A plan's `version` is bumped in the same transaction as any change to it or its rates;
`rate_table_for_plan` reads that one integer and rebuilds the table only when it moved, so
every process (web UI, Stasis app) sees a change at its next lookup."""
from __future__ import annotations

import threading
from decimal import Decimal

from models import RatePlan, Tenant, database
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
    return _table_at(plan_id, row[0])


def _table_at(plan_id: int, version: int) -> RateTable:
    """The cached table of this plan version, built from its Rate rows on a miss."""
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


def table_of_tenant(tenant_id: int) -> RateTable | None:
    """The rate table of the tenant's plan (else the default plan's), None when no plan
    applies. Same answer as plan_of_tenant + rate_table_for_plan in one small query while the
    plan is unchanged: the dialer asks for every batch of calls it claims."""
    plan, tenant = RatePlan._meta.table_name, Tenant._meta.table_name
    p = database.param
    row = database.execute_sql(
        f'SELECT p."id", p."version" FROM "{plan}" p JOIN "{tenant}" t '
        f'ON t."rate_plan_id" = p."id" WHERE t."id" = {p}', (tenant_id,)).fetchone()
    if row is None:
        row = database.execute_sql(
            f'SELECT "id", "version" FROM "{plan}" WHERE "is_default" = {p} '
            f'ORDER BY "id" LIMIT 1', (True,)).fetchone()
        if row is None:
            return None
    return _table_at(row[0], row[1])


def rate_for_call(tenant_id: int, number: str) -> Rate | None:
    """The rate of an outbound call to `number` for this tenant; None: not allowed (no rate)."""
    table = table_of_tenant(tenant_id)
    return None if table is None else table.lookup(number)


def unit_price(tenant_id: int, kind: str) -> Decimal:
    """The tenant plan's price of one SMS ("sms"), fax page ("fax") or e-mail ("email"), or
    the inbound per-minute rate ("inbound")."""
    plan = plan_of_tenant(tenant_id)
    if plan is None:
        return Decimal("0")
    column = {"sms": "sms_price", "fax": "fax_page_price", "email": "email_price",
              "inbound": "inbound_per_minute"}[kind]
    return Decimal(str(getattr(plan, column)))


# -- administration ------------------------------------------------------------------------
# Every change bumps the plan's version and writes its audit row in the same transaction.

import re  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from decimal import InvalidOperation  # noqa: E402

from peewee import IntegrityError, fn  # noqa: E402

from voxcast.audit import records as audit  # noqa: E402
from voxcast.errors import ServiceError

PREFIX_RE = re.compile(r"^\d{1,15}$")
MAX_PRICE = Decimal("100000")
UNIT_FIELDS = ("sms_price", "fax_page_price", "email_price", "inbound_per_minute",
               "did_monthly_fee")


class PlanError(ServiceError, ValueError):
    """Input that cannot be applied; `errors` maps a field ("" for the form) to a message."""
    code, status = "validation", 422

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


def price(value, field: str, errors: dict, places: int = 6) -> Decimal:
    """A price >= 0 with at most `places` decimals; records an error and returns 0 if not."""
    text = str(value if value is not None else "").strip() or "0"
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors[field] = f"'{text}' is not an amount (use digits and a dot, e.g. 0.015)."
        return Decimal("0")
    if not amount.is_finite() or amount < 0 or amount >= MAX_PRICE:
        errors[field] = "Enter an amount of 0 or more."
    elif amount.as_tuple().exponent < -places:
        errors[field] = f"At most {places} decimal places."
    return amount if field not in errors else Decimal("0")


def seconds(value, field: str, errors: dict) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = "Enter whole seconds, e.g. 60."
        return 0
    if not 1 <= number <= 3600:
        errors[field] = "Between 1 and 3600 seconds."
    return number


def normalize_prefix(value) -> str:
    return re.sub(r"[\s\-]", "", str(value or "")).lstrip("+")


@dataclass
class PlanInput:
    name: str
    description: str = ""
    sms_price: object = "0"
    fax_page_price: object = "0"
    email_price: object = "0"
    inbound_per_minute: object = "0"
    did_monthly_fee: object = "0"
    is_default: bool = False


def _check_plan(data: PlanInput, plan_id: int | None) -> dict:
    errors: dict[str, str] = {}
    values = {"name": (data.name or "").strip(), "description": (data.description or "").strip()}
    if not values["name"] or len(values["name"]) > 100:
        errors["name"] = "Enter a name (up to 100 characters)."
    elif RatePlan.select().where(RatePlan.name == values["name"],
                                 RatePlan.id != (plan_id or 0)).exists():
        errors["name"] = f"A rate plan named '{values['name']}' already exists."
    if len(values["description"]) > 255:
        errors["description"] = "Up to 255 characters."
    for name in UNIT_FIELDS:
        values[name] = price(getattr(data, name), name, errors,
                             places=4 if name == "did_monthly_fee" else 6)
    if errors:
        raise PlanError(errors)
    return values


def _make_default(plan_id: int) -> None:
    RatePlan.update(is_default=False).where(RatePlan.id != plan_id).execute()
    RatePlan.update(is_default=True).where(RatePlan.id == plan_id).execute()


def create_plan(data: PlanInput, actor=None, ip: str = "") -> RatePlan:
    values = _check_plan(data, None)
    with database.atomic():
        plan = RatePlan.create(**values)
        if data.is_default:
            _make_default(plan.id)
        audit.record("rateplan.create", tenant_id=None, user=actor, object_type="rateplan",
                     object_id=plan.id, detail=_describe(values), ip=ip)
    return plan


def update_plan(plan: RatePlan, data: PlanInput, actor=None, ip: str = "") -> None:
    values = _check_plan(data, plan.id)
    with database.atomic():
        RatePlan.update(**values).where(RatePlan.id == plan.id).execute()
        if data.is_default:
            _make_default(plan.id)
        bump_version(plan.id)
        audit.record("rateplan.update", tenant_id=None, user=actor, object_type="rateplan",
                     object_id=plan.id, detail=_describe(values), ip=ip)


def _describe(values: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items() if k != "description")


def delete_plan(plan: RatePlan, actor=None, ip: str = "") -> None:
    if plan.is_default:
        raise PlanError("The default plan cannot be deleted; make another plan the default "
                        "first.")
    users = Tenant.select().where(Tenant.rate_plan == plan.id).count()
    if users:
        raise PlanError(f"{users} tenant(s) use the plan '{plan.name}'; assign them another "
                        "plan first.")
    with database.atomic():
        rates = RateRow.delete().where(RateRow.plan == plan.id).execute()
        plan.delete_instance()
        audit.record("rateplan.delete", tenant_id=None, user=actor, object_type="rateplan",
                     object_id=plan.id, detail=f"name={plan.name} rates={rates}", ip=ip)
    _cache.pop(plan.id, None)


@dataclass
class RateInput:
    prefix: str
    description: str = ""
    per_minute: object = "0"
    connection_fee: object = "0"
    initial_s: object = 60
    increment_s: object = 60


def check_rate(data: RateInput) -> tuple[dict, dict]:
    """(values, errors) of one rate; values are ready for a Rate row."""
    errors: dict[str, str] = {}
    prefix = normalize_prefix(data.prefix)
    if not PREFIX_RE.match(prefix):
        errors["prefix"] = "The prefix is 1-15 digits (country code first, e.g. 4477)."
    description = (data.description or "").strip()
    if len(description) > 255:
        errors["description"] = "Up to 255 characters."
    values = {"prefix": prefix, "description": description,
              "per_minute": price(data.per_minute, "per_minute", errors),
              "connection_fee": price(data.connection_fee, "connection_fee", errors),
              "initial_s": seconds(data.initial_s, "initial_s", errors),
              "increment_s": seconds(data.increment_s, "increment_s", errors)}
    return values, errors


def save_rate(plan: RatePlan, data: RateInput, rate: RateRow | None = None, actor=None,
              ip: str = "") -> RateRow:
    """Add a rate to the plan, or change `rate` (of this plan)."""
    values, errors = check_rate(data)
    if not errors:
        clash = RateRow.select().where(RateRow.plan == plan.id,
                                       RateRow.prefix == values["prefix"],
                                       RateRow.id != (rate.id if rate else 0))
        if clash.exists():
            errors["prefix"] = f"The plan already has a rate for {values['prefix']}."
    if errors:
        raise PlanError(errors)
    try:
        with database.atomic():
            if rate is None:
                rate = RateRow.create(plan=plan.id, **values)
                action = "rate.create"
            else:
                RateRow.update(**values).where(RateRow.id == rate.id).execute()
                action = "rate.update"
            bump_version(plan.id)
            audit.record(action, tenant_id=None, user=actor, object_type="rate",
                         object_id=rate.id, detail=f"plan={plan.name} {_describe(values)}",
                         ip=ip)
    except IntegrityError:
        raise PlanError({"prefix": f"The plan already has a rate for {values['prefix']}."}) \
            from None
    return RateRow.get_by_id(rate.id)


def delete_rate(rate: RateRow, actor=None, ip: str = "") -> None:
    with database.atomic():
        rate.delete_instance()
        bump_version(rate.plan_id)
        audit.record("rate.delete", tenant_id=None, user=actor, object_type="rate",
                     object_id=rate.id, detail=f"plan={rate.plan_id} prefix={rate.prefix}",
                     ip=ip)


def rate_counts() -> dict[int, int]:
    return dict(RateRow.select(RateRow.plan, fn.COUNT(RateRow.id))
                .group_by(RateRow.plan).tuples())
