"""Subscriptions: a tenant on a package, from provisioning to termination.

- subscribe / provision start the first period [now, now + period) and record the set-up fee
  and the first period's price in the ledger (amount 0: the billing front end collects them).
- renew pays the next period [period_end, period_end + period): its price row (0, or charged
  from the balance), the package's free credit / free minutes by its keep-or-reset rule, a
  usage package's included minutes / messages / pages / e-mails (always reset), a pending
  downgrade applied when the tenant now fits it, and an unpaid suspension lifted. A renewal
  is idempotent per period: the ledger row "subscription" of message_ref
  "sub:<id>:<period start ISO>" exists once, and a second renewal at the same `now` as the
  one that paid the current period changes nothing.
- sweep suspends (reason "unpaid") what is past its period end plus the grace days and
  terminates (deletes, with all data) what is suspended for non-payment past the end plus the
  termination days. A provider's suspension (reason "provider") is only lifted by unsuspend.
- change_package applies an upgrade at once; a package whose limits are below what the
  tenant uses is refused (DowngradeRefused) or, when the package says so, waits for the next
  renewal (pending_package). Nothing of the tenant's data is touched by any change.

Every change writes its audit row (tenant log) and, where money or credit moves, the ledger,
and emits its webhook event (subscription.renewed, subscription.package_changed; tenant.* are
the tenants service's, tenant.created from provision unless that service emitted it) in the
same transaction. Times are naive UTC like the rest of the models."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from models import Campaign, Tenant, database
from models.entities import (CreditBucket, IdempotencyKey, LedgerEntry, Package,
                             Subscription, User, WebhookDelivery, utcnow)
from voxcast import mailer
from voxcast.audit import records as audit
from voxcast.billing import ledger
from voxcast.campaigns import lifecycle
from voxcast.tenants import quotas
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import NewAdmin, TenantProfile
from voxcast.webhooks import events

from .catalogue import get_package
from .errors import DowngradeRefused, NoSubscription, PackageError, SubscriptionError
from .periods import add_period, running_period

log = logging.getLogger("voxcast.packages")

SUSPEND_REASONS = ("provider", "unpaid")
CHANGE_WHEN = (None, "now", "next_renewal")
NOTIFY = ("credentials", "activation", "none")
IDEMPOTENCY_DAYS = 7
# Tenant fields a package sets (apply_package), and the limits a downgrade is checked on:
# package field -> quota kind (voxcast.tenants.quotas)
LIMITS = {"max_users": "users", "max_agents": "agents", "max_campaigns": "campaigns",
          "max_contacts": "contacts", "disk_quota_mb": "disk_mb"}
LIMIT_NOUNS = {"max_users": "users", "max_agents": "agents", "max_campaigns": "campaigns",
               "max_contacts": "contacts", "disk_quota_mb": "MB of storage"}
INCLUDED_UNITS = {"included_messages": "sms", "included_pages": "fax",
                  "included_emails": "email"}


@dataclass
class Provisioned:
    tenant: Tenant
    user: User
    subscription: Subscription
    activation_link: str | None  # notify="activation": the link e-mailed
    mail_error: str = ""  # the login e-mail could not be sent: why (the tenant exists)


@dataclass
class ChangeResult:
    subscription: Subscription
    applied: bool  # False: stored as pending_package, applied at the next renewal
    effective_at: dt.datetime


@dataclass
class SweepResult:
    suspended: list[int] = dataclasses.field(default_factory=list)
    terminated: list[int] = dataclasses.field(default_factory=list)
    keys_purged: int = 0
    failed: dict[int, str] = dataclasses.field(default_factory=dict)  # tenant id -> why


# -- reading ------------------------------------------------------------------------------

def current(tenant) -> Subscription | None:
    """The tenant's subscription (one per tenant), or None."""
    return Subscription.get_or_none(Subscription.tenant == getattr(tenant, "id", tenant))


