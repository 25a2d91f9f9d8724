"""The provider's client (tenant) management: create, edit, suspend/enable, force delete,
feature permissions, quotas, timeslots, the tenant's users and activation links.

Flask-free, for the admin UI now and the JSON API / billing module later. Every change is
one transaction together with its audit row; bad input raises TenantError with one message
per field and changes nothing."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import available_timezones

import phonenumbers
from peewee import IntegrityError
from voxcast.accounts.passwords import hash_password

from models import Campaign, RatePlan, Tenant, Timeslot, User, database
from models.entities import utcnow
from voxcast.audio import library
from voxcast.audit import records as audit
from voxcast.accounts import email_address
from voxcast.agents import sessions as agent_sessions
from voxcast.tenants import features
from voxcast.numbers import pool as pool_service
from voxcast.tenants import timeslots
from voxcast.billing import ledger
from voxcast.campaigns import lifecycle
from voxcast.errors import ServiceError
from voxcast.webhooks import events
from voxcast.webhooks.payloads import tenant_data

ACTIVATION_HOURS = 72
# Update fields that void an outstanding activation/reset link.
LINK_VOID = {"activation_token": None, "activation_expires_at": None}
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{3,150}$")
RESERVED_SLUGS = {"www", "admin", "api", "mail", "smtp", "static", "assets", "sip", "ari"}
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
MIN_PASSWORD = 8
MASTER_SLUG = "master"
QUOTA_FIELDS = ("max_users", "max_agents", "max_campaigns", "max_contacts", "channel_limit",
                "disk_quota_mb", "sms_per_second", "email_per_hour")


class TenantError(ServiceError):
    """Input that cannot be applied: `errors` maps a field name ("" for the whole form) to
    a message fit to show next to it."""
    code, status = "validation", 422

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


class ActivationError(ServiceError):
    code, status = "invalid-link", 400


@dataclass
class TenantProfile:
    """What the provider edits about a client (also the company part of a new tenant)."""
    name: str
    slug: str
    company_size: str = ""
    country: str = "US"
    email: str = ""
    timezone: str = "UTC"
    language: str = "en"
    rate_plan_id: int | None = None
    channel_limit: int = 10
    allowed_caller_ids: str = ""  # E.164 numbers, one per line (or comma separated)
    # Destinations its phones may not call (digit prefixes); None: left as it is (the API).
    blocked_prefixes: str | None = None


@dataclass
class NewAdmin:
    username: str
    password: str
    first_name: str
    email: str
    notify: str = "credentials"  # credentials | activation


@dataclass
class Created:
    tenant: Tenant
    admin: User
    activation_token: str | None  # the raw token for the e-mailed link, when chosen


# -- validation ---------------------------------------------------------------------------

def _valid_timezones() -> set[str]:
    return available_timezones() | {"UTC"}


def _check_profile(p: TenantProfile, languages, tenant_id: int | None) -> dict[str, str]:
    errors = {}
    p.name, p.slug = (p.name or "").strip(), (p.slug or "").strip().lower()
    p.country = (p.country or "").strip().upper()
    p.email = (p.email or "").strip()
    if not p.name or len(p.name) > 100:
        errors["name"] = "Enter the company name (up to 100 characters)."
    elif Tenant.select().where(Tenant.name == p.name, Tenant.id != (tenant_id or 0)).exists():
        errors["name"] = f"A tenant named '{p.name}' already exists."
    if not SLUG_RE.match(p.slug):
        errors["slug"] = ("Use 1-32 lowercase letters, digits or dashes "
                          "(not at the start or end).")
    elif p.slug in RESERVED_SLUGS:
        errors["slug"] = f"'{p.slug}' is reserved; choose another sub-domain."
    elif Tenant.select().where(Tenant.slug == p.slug, Tenant.id != (tenant_id or 0)).exists():
        errors["slug"] = f"The sub-domain '{p.slug}' is already taken."
    if p.company_size and p.company_size not in COMPANY_SIZES:
        errors["company_size"] = "Choose a company size from the list."
    if p.country not in phonenumbers.SUPPORTED_REGIONS:
        errors["country"] = "Choose a country (two-letter ISO code)."
    if p.email:
        try:
            p.email = email_address.normalize(p.email)
        except email_address.InvalidEmail:
            errors["email"] = "Enter a valid e-mail address."
    if p.timezone not in _valid_timezones():
        errors["timezone"] = f"Unknown time zone '{p.timezone}'."
    if p.language not in languages:
        errors["language"] = "Choose a language from the list."
    if p.rate_plan_id and not RatePlan.select().where(RatePlan.id == p.rate_plan_id).exists():
        errors["rate_plan"] = "Choose a rate plan from the list."
    if not isinstance(p.channel_limit, int) or not 1 <= p.channel_limit <= 10000:
        errors["channel_limit"] = "Between 1 and 10000 channels."
    try:
        p.allowed_caller_ids = "\n".join(parse_caller_ids(p.allowed_caller_ids))
    except ValueError as exc:
        errors["allowed_caller_ids"] = str(exc)
    if p.blocked_prefixes is not None:
        from voxcast.phones.routing import check_prefixes
        try:
            p.blocked_prefixes = check_prefixes(p.blocked_prefixes)
        except ValueError as exc:
            errors["blocked_prefixes"] = (f"'{exc}' is not a prefix: use digits only "
                                          "(e.g. 1900 44 00).")
    return errors


def parse_caller_ids(text: str | None) -> list[str]:
    """The provider's list of extra caller IDs for a tenant: E.164 numbers, one per line or
    comma separated, each checked with phonenumbers; at most 100."""
    numbers = []
    for item in re.split(r"[\n,;]+", text or ""):
        item = re.sub(r"[\s().-]", "", item)  # "+49 (30) 999-1" is written as people do
        if not item:
            continue
        try:
            parsed = phonenumbers.parse(item if item.startswith("+") else f"+{item}")
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is None or not phonenumbers.is_possible_number(parsed):
            raise ValueError(f"'{item[:30]}' is not a phone number in international form "
                             "(+country code and number).")
        number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if number not in numbers:
            numbers.append(number)
    if len(numbers) > 100:
        raise ValueError("At most 100 caller IDs.")
    return numbers


def _check_admin(a: NewAdmin) -> dict[str, str]:
    errors = {}
    a.username, a.email = (a.username or "").strip(), (a.email or "").strip()
    if not USERNAME_RE.match(a.username):
        errors["admin_username"] = "3-150 letters, digits or . _ @ + -"
    elif User.select().where(User.username == a.username).exists():
        errors["admin_username"] = f"The username '{a.username}' is already taken."
    if a.notify not in ("credentials", "activation"):
        errors["notify"] = "Choose how the admin gets access."
    if a.notify == "credentials" and len(a.password or "") < MIN_PASSWORD:
        errors["admin_password"] = f"At least {MIN_PASSWORD} characters."
    try:
        a.email = email_address.normalize(a.email)
    except email_address.InvalidEmail:
        errors["admin_email"] = "Enter a valid e-mail address: the login is sent there."
    if len(a.first_name or "") > 100:
        errors["admin_first_name"] = "Up to 100 characters."
    return errors


def parse_balance(value) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0").strip())
    except InvalidOperation:
        raise TenantError({"balance": "Enter an amount such as 25.00."}) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        raise TenantError({"balance": "Enter an amount of 0 or more."})
    return amount.quantize(Decimal("0.0001"))


# -- tenants ------------------------------------------------------------------------------

def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_tenant(profile: TenantProfile, admin: NewAdmin, balance, *, languages,
                  actor=None, ip: str = "") -> Created:
    """Tenant + its admin account (role "tenant") + audit row, in one transaction.

    With notify="activation" the admin is created inactive with an activation token valid
    for ACTIVATION_HOURS; the raw token is returned for the link and only its hash stored."""
    errors = _check_profile(profile, languages, None) | _check_admin(admin)
    try:
        amount = parse_balance(balance)
    except TenantError as exc:
        errors |= exc.errors
        amount = Decimal("0")
    if errors:
        raise TenantError(errors)
    token = secrets.token_urlsafe(32) if admin.notify == "activation" else None
    password = admin.password if token is None else secrets.token_urlsafe(24)
    try:
        with database.atomic():
            tenant = Tenant.create(
                name=profile.name, slug=profile.slug, company_size=profile.company_size,
                country=profile.country, email=profile.email or admin.email,
                timezone=profile.timezone, language=profile.language,
                rate_plan=profile.rate_plan_id or None, channel_limit=profile.channel_limit,
                allowed_caller_ids=profile.allowed_caller_ids,
                blocked_prefixes=profile.blocked_prefixes or "")
            if amount > 0:  # through the ledger, so the balance equals its sum from the start
                tenant.balance = ledger.credit(tenant.id, amount, "opening", "Opening balance",
                                               entered_by=actor).balance_after
            user = User.create(
                tenant=tenant, username=admin.username, role="tenant",
                password_hash=hash_password(password),
                first_name=(admin.first_name or "").strip(), email=admin.email,
                active=token is None, pending_activation=token is not None,
                activation_token=_hash_token(token) if token else None,
                activation_expires_at=(utcnow() + dt.timedelta(hours=ACTIVATION_HOURS)
                                       if token else None))
            audit.record("tenant.create", tenant_id=tenant.id, user=actor,
                         object_type="tenant", object_id=tenant.id,
                         detail=f"name={tenant.name} slug={tenant.slug} admin={user.username} "
                                f"plan={profile.rate_plan_id or '-'} "
                                f"channels={tenant.channel_limit} balance={amount} "
                                f"notify={admin.notify}", ip=ip)
            events.emit("tenant.created", tenant.id,
                        tenant_data(tenant, admin_username=user.username))
    except IntegrityError as exc:  # a concurrent create took the name, slug or username
        raise TenantError(f"The tenant could not be created: {exc}") from exc
    return Created(tenant, user, token)


def update_tenant(tenant: Tenant, profile: TenantProfile, *, languages, actor=None,
                  ip: str = "") -> None:
    errors = _check_profile(profile, languages, tenant.id)
    if tenant.slug == MASTER_SLUG and profile.slug != MASTER_SLUG:
        errors["slug"] = "The master tenant keeps its sub-domain 'master'."
    if errors:
        raise TenantError(errors)
    changed = []
    for name in ("name", "slug", "company_size", "country", "email", "timezone", "language",
                 "channel_limit", "allowed_caller_ids", "blocked_prefixes"):
        if getattr(profile, name) is None:  # not given: unchanged
            continue
        if getattr(tenant, name) != getattr(profile, name):
            changed.append(f"{name}={getattr(profile, name)}")
            setattr(tenant, name, getattr(profile, name))
    if (tenant.rate_plan_id or None) != (profile.rate_plan_id or None):
        changed.append(f"rate_plan={profile.rate_plan_id or '-'}")
        tenant.rate_plan = profile.rate_plan_id or None
    with database.atomic():
        tenant.save()
        audit.record("tenant.update", tenant_id=tenant.id, user=actor, object_type="tenant",
                     object_id=tenant.id, detail=" ".join(changed) or "no change", ip=ip)
        if changed:
            events.emit("tenant.updated", tenant.id,
                        tenant_data(tenant, changed=[c.split("=")[0] for c in changed]))


def suspend(tenant: Tenant, *, actor=None, ip: str = "") -> int:
    """Suspend: logins refused, open sessions (agent sessions too) ended, running campaigns paused with the
    reason "Account suspended". Returns how many campaigns were paused."""
    with database.atomic():
        Tenant.update(status="suspended").where(Tenant.id == tenant.id).execute()
        paused = lifecycle.pause_tenant(tenant.id, lifecycle.Cause("tenant_suspended"))
        User.update(session_version=User.session_version + 1).where(
            User.tenant == tenant.id).execute()
        agent_sessions.end_for_tenant(tenant.id, "tenant_suspended")
        audit.record("tenant.suspend", tenant_id=tenant.id, user=actor, object_type="tenant",
                     object_id=tenant.id, detail=f"campaigns paused: {paused}", ip=ip)
        tenant.status = "suspended"
        events.emit("tenant.suspended", tenant.id,
                    tenant_data(tenant, campaigns_paused=paused))
    return paused


def enable(tenant: Tenant, *, actor=None, ip: str = "") -> None:
    """Active again; campaigns stay paused for the tenant to resume."""
    with database.atomic():
        was = Tenant.select(Tenant.status).where(Tenant.id == tenant.id).scalar()
        Tenant.update(status="active").where(Tenant.id == tenant.id).execute()
        audit.record("tenant.enable", tenant_id=tenant.id, user=actor, object_type="tenant",
                     object_id=tenant.id, ip=ip)
        tenant.status = "active"
        if was == "suspended":
            events.emit("tenant.unsuspended", tenant.id, tenant_data(tenant))


def force_delete(tenant: Tenant, confirmation: str, sounds_dir: Path, *, actor=None,
                 ip: str = "") -> None:
    """Delete the tenant and all its data (database cascade), return its extensions and
    DIDs to the pool, reset (fresh SIP secrets, no greeting: nothing passes to the next
    holder), and remove its campaigns' sound files. The admin must type the name. The caller
    re-syncs PJSIP (pool_service.sync_pjsip) so the old secrets stop working."""
    if tenant.slug == MASTER_SLUG:
        raise TenantError("The master tenant cannot be deleted.")
    if (confirmation or "").strip() != tenant.name:
        raise TenantError({"confirm": f"Type the tenant's name '{tenant.name}' to confirm."})
    campaign_ids = [c.id for c in Campaign.select(Campaign.id).where(Campaign.tenant == tenant)]
    prompt_files = library.tenant_files(tenant.id, sounds_dir)
    with database.atomic():
        # before the cascade: the tenant's own endpoints go with it, the provider's get it
        events.emit("tenant.terminated", tenant.id, tenant_data(tenant, status="terminated"),
                    provider_only=True)
        exts, dids = pool_service.release_all(tenant.id)
        Tenant.delete().where(Tenant.id == tenant.id).execute()
        audit.record("tenant.delete", tenant_id=None, user=actor, object_type="tenant",
                     object_id=tenant.id,
                     detail=f"name={tenant.name} slug={tenant.slug} extensions returned={exts} "
                            f"DIDs returned={dids} campaigns={len(campaign_ids)}", ip=ip)
    for cid in campaign_ids:
        (sounds_dir / f"campaign-{cid}.wav").unlink(missing_ok=True)
    for path in prompt_files:  # its audio library
        path.unlink(missing_ok=True)


def set_features(tenant: Tenant, names, *, actor=None, ip: str = "") -> None:
    try:
        value = features.normalise(names)
    except features.UnknownFeature as exc:
        raise TenantError(str(exc)) from exc
    with database.atomic():
        Tenant.update(features=value).where(Tenant.id == tenant.id).execute()
        audit.record("tenant.features", tenant_id=tenant.id, user=actor, object_type="tenant",
                     object_id=tenant.id, detail=value or "(none)", ip=ip)
        tenant.features = value
        events.emit("tenant.updated", tenant.id, tenant_data(tenant, changed=["features"]))


def set_quotas(tenant: Tenant, values: dict[str, int], *, actor=None, ip: str = "") -> None:
    errors = {}
    for name in QUOTA_FIELDS:
        value = values.get(name)
        if not isinstance(value, int) or value < 0 or value > 100_000_000:
            errors[name] = "Enter a whole number of 0 or more."
    if isinstance(values.get("channel_limit"), int) and values["channel_limit"] < 1:
        errors["channel_limit"] = "At least 1 channel."
    if errors:
        raise TenantError(errors)
    with database.atomic():
        Tenant.update(**{n: values[n] for n in QUOTA_FIELDS}).where(
            Tenant.id == tenant.id).execute()
        audit.record("tenant.quotas", tenant_id=tenant.id, user=actor, object_type="tenant",
                     object_id=tenant.id,
                     detail=" ".join(f"{n}={values[n]}" for n in QUOTA_FIELDS), ip=ip)
        for n in QUOTA_FIELDS:
            setattr(tenant, n, values[n])
        events.emit("tenant.updated", tenant.id, tenant_data(tenant, changed=["quotas"]))


# -- timeslots ----------------------------------------------------------------------------

def add_timeslot(tenant: Tenant, name: str, weekdays: str, start: str, end: str, *,
                 actor=None, ip: str = "") -> Timeslot:
    try:
        days, start, end = timeslots.validate(weekdays, start, end)
    except timeslots.TimeslotError as exc:
        raise TenantError(str(exc)) from exc
    with database.atomic():
        slot = Timeslot.create(tenant=tenant, name=(name or "").strip()[:100], weekdays=days,
                               start_time=start, end_time=end)
        audit.record("timeslot.create", tenant_id=tenant.id, user=actor, object_type="timeslot",
                     object_id=slot.id, detail=f"{slot.name} {days} {start}-{end}", ip=ip)
    return slot


def delete_timeslot(tenant: Tenant, slot_id: int, *, actor=None, ip: str = "") -> None:
    slot = Timeslot.get_or_none(Timeslot.id == slot_id, Timeslot.tenant == tenant.id)
    if slot is None:
        raise TenantError("That timeslot does not exist.")
    with database.atomic():
        slot.delete_instance()
        audit.record("timeslot.delete", tenant_id=tenant.id, user=actor, object_type="timeslot",
                     object_id=slot_id, detail=f"{slot.name} {slot.weekdays} "
                                               f"{slot.start_time}-{slot.end_time}", ip=ip)


# -- the tenant's users -------------------------------------------------------------------

def tenant_users(tenant: Tenant, role: str | None = None):
    query = User.select().where(User.tenant == tenant.id)
    if role == "agent":
        query = query.where(User.role == "agent")
    elif role == "users":
        query = query.where(User.role != "agent")
    return query.order_by(User.username)


def tenant_user(tenant: Tenant, user_id: int) -> User:
    user = User.get_or_none(User.id == user_id, User.tenant == tenant.id)
    if user is None:
        raise TenantError("That user does not belong to this tenant.")
    return user


def set_user_active(user: User, active: bool, *, actor=None, ip: str = "") -> None:
    """Enable or disable. Disabling ends the user's sessions and voids any outstanding
    activation/reset link, and the account counts as disabled, not as awaiting activation,
    so no link can enable it again; enabling is the administrator's decision."""
    with database.atomic():
        fields = {"active": active, "pending_activation": False}
        if not active:
            fields.update(session_version=User.session_version + 1, **LINK_VOID)
        User.update(**fields).where(User.id == user.id).execute()
        audit.record("user.enable" if active else "user.disable", tenant_id=user.tenant_id,
                     user=actor, object_type="user", object_id=user.id,
                     detail=user.username, ip=ip)
    user.active, user.pending_activation = active, False


