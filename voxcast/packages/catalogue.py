"""The provider's packages: create, check, update, deactivate and delete.

Input comes raw (form fields, JSON values) in a PackageInput; check_package says what is
wrong, field by field, and nothing is saved then. A field left None is "not given": the
model's default on create, unchanged on update (a JSON PATCH)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

from peewee import IntegrityError

from models import RatePlan, database
from models.entities import BILLING_MODELS, FEATURES, PERIOD_MONTHS, Package, Subscription
from voxcast.audit import records as audit
from voxcast.tenants import features as feature_names

from .errors import PackageError, SubscriptionError

MAX_MONEY = Decimal("1e9")
MAX_COUNT = 100_000_000
ROLLOVERS = ("keep", "reset")
DOWNGRADE_POLICIES = ("refuse", "next_renewal")
MONEY_FIELDS = ("price", "setup_fee", "free_credit", "topup_amount")
# field -> (lowest, highest)
COUNT_FIELDS = {
    "channel_limit": (1, 10000), "max_users": (0, MAX_COUNT), "max_agents": (0, MAX_COUNT),
    "max_campaigns": (0, MAX_COUNT), "max_contacts": (0, MAX_COUNT),
    "disk_quota_mb": (0, MAX_COUNT), "free_minutes": (0, MAX_COUNT),
    "included_minutes": (0, MAX_COUNT), "included_messages": (0, MAX_COUNT),
    "included_pages": (0, MAX_COUNT), "included_emails": (0, MAX_COUNT),
    "grace_days": (0, 3650), "terminate_days": (0, 3650),
}


@dataclass
class PackageInput:
    """Every Package field as it came in (strings from a form, numbers from JSON); None:
    not given. `features` is a list of names or one space/comma separated string;
    `rate_plan_id` 0/None/"" means the default plan."""
    name: object = None
    description: object = None
    billing_model: object = None
    period: object = None
    price: object = None
    setup_fee: object = None
    rate_plan_id: object = None
    channel_limit: object = None
    max_users: object = None
    max_agents: object = None
    max_campaigns: object = None
    max_contacts: object = None
    disk_quota_mb: object = None
    features: object = None
    free_credit: object = None
    free_minutes: object = None
    free_rollover: object = None
    included_minutes: object = None
    included_messages: object = None
    included_pages: object = None
    included_emails: object = None
    topup_amount: object = None
    grace_days: object = None
    terminate_days: object = None
    downgrade_policy: object = None
    active: object = None

    @classmethod
    def from_dict(cls, data: dict) -> "PackageInput":
        """From a JSON object; "rate_plan" is taken for "rate_plan_id"; unknown keys are
        refused (PackageError), so a typo is not silently ignored."""
        data = dict(data or {})
        if "rate_plan" in data and "rate_plan_id" not in data:
            data["rate_plan_id"] = data.pop("rate_plan")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise PackageError({k: f"Unknown field '{k}'." for k in unknown})
        return cls(**data)


def _choice(data, name: str, allowed, refusal: str, values: dict, errors: dict) -> None:
    """Take field `name` of the input when given: one of `allowed`, else `refusal`."""
    value = getattr(data, name)
    if value is not None:
        if value not in allowed:
            errors[name] = refusal
        values[name] = value


def _money(value, field: str, errors: dict) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = "Enter an amount such as 29.00."
        return None
    if not amount.is_finite() or amount < 0 or amount >= MAX_MONEY:
        errors[field] = "Enter an amount of 0 or more."
        return None
    return amount.quantize(Decimal("0.0001"))


def _count(value, field: str, errors: dict) -> int | None:
    low, high = COUNT_FIELDS[field]
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors[field] = f"Enter a whole number from {low} to {high}."
        return None
    return number


def _flag(value) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n", ""):
        return False
    return None


def _clean(data: PackageInput, package_id: int | None, base: Package | None
           ) -> tuple[dict, dict[str, str]]:
    """The given fields as model values, and the errors; `base` supplies what is not given
    for the checks across fields (update)."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    if data.name is not None or base is None:
        name = str(data.name or "").strip()
        if not name or len(name) > 100:
            errors["name"] = "Enter the package's name (up to 100 characters)."
        elif Package.select().where(Package.name == name,
                                    Package.id != (package_id or 0)).exists():
            errors["name"] = f"A package named '{name}' already exists."
        values["name"] = name
    if data.description is not None:
        values["description"] = str(data.description)[:5000]
    _choice(data, "billing_model", BILLING_MODELS, "Choose pay as you go, subscription, usage or top-up.", values, errors)
    _choice(data, "period", PERIOD_MONTHS, "Choose monthly, quarterly or yearly.", values, errors)
    for name in MONEY_FIELDS:
        raw = getattr(data, name)
        if raw is not None:
            values[name] = _money(raw, name, errors)
    for name in COUNT_FIELDS:
        raw = getattr(data, name)
        if raw is not None:
            values[name] = _count(raw, name, errors)
    if data.rate_plan_id is not None:
        plan_id = data.rate_plan_id
        try:
            plan_id = int(plan_id) if plan_id not in ("", None) else 0
        except (TypeError, ValueError):
            plan_id = -1
        if plan_id and not RatePlan.select().where(RatePlan.id == plan_id).exists():
            errors["rate_plan_id"] = "Choose a rate plan from the list."
        values["rate_plan"] = plan_id or None
    if data.features is not None:
        names = data.features
        if isinstance(names, str):
            names = names.replace(",", " ").split()
        try:
            values["features"] = feature_names.normalise(names)
        except (feature_names.UnknownFeature, TypeError) as exc:
            errors["features"] = str(exc) if str(exc) else \
                f"Choose features from: {', '.join(FEATURES)}."
    _choice(data, "free_rollover", ROLLOVERS, "Choose keep or reset.", values, errors)
    _choice(data, "downgrade_policy", DOWNGRADE_POLICIES, "Choose refuse or next_renewal.", values, errors)
    if data.active is not None:
        flag = _flag(data.active)
        if flag is None:
            errors["active"] = "Yes or no."
        values["active"] = flag

    def final(name):  # the value the package will have
        if name in values:
            return values[name]
        if base is not None:
            return getattr(base, name)
        return Package._meta.fields[name].default

    grace, terminate = final("grace_days"), final("terminate_days")
    if isinstance(grace, int) and isinstance(terminate, int) and terminate < grace \
            and "terminate_days" not in errors:
        errors["terminate_days"] = ("Terminate no sooner than the grace days end "
                                    f"({grace} days).")
    if final("billing_model") == "topup":
        amount = final("topup_amount")
        if isinstance(amount, Decimal) and amount <= 0 and "topup_amount" not in errors:
            errors["topup_amount"] = "A top-up package credits an amount of more than 0."
    return values, errors