def running(sub: Subscription, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The paid period that contains `now`: the stored one, or the one before it when the
    subscription was renewed ahead of time (usage "this period" is the running one's)."""
    return running_period(sub.period_start, sub.period_end, sub.package.period,
                          now or utcnow(), day=anchor_day(sub), first=sub.created_at)


def _require(tenant) -> Subscription:
    sub = current(tenant)
    if sub is None:
        raise NoSubscription()
    return sub


def _locked(sub_id: int) -> Subscription:
    """The subscription re-read under a row lock (PostgreSQL FOR UPDATE; SQLite's write
    transaction already serialises), so two renewals cannot both pass the replay check."""
    query = Subscription.select().where(Subscription.id == sub_id)
    if getattr(database.obj, "for_update", False):
        query = query.for_update()
    sub = query.first()
    if sub is None:
        raise NoSubscription()
    return sub


def period_ref(sub: Subscription, start: dt.datetime) -> str:
    """The ledger message_ref and bucket source of one period of a subscription."""
    return f"sub:{sub.id}:{start.isoformat(timespec='seconds')}"


def anchor_day(sub: Subscription) -> int:
    """The day of the month its periods begin on (its first period's)."""
    return sub.created_at.day if sub.created_at else sub.period_start.day


def _sellable(package_id, *, for_subscription: bool = True) -> Package:
    package = get_package(package_id)
    if for_subscription and package.billing_model == "topup":
        raise PackageError({"package_id": f"'{package.name}' is a top-up package; it credits "
                                          "the balance and cannot be subscribed to."})
    if not package.active:
        raise PackageError({"package_id": f"The package '{package.name}' is not sold any more."})
    return package


# -- applying a package -------------------------------------------------------------------

def apply_package(tenant: Tenant, package: Package) -> None:
    """The package's rate plan, channel limit, quotas and features onto the tenant's row
    (nothing else of the tenant changes; its data is untouched)."""
    values = {"rate_plan": package.rate_plan_id, "channel_limit": package.channel_limit,
              "max_users": package.max_users, "max_agents": package.max_agents,
              "max_campaigns": package.max_campaigns, "max_contacts": package.max_contacts,
              "disk_quota_mb": package.disk_quota_mb, "features": package.features}
    Tenant.update(**values).where(Tenant.id == tenant.id).execute()
    for name, value in values.items():
        setattr(tenant, "rate_plan_id" if name == "rate_plan" else name, value)
    tenant.rate_plan = package.rate_plan_id


def over_limits(tenant: Tenant, package: Package, sounds_dir: Path | None = None
                ) -> dict[str, str]:
    """The package's limits the tenant uses more of now: {package field: why}, e.g.
    {"max_users": "Package Basic allows 5 users; the tenant has 7."}. The channel limit
    is never a reason (it only lowers what may run at once)."""
    over = {}
    for field, kind in LIMITS.items():
        allowed = int(getattr(package, field))
        used = quotas.used(tenant, kind, sounds_dir)
        if used > allowed:
            used_txt = f"{used:.1f}" if kind == "disk_mb" else f"{int(used)}"
            over[field] = (f"Package {package.name} allows {allowed} {LIMIT_NOUNS[field]}; "
                           f"the tenant has {used_txt}.")
    return over


def is_downgrade(old: Package, new: Package) -> bool:
    """Whether any limit or the channel count of `new` is below `old`'s, or a feature of
    `old` is missing from `new` (pure; for messages and the audit)."""
    lower = any(int(getattr(new, f)) < int(getattr(old, f)) for f in (*LIMITS, "channel_limit"))
    return lower or bool(set(old.features.split()) - set(new.features.split()))


# -- grants of a period -------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    """One bucket a period grants: kind money (amount) | minutes (seconds) | sms | fax |
    email (units); `included` grants are always reset at the next renewal."""
    kind: str
    amount: Decimal = Decimal("0")
    seconds: int = 0
    units: int = 0
    included: bool = False


def period_grants(package: Package) -> list[Grant]:
    """What one period of the package grants (pure): free credit and free minutes for the
    subscription and usage models, and the usage model's included minutes and units."""
    grants: list[Grant] = []
    if package.billing_model not in ("subscription", "usage"):
        return grants
    if Decimal(package.free_credit or 0) > 0:
        grants.append(Grant("money", amount=ledger.money(package.free_credit)))
    if int(package.free_minutes or 0) > 0:
        grants.append(Grant("minutes", seconds=int(package.free_minutes) * 60))
    if package.billing_model == "usage":
        if int(package.included_minutes or 0) > 0:
            grants.append(Grant("minutes", seconds=int(package.included_minutes) * 60,
                                included=True))
        for field, kind in INCLUDED_UNITS.items():
            if int(getattr(package, field) or 0) > 0:
                grants.append(Grant(kind, units=int(getattr(package, field)), included=True))
    return grants


def grant_expiry(grant: Grant, rollover: str, period_end: dt.datetime) -> dt.datetime | None:
    """When a grant of a period ending at `period_end` expires (pure): included units and
    "reset" grants at the period's end; "keep" grants never (they add up)."""
    if grant.included or rollover != "keep":
        return period_end
    return None


def expiry_on_renewal(rollover: str, included: bool, renewed_from: dt.datetime,
                      now: dt.datetime) -> dt.datetime | None:
    """When an earlier period's grant expires once the next period is paid (pure): "keep"
    grants stay (None: unchanged); included and "reset" grants end with their own period
    (`renewed_from`, the new period's start), or now when that is already past."""
    if rollover == "keep" and not included:
        return None
    return max(renewed_from, now)


def _grant_period(tenant: Tenant, sub: Subscription, package: Package, start: dt.datetime,
                  end: dt.datetime, now: dt.datetime, actor=None) -> list[CreditBucket]:
    """The buckets of the period [start, end); a period already granted grants nothing."""
    source = period_ref(sub, start)
    made = []
    for grant in period_grants(package):
        src = source + (":included" if grant.included else "")
        if CreditBucket.select().where(CreditBucket.tenant == tenant.id,
                                       CreditBucket.source == src,
                                       CreditBucket.kind == grant.kind).exists():
            continue
        expires = grant_expiry(grant, package.free_rollover, end)
        if expires is not None and expires <= now:
            continue  # a period already over grants nothing usable
        label = f"{package.name} {start:%Y-%m-%d}..{end:%Y-%m-%d}"
        if grant.kind == "money":
            made.append(ledger.grant_free(tenant.id, amount=grant.amount, expires_at=expires,
                                          reference=f"Free credit, {label}", source=src,
                                          entered_by=actor, now=now))
        elif grant.kind == "minutes":
            what = "Included minutes" if grant.included else "Free minutes"
            made.append(ledger.grant_free(tenant.id, seconds=grant.seconds, expires_at=expires,
                                          reference=f"{what}, {label}", source=src,
                                          entered_by=actor, now=now))
        else:
            made.append(ledger.grant_units(tenant.id, grant.kind, grant.units,
                                           expires_at=expires, source=src, entered_by=actor,
                                           reference=f"{grant.units} {grant.kind} included, "
                                                     f"{label}", now=now))
    return made


def _expire_earlier_grants(tenant: Tenant, sub: Subscription, package: Package,
                           renewed_from: dt.datetime, now: dt.datetime) -> int:
    """Apply the rollover rule to the grants of this subscription's earlier periods."""
    prefix = f"sub:{sub.id}:"
    changed = 0
    for bucket in (CreditBucket.select()
                   .where(CreditBucket.tenant == tenant.id,
                          CreditBucket.source.startswith(prefix),
                          (CreditBucket.expires_at.is_null())
                          | (CreditBucket.expires_at > now))):
        if bucket.source.startswith(period_ref(sub, renewed_from)):
            continue  # the new period's own (a replayed grant)
        until = expiry_on_renewal(package.free_rollover, bucket.source.endswith(":included"),
                                  renewed_from, now)
        if until is not None and (bucket.expires_at is None or bucket.expires_at > until):
            CreditBucket.update(expires_at=until).where(CreditBucket.id == bucket.id).execute()
            changed += 1
    return changed


def _sub_data(sub: Subscription, package: Package | None = None) -> dict:
    package = package or sub.package
    return {"subscription_id": sub.id, "package_id": package.id, "package": package.name,
            "status": sub.status, "external_id": sub.external_id,
            "period_start": sub.period_start.isoformat(timespec="seconds") + "Z",
            "period_end": sub.period_end.isoformat(timespec="seconds") + "Z",
            "pending_package_id": sub.pending_package_id}


def as_dict(sub: Subscription | None) -> dict | None:
    """The subscription as JSON-ready values (the API's "subscription")."""
    if sub is None:
        return None
    package = Package.get_by_id(sub.package_id)
    return {"id": sub.id, "tenant_id": sub.tenant_id, "package_id": package.id,
            "package": package.name, "billing_model": package.billing_model,
            "period": package.period, "status": sub.status,
            "period_start": sub.period_start.isoformat(timespec="seconds") + "Z",
            "period_end": sub.period_end.isoformat(timespec="seconds") + "Z",
            "pending_package_id": sub.pending_package_id,
            "suspended_at": (sub.suspended_at.isoformat(timespec="seconds") + "Z"
                             if sub.suspended_at else None),
            "suspended_reason": sub.suspended_reason or None,
            "external_id": sub.external_id,
            "created_at": sub.created_at.isoformat(timespec="seconds") + "Z"}


def _money_text(value) -> str:
    return f"{Decimal(value or 0):.2f}"


# -- subscribing --------------------------------------------------------------------------

def subscribe(tenant: Tenant, package_id, *, external_id: str = "", now=None, actor=None,
              ip: str = "") -> Subscription:
    """Put an existing tenant (without a subscription) on a package: its plan, limits and
    features applied, the first period started, its grants made, the set-up fee and the
    first period's price recorded (amount 0: the front end invoices them)."""
    now = now or utcnow()
    package = _sellable(package_id)
    external_id = (external_id or "").strip()[:255]
    with database.atomic():
        ledger._lock_tenant(tenant.id)  # one subscribe per tenant at a time
        if current(tenant) is not None:
            raise SubscriptionError(f"Tenant {tenant.name} already has a subscription; "
                                    "change its package instead.")
        if external_id and Subscription.select().where(
                Subscription.external_id == external_id).exists():
            raise SubscriptionError(f"Another tenant's subscription has the external id "
                                    f"'{external_id}'.")
        apply_package(tenant, package)
        end = add_period(now, package.period)
        sub = Subscription.create(tenant=tenant.id, package=package.id, status="active",
                                  period_start=now, period_end=end, external_id=external_id,
                                  created_at=now)
        if Decimal(package.setup_fee or 0) > 0:
            ledger.post_fee(tenant.id, "setup_fee", message_ref=f"sub:{sub.id}:setup",
                            reference=f"Set-up fee {_money_text(package.setup_fee)} of "
                                      f"{package.name}, invoiced by the front end",
                            entered_by=actor, created_at=now)
        ledger.post_fee(tenant.id, "subscription", message_ref=period_ref(sub, now),
                        reference=f"First period {now:%Y-%m-%d}..{end:%Y-%m-%d} of "
                                  f"{package.name}, {_money_text(package.price)} invoiced by "
                                  f"the front end", entered_by=actor, created_at=now)
        _grant_period(tenant, sub, package, now, end, now, actor)
        audit.record("subscription.create", tenant_id=tenant.id, user=actor,
                     object_type="subscription", object_id=sub.id,
                     detail=f"package={package.name} model={package.billing_model} "
                            f"period={now:%Y-%m-%d}..{end:%Y-%m-%d} "
                            f"external_id={external_id or '-'}", ip=ip)
    return sub


def send_welcome(tenant: Tenant, user: User, token: str | None, password: str, notify: str,
                 settings: mailer.MailSettings, base_url: str) -> tuple[str | None, str]:
    """E-mail the login as webui/admin.py does: notify "credentials" the password,
    "activation" the link for `token`, "none" nothing; (activation link, error text: "" when
    sent). A failure is logged and written to the tenant log, never raised."""
    base = mailer.tenant_base_url(settings, tenant.slug, base_url)
    link = f"{base}/activate/{token}" if token else None
    if notify == "none":
        return link, ""
    if token:
        subject, body = mailer.activation_message(tenant.name, user.username, link,
                                                  tenant_service.ACTIVATION_HOURS)
    else:
        subject, body = mailer.credentials_message(tenant.name, user.username, password,
                                                   f"{base}/login")
    try:
        mailer.send(settings, user.email, subject, body)
    except mailer.MailError as exc:
        log.error("welcome mail for tenant %s failed: %s", tenant.slug, exc)
        audit.record("tenant.welcome_mail_failed", tenant_id=tenant.id, object_type="user",
                     object_id=user.id, detail=str(exc))
        return link, str(exc)
    return link, ""


_welcome = send_welcome  # the name webui/api/tenants.py first used


def _complete_created_event(tenant_id: int, extra: dict) -> bool:
    """The tenants service emits tenant.created itself, before the subscription exists: its
    outbox rows (written by this transaction, not sent yet) get the subscription's external
    id and package. False when there were none (then provision emits it: never twice)."""
    rows = list(WebhookDelivery.select().where(WebhookDelivery.tenant == tenant_id,
                                               WebhookDelivery.event == "tenant.created"))
    for row in rows:
        if row.attempts or row.state != "pending":
            continue
        body = json.loads(row.payload)
        body["data"] = {**body.get("data", {}), **extra}
        WebhookDelivery.update(payload=json.dumps(body, separators=(",", ":"), sort_keys=True,
                                                  default=str)).where(
            WebhookDelivery.id == row.id).execute()
    return bool(rows)


def provision(package_id, profile: TenantProfile, admin: NewAdmin, *, languages,
              external_id: str = "", mail_settings: mailer.MailSettings | None = None,
              base_url: str = "", now=None, actor=None, ip: str = "") -> Provisioned:
    """A new tenant on a package, as a billing front end orders it: the tenant and its
    admin (tenants.services.create_tenant, with the package's plan and channels), the
    subscription (subscribe), the event tenant.created, all in one transaction; then the
    login e-mailed: admin.notify "credentials" mails the password, "activation" a link to
    choose one, "none" nothing (a password is made up when none is given). A failed e-mail
    leaves the tenant (Provisioned.mail_error says why)."""
    if admin.notify not in NOTIFY:
        raise tenant_service.TenantError({"notify": "Choose credentials, activation or none."})
    package = _sellable(package_id)
    notify = admin.notify
    password = admin.password or ""
    if notify == "none" and not password:
        password = secrets.token_urlsafe(18)
    admin = dataclasses.replace(admin, password=password,
                                notify="activation" if notify == "activation" else "credentials")
    profile = dataclasses.replace(profile, rate_plan_id=package.rate_plan_id,
                                  channel_limit=package.channel_limit)
    with database.atomic():
        created = tenant_service.create_tenant(profile, admin, 0, languages=languages,
                                               actor=actor, ip=ip)
        sub = subscribe(created.tenant, package.id, external_id=external_id, now=now,
                        actor=actor, ip=ip)
        extra = {"external_id": sub.external_id, "package_id": package.id,
                 "package": package.name, "subscription_id": sub.id}
        if not _complete_created_event(created.tenant.id, extra):
            events.emit("tenant.created", created.tenant.id, {
                "tenant_id": created.tenant.id, "name": created.tenant.name,
                "slug": created.tenant.slug, "status": created.tenant.status,
                "email": created.tenant.email, **extra})
    tenant = Tenant.get_by_id(created.tenant.id)
    link, error = send_welcome(tenant, created.admin, created.activation_token, password, notify,
                           mail_settings or mailer.MailSettings.from_env(), base_url)
    return Provisioned(tenant, created.admin, sub, link if created.activation_token else None,
                       error)


# -- renewal ------------------------------------------------------------------------------

def _replayed(sub: Subscription, now: dt.datetime) -> bool:
    """Whether a renewal at `now` already paid the current period (same `now` again)."""
    if sub.created_at and sub.period_start == sub.created_at:
        return False  # the first period: paid by the subscription, not a renewal
    row = LedgerEntry.get_or_none(LedgerEntry.tenant == sub.tenant_id,
                                  LedgerEntry.kind == "subscription",
                                  LedgerEntry.message_ref == period_ref(sub, sub.period_start))
    return row is not None and row.created_at is not None and row.created_at >= now


def _locked_live(tenant: Tenant, sub: Subscription) -> Subscription:
    """In a transaction: the tenant's row locked (the ledger's order), then the subscription
    read again under its lock; a terminated one can no longer change."""
    ledger._lock_tenant(tenant.id)
    sub = _locked(sub.id)
    if sub.status == "terminated":
        raise SubscriptionError("The subscription was terminated.")
    return sub


def renew(tenant: Tenant, *, reference: str = "", charge_balance: bool = False, now=None,
          actor=None, ip: str = "") -> Subscription:
    """Pay the next period (see the module's text). `reference` is the front end's (an
    invoice); `charge_balance` charges the price from the prepaid balance instead
    (InsufficientCredit when it does not cover it; nothing changes then)."""
    now = now or utcnow()
    sub = _require(tenant)
    with database.atomic():
        sub = _locked_live(tenant, sub)
        if _replayed(sub, now):
            return sub
        package = Package.get_by_id(sub.package_id)
        changed_from = None
        if sub.pending_package_id:
            pending = Package.get_by_id(sub.pending_package_id)
            over = over_limits(tenant, pending)
            if over:
                audit.record("subscription.pending_kept", tenant_id=tenant.id, user=actor,
                             object_type="subscription", object_id=sub.id,
                             detail=f"package {pending.name} not applied at renewal, still "
                                    f"{package.name}: " + "; ".join(over.values()), ip=ip)
            else:
                changed_from, package = package, pending
                sub.package, sub.pending_package = pending.id, None
                apply_package(tenant, pending)
        start = sub.period_end
        end = add_period(start, package.period, anchor_day(sub))
        ref = period_ref(sub, start)
        price = ledger.money(package.price or 0)
        paid_how = (f"{_money_text(price)} charged from the balance" if charge_balance
                    else f"{_money_text(price)} paid via front end"
                    + (f": {reference}" if reference else ""))
        ledger.post_fee(tenant.id, "subscription", price if charge_balance else 0,
                        message_ref=ref, from_balance=charge_balance, entered_by=actor,
                        created_at=now,
                        reference=f"Renewal {start:%Y-%m-%d}..{end:%Y-%m-%d} of "
                                  f"{package.name}, {paid_how}")
        _expire_earlier_grants(tenant, sub, package, start, now)
        _grant_period(tenant, sub, package, start, end, now, actor)
        sub.period_start, sub.period_end = start, end
        unsuspend_tenant = sub.status == "suspended" and sub.suspended_reason == "unpaid"
        if unsuspend_tenant:
            sub.status, sub.suspended_at, sub.suspended_reason = "active", None, ""
        sub.save()
        if unsuspend_tenant:
            tenant_service.enable(tenant, actor=actor, ip=ip)
            resume_after_suspension(tenant)
        audit.record("subscription.renew", tenant_id=tenant.id, user=actor,
                     object_type="subscription", object_id=sub.id,
                     detail=f"package={package.name} period={start:%Y-%m-%d}..{end:%Y-%m-%d} "
                            f"{paid_how}" + (" unsuspended" if unsuspend_tenant else ""), ip=ip)
        events.emit("subscription.renewed", tenant.id,
                    {**_sub_data(sub, package), "reference": reference,
                     "price": _money_text(price), "charged_balance": bool(charge_balance),
                     "unsuspended": unsuspend_tenant})
        if changed_from is not None:
            _record_change(tenant, sub, changed_from, package, True, start, actor, ip)
    return sub


# -- suspension and termination -----------------------------------------------------------

def suspend(tenant: Tenant, *, reason: str = "provider", actor=None, ip: str = "",
            now=None) -> int:
    """Suspend (tenants.services.suspend: logins refused, sessions ended, campaigns paused)
    and mark the subscription suspended for `reason`: "provider" (lifted only by unsuspend)
    or "unpaid" (lifted by a renewal too). A provider's suspension is never weakened to
    "unpaid". Works for a tenant without a subscription. How many campaigns were paused."""
    if reason not in SUSPEND_REASONS:
        raise SubscriptionError(f"Unknown suspension reason {reason!r}: provider or unpaid.")
    now = now or utcnow()
    with database.atomic():
        sub = current(tenant)
        if sub is not None:
            sub = _locked(sub.id)
            if sub.status == "suspended" and sub.suspended_reason == "provider":
                reason = "provider"
            Subscription.update(status="suspended", suspended_reason=reason,
                                suspended_at=sub.suspended_at or now).where(
                Subscription.id == sub.id).execute()
        paused = tenant_service.suspend(tenant, actor=actor, ip=ip)
        audit.record("subscription.suspend", tenant_id=tenant.id, user=actor,
                     object_type="subscription", object_id=sub.id if sub else "",
                     detail=f"reason={reason} campaigns paused: {paused}", ip=ip)
    return paused


def resume_after_suspension(tenant: Tenant) -> int:
    """The campaigns the suspension paused (cause tenant_suspended, not a user's pause) run
    again: an unsuspended service is restored as it was. How many."""
    resumed = 0
    for campaign in list(lifecycle.paused_for("tenant_suspended")
                         .where(Campaign.tenant == tenant.id)):
        resumed += lifecycle.resume_paused(campaign.id, "tenant_suspended")
    return resumed


def unsuspend(tenant: Tenant, *, actor=None, ip: str = "") -> int:
    """Active again (tenants.services.enable), whatever the reason, and the campaigns the
    suspension paused running again (a campaign paused by a user stays paused). How many
    campaigns resumed."""
    with database.atomic():
        sub = current(tenant)
        if sub is not None:
            Subscription.update(status="active", suspended_reason="", suspended_at=None).where(
                Subscription.id == sub.id).execute()
        tenant_service.enable(tenant, actor=actor, ip=ip)
        resumed = resume_after_suspension(tenant)
        audit.record("subscription.unsuspend", tenant_id=tenant.id, user=actor,
                     object_type="subscription", object_id=sub.id if sub else "",
                     detail=f"campaigns resumed: {resumed}", ip=ip)
    return resumed


def terminate(tenant: Tenant, sounds_dir: Path, *, actor=None, ip: str = "") -> None:
    """Delete the tenant with all its data (tenants.services.force_delete: extensions and
    DIDs back to the pool). The caller re-syncs PJSIP (numbers.pool.sync_pjsip)."""
    tenant = Tenant.get_by_id(tenant.id)
    tenant_service.force_delete(tenant, tenant.name, sounds_dir, actor=actor, ip=ip)


def sweep(now=None, *, sounds_dir: Path) -> SweepResult:
    """Hourly (the Stasis app) or from cron (`voxcast subscriptions sweep`): suspend what is
    unpaid past its grace days, terminate what is suspended for non-payment past its
    termination days (counted from the period's end), purge idempotency keys older than
    IDEMPOTENCY_DAYS. Pay-as-you-go subscriptions have no expiry and are left alone. One
    tenant's failure is logged and does not stop the others."""
    now = now or utcnow()
    result = SweepResult()
    rows = list(Subscription.select(Subscription, Package).join(
        Package, on=(Subscription.package == Package.id))
        .where(Package.billing_model != "payg", Subscription.status != "terminated",
               Subscription.period_end < now))
    for sub in rows:
        package = sub.package
        tenant = Tenant.get_or_none(Tenant.id == sub.tenant_id)
        if tenant is None:
            continue
        try:
            if (sub.status == "suspended" and sub.suspended_reason == "unpaid"
                    and sub.period_end + dt.timedelta(days=package.terminate_days) < now):
                terminate(tenant, sounds_dir)
                result.terminated.append(tenant.id)
            elif (sub.status == "active"
                  and sub.period_end + dt.timedelta(days=package.grace_days) < now):
                suspend(tenant, reason="unpaid", now=now)
                result.suspended.append(tenant.id)
        except Exception as exc:  # noqa: BLE001  the next tenant still gets its turn
            log.exception("subscription sweep failed for tenant %s", tenant.id)
            result.failed[tenant.id] = f"{type(exc).__name__}: {exc}"
    cutoff = now - dt.timedelta(days=IDEMPOTENCY_DAYS)
    result.keys_purged = IdempotencyKey.delete().where(IdempotencyKey.created_at < cutoff).execute()
    return result


# -- package changes and top-ups ----------------------------------------------------------

def _record_change(tenant, sub, old: Package, new: Package, applied: bool, effective_at,
                   actor, ip) -> None:
    state = "applied" if applied else f"pending until {effective_at:%Y-%m-%d}"
    ledger.post_fee(tenant.id, "subscription", 0, entered_by=actor,
                    reference=f"Package {old.name} -> {new.name} ({state})")
    audit.record("subscription.package", tenant_id=tenant.id, user=actor,
                 object_type="subscription", object_id=sub.id,
                 detail=f"{old.name} -> {new.name} {state}", ip=ip)
    events.emit("subscription.package_changed", tenant.id,
                {**_sub_data(sub, new if applied else old), "from_package_id": old.id,
                 "to_package_id": new.id, "applied": applied,
                 "effective_at": effective_at.isoformat(timespec="seconds") + "Z"})


def decide_change(over: bool, when: str | None, policy: str) -> str:
    """How a package change goes (pure): "refuse", "next_renewal" or "now". Below the
    tenant's usage (`over`): refused when the package's policy is "refuse" or the caller
    asks for "now", else deferred; otherwise at once unless "next_renewal" is asked for."""
    if over:
        return "refuse" if when == "now" or policy != "next_renewal" else "next_renewal"
    return "next_renewal" if when == "next_renewal" else "now"


def change_package(tenant: Tenant, package_id, *, when: str | None = None, actor=None,
                   ip: str = "", now=None) -> ChangeResult:
    """Move the tenant to another package; all its data stays. A package whose limits are
    below what the tenant uses: DowngradeRefused (with each limit and its usage) when the
    package's downgrade_policy is "refuse" or `when` is "now"; else it waits for the next
    renewal (pending_package). Otherwise the change applies at once, or at the next renewal
    with when="next_renewal". Asking for the current package cancels a pending change."""
    if when not in CHANGE_WHEN:
        raise PackageError({"when": "Choose now or next_renewal."})
    now = now or utcnow()
    new = _sellable(package_id)
    sub = _require(tenant)
    with database.atomic():
        sub = _locked_live(tenant, sub)
        old = Package.get_by_id(sub.package_id)
        if new.id == old.id:
            if sub.pending_package_id:
                sub.pending_package = None
                sub.save()
                audit.record("subscription.package", tenant_id=tenant.id, user=actor,
                             object_type="subscription", object_id=sub.id,
                             detail=f"pending change cancelled, stays {old.name}", ip=ip)
            apply_package(tenant, old)
            return ChangeResult(sub, True, now)
        over = over_limits(tenant, new)
        decision = decide_change(bool(over), when, new.downgrade_policy)
        if decision == "refuse":
            raise DowngradeRefused(new.name, over)
        if decision == "next_renewal":
            sub.pending_package = new.id
            sub.save()
            _record_change(tenant, sub, old, new, False, sub.period_end, actor, ip)
            return ChangeResult(sub, False, sub.period_end)
        sub.package, sub.pending_package = new.id, None
        sub.save()
        apply_package(tenant, new)
        _record_change(tenant, sub, old, new, True, now, actor, ip)
    return ChangeResult(sub, True, now)


def topup(tenant: Tenant, package_id, *, reference: str = "", actor=None, ip: str = "",
          once: str | None = None):
    """Buy a top-up package: its topup_amount credited to the balance (ledger kind
    "topup"; the ledger emits payment.received). The ledger entry. `once` names the
    purchase (ledger.credit): bought under that name before, the first entry is returned
    and nothing is credited or logged again."""
    package = _sellable(package_id, for_subscription=False)
    if package.billing_model != "topup":
        raise PackageError({"package_id": f"'{package.name}' is not a top-up package."})
    text = f"Top-up {package.name}" + (f": {reference}" if reference else "")
    with database.atomic():
        if once and (earlier := ledger.credited(tenant.id, "topup", once)) is not None:
            return earlier
        entry = ledger.credit(tenant.id, package.topup_amount, "topup", reference=text,
                              entered_by=actor, once=once)
        audit.record("subscription.topup", tenant_id=tenant.id, user=actor,
                     object_type="package", object_id=package.id,
                     detail=f"{text} amount={_money_text(package.topup_amount)}", ip=ip)
    return entry