def set_password(user: User, password: str, *, actor=None, ip: str = "") -> None:
    """Set a new password (by the provider's admin); open sessions of the user end and an
    outstanding activation/reset link stops working."""
    if len(password or "") < MIN_PASSWORD:
        raise TenantError({"password": f"At least {MIN_PASSWORD} characters."})
    with database.atomic():
        User.update(password_hash=hash_password(password),
                    session_version=User.session_version + 1,
                    failed_logins=0, locked_until=None, **LINK_VOID
                    ).where(User.id == user.id).execute()
        audit.record("user.password_reset", tenant_id=user.tenant_id, user=actor,
                     object_type="user", object_id=user.id, detail=user.username, ip=ip)


def issue_link(user: User, *, actor=None, ip: str = "") -> str:
    """A new activation / password link for the user (any older one stops working);
    returns the raw token for the e-mail. Not for a disabled account: enable it first."""
    user = User.get_by_id(user.id)
    if not user.active and not user.pending_activation:
        raise TenantError(f"{user.username} is disabled; enable the account first.")
    token = secrets.token_urlsafe(32)
    with database.atomic():
        User.update(activation_token=_hash_token(token),
                    activation_expires_at=utcnow() + dt.timedelta(hours=ACTIVATION_HOURS)
                    ).where(User.id == user.id).execute()
        audit.record("user.link_sent", tenant_id=user.tenant_id, user=actor,
                     object_type="user", object_id=user.id, detail=user.username, ip=ip)
    return token