def check_package(data: PackageInput, package_id: int | None = None) -> dict[str, str]:
    """What is wrong with `data` for a new package (package_id None) or for package
    `package_id`, field by field; {} when it can be saved."""
    base = Package.get_or_none(Package.id == package_id) if package_id else None
    return _clean(data, package_id, base)[1]


def _detail(values: dict) -> str:
    return " ".join(f"{k}={getattr(v, 'id', v)}" for k, v in values.items())[:2000]


def create_package(data: PackageInput, actor=None, ip: str = "") -> Package:
    values, errors = _clean(data, None, None)
    if errors:
        raise PackageError(errors)
    try:
        with database.atomic():
            package = Package.create(**values)
            audit.record("package.create", tenant_id=None, user=actor, object_type="package",
                         object_id=package.id, detail=_detail(values), ip=ip)
    except IntegrityError as exc:  # a concurrent create took the name
        raise PackageError({"name": f"The package could not be saved: {exc}"}) from exc
    return package


def update_package(package: Package, data: PackageInput, actor=None, ip: str = "") -> Package:
    """Change the given fields. Tenants already on the package keep their limits and plan
    until their next change or renewal applies it again (apply_package); prices and grants
    count from the next renewal."""
    values, errors = _clean(data, package.id, package)
    if errors:
        raise PackageError(errors)
    changed = {k: v for k, v in values.items()
               if (getattr(package, "rate_plan_id") if k == "rate_plan" else getattr(package, k)) != v}
    for name, value in changed.items():
        setattr(package, name, value)
    try:
        with database.atomic():
            package.save()
            audit.record("package.update", tenant_id=None, user=actor, object_type="package",
                         object_id=package.id, detail=_detail(changed) or "no change", ip=ip)
    except IntegrityError as exc:
        raise PackageError({"name": f"The package could not be saved: {exc}"}) from exc
    return package


def subscribers(package: Package) -> int:
    """How many subscriptions use the package (now or as their pending package)."""
    return Subscription.select().where((Subscription.package == package.id)
                                       | (Subscription.pending_package == package.id)).count()


def delete_package(package: Package, actor=None, ip: str = "") -> None:
    """Delete a package no tenant subscribes to; SubscriptionError while one does (set it
    inactive instead: not sold any more, kept for its subscribers)."""
    with database.atomic():
        count = subscribers(package)
        if count:
            raise SubscriptionError(f"{count} tenant(s) subscribe to package '{package.name}'; "
                                    "deactivate it instead.")
        Package.delete().where(Package.id == package.id).execute()
        audit.record("package.delete", tenant_id=None, user=actor, object_type="package",
                     object_id=package.id, detail=f"name={package.name}", ip=ip)


def packages(active_only: bool = False):
    query = Package.select().order_by(Package.name)
    if active_only:
        query = query.where(Package.active == True)  # noqa: E712
    return query


def get_package(package_id) -> Package:
    """The package, or PackageError naming the field package_id."""
    try:
        package = Package.get_or_none(Package.id == int(package_id))
    except (TypeError, ValueError):
        package = None
    if package is None:
        raise PackageError({"package_id": f"There is no package {package_id!r}."})
    return package


def as_dict(package: Package) -> dict:
    """The package as JSON-ready values (amounts as strings), for the API and webhooks."""
    out = {"id": package.id}
    for f in dataclasses.fields(PackageInput):
        name = f.name
        value = package.rate_plan_id if name == "rate_plan_id" else getattr(package, name)
        if isinstance(value, Decimal):
            value = str(value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01"))
                        else value)
        if name == "features":
            value = value.split()
        out[name] = value
    out["created_at"] = package.created_at.isoformat(timespec="seconds") + "Z" \
        if package.created_at else None
    return out