def user_for_token(token: str) -> User:
    """The user a link belongs to; ActivationError when unknown, used, voided (the account
    was disabled or its password changed since) or expired."""
    user = User.get_or_none(User.activation_token == _hash_token(token or ""))
    if user is None or not token or not (user.active or user.pending_activation):
        raise ActivationError("This link is not valid or has been used already.")
    if user.activation_expires_at is None or user.activation_expires_at < utcnow():
        raise ActivationError("This link has expired. Ask your provider for a new one.")
    return user


def activate(token: str, password: str, *, ip: str = "") -> User:
    """Choose the password through a link, once: the token is cleared and the sessions end.
    Only an account awaiting activation becomes active; an enabled one just gets the new
    password, and a disabled one is refused (user_for_token), so a link cannot undo an
    administrator's decision."""
    user = user_for_token(token)
    if len(password or "") < MIN_PASSWORD:
        raise TenantError({"password": f"At least {MIN_PASSWORD} characters."})
    with database.atomic():
        # Conditional on the state the link was checked against: a disable, password change
        # or use of the link in between (another request) makes this update nothing.
        updated = (User.update(password_hash=hash_password(password),
                               active=True, pending_activation=False,
                               failed_logins=0, locked_until=None,
                               session_version=User.session_version + 1, **LINK_VOID)
                   .where(User.id == user.id, User.activation_token == user.activation_token,
                          User.session_version == user.session_version,
                          User.active == user.active,
                          User.pending_activation == user.pending_activation)
                   .execute())
        if not updated:
            raise ActivationError("This link is not valid or has been used already.")
        audit.record("user.activate", tenant_id=user.tenant_id, user=user, object_type="user",
                     object_id=user.id, detail=user.username, ip=ip)
    return User.get_by_id(user.id)
