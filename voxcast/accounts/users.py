"""A tenant's people: create, edit, disable and delete accounts, and each user's own profile
and password. Flask-free so the web UI and the JSON API share the same rules.

Every function validates everything first and then writes the change and its audit row in
one transaction: bad input raises UserError and nothing is saved."""
from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from voxcast.accounts.passwords import hash_password, verify as verify_password

from models import Did, Extension, Tenant, User, database
from voxcast.audit import records as audit
from voxcast.accounts import email_address
from voxcast.accounts import login_sessions
from voxcast.agents import sessions as agent_sessions
from voxcast.i18n import N_
from voxcast.errors import ServiceError

try:  # the provider's quota rules, when present; otherwise the Tenant.max_* columns directly
    from voxcast.tenants import quotas
except ImportError:  # pragma: no cover - depends on the tree
    quotas = None

# Roles a tenant may give; the "tenant" role itself is created by the provider.
MANAGED_ROLES = ("user", "supervisor", "agent")
LANGUAGES = ("en", "de")
THEMES = ("light", "dark")
MIN_PASSWORD = 8

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$")
PIN_RE = re.compile(r"^[0-9]{4,8}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{3,30}$")


class UserError(ServiceError, ValueError):
    """Input that cannot be saved; `field` names the form field it belongs to, if any."""
    code, status = "validation", 422

    def __init__(self, message: str, field: str = "", **params):
        super().__init__(message % params if params else message)
        self.field = field
        self.template = message
        self.params = params


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def quota_kind(role: str) -> str:
    """Agents count against max_agents, every other account against max_users."""
    return "agents" if role == "agent" else "users"


def _check_quota(tenant: Tenant, role: str) -> None:
    """Raise UserError when one more account of `role` would exceed the tenant's quota."""
    kind = quota_kind(role)
    if quotas is not None and hasattr(quotas, "check"):
        try:
            quotas.check(tenant, kind)
        except getattr(quotas, "QuotaExceeded", ()) as exc:
            raise UserError(str(exc), "role") from None
        return
    agents = User.select().where((User.tenant == tenant.id) & (User.role == "agent"))
    if kind == "agents":
        used, limit = agents.count(), tenant.max_agents
    else:
        used = User.select().where((User.tenant == tenant.id) & (User.role != "agent")).count()
        limit = tenant.max_users
    if used >= limit:
        message = (N_("Your plan allows %(limit)d agents and all are in use; delete one or ask "
                      "your provider for more.") if kind == "agents" else
                   N_("Your plan allows %(limit)d users and all are in use; delete one or ask "
                      "your provider for more."))
        raise UserError(message, "role", limit=limit)


def _clean_profile(fields: dict) -> dict:
    """Validate the personal fields shared by the user form and My Account."""
    out = {}
    for name in ("first_name", "last_name"):
        value = (fields.get(name) or "").strip()
        if len(value) > 100:
            raise UserError(N_("At most 100 characters."), name)
        out[name] = value
    email = (fields.get("email") or "").strip()
    if email:
        try:
            email = email_address.normalize(email)
        except email_address.InvalidEmail:
            raise UserError(N_("Not a valid e-mail address."), "email") from None
    out["email"] = email
    phone = (fields.get("phone") or "").strip()
    if phone and not PHONE_RE.match(phone):
        raise UserError(N_("Digits, spaces and + - ( ) only."), "phone")
    out["phone"] = phone
    tz = (fields.get("timezone") or "").strip()
    if tz and tz not in timezones():
        raise UserError(N_("Choose a time zone from the list."), "timezone")
    out["timezone"] = tz
    lang = (fields.get("language") or "").strip()
    if lang and lang not in LANGUAGES:
        raise UserError(N_("Choose a language from the list."), "language")
    out["language"] = lang
    return out


def _check_password(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise UserError(N_("At least %(min)d characters."), field, min=MIN_PASSWORD)
    if len(password) > 500:
        raise UserError(N_("At most 500 characters."), field)


def _check_pin(pin: str) -> None:
    if not PIN_RE.match(pin or ""):
        raise UserError(N_("4 to 8 digits."), "pin")


def _void_link(user: User) -> None:
    """An activation/reset link is for the account as it was when sent: disabling it or
    changing its password makes the link useless (voxcast.tenants.services.activate)."""
    user.activation_token = None
    user.activation_expires_at = None


def log_out_everywhere(user: User, *, ip: str = "") -> None:
    """End every session of the user, this one included (the session_version bump), e.g.
    after using a shared computer or losing a phone."""
    with database.atomic():
        User.update(session_version=User.session_version + 1).where(
            User.id == user.id).execute()
        ended = login_sessions.end_all(user.id)
        audit.record("account.logout_all", tenant_id=user.tenant_id, user=user,
                     object_type="user", object_id=user.id,
                     detail=f"{user.username}: {ended} session(s)", ip=ip)


def _check_manageable(user: User, actor) -> None:
    if user.role not in MANAGED_ROLES:
        raise UserError(N_("Tenant administrator accounts are managed by your provider."))
    if user.id == getattr(actor, "id", None):
        raise UserError(N_("You cannot change your own account here; use My Account."))


def create_user(tenant: Tenant, *, username: str, role: str, password: str, pin: str,
                actor=None, ip: str = "", **profile) -> User:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise UserError(N_("3 to 64 letters, digits, dots, dashes, @ or underscores."), "username")
    if role not in MANAGED_ROLES:
        raise UserError(N_("Choose user, supervisor or agent."), "role")
    _check_password(password)
    _check_pin(pin)
    clean = _clean_profile(profile)
    with database.atomic():
        if User.select().where(User.username == username).exists():
            raise UserError(N_("This username is taken."), "username")
        _check_quota(tenant, role)
        user = User.create(tenant=tenant, username=username, role=role,
                           password_hash=hash_password(password),
                           pin=hash_password(pin), **clean)
        audit.record("user.create", tenant_id=tenant.id, user=actor, object_type="user",
                     object_id=user.id, detail=f"{username} ({role})", ip=ip)
    return user


def update_user(user: User, *, role: str, password: str = "", pin: str = "", actor=None,
                ip: str = "", **profile) -> User:
    """Blank password or PIN keeps the current one."""
    _check_manageable(user, actor)
    if role not in MANAGED_ROLES:
        raise UserError(N_("Choose user, supervisor or agent."), "role")
    if password:
        _check_password(password)
    if pin:
        _check_pin(pin)
    clean = _clean_profile(profile)
    with database.atomic():
        changed = [k for k, v in clean.items() if getattr(user, k) != v]
        if role != user.role:
            if quota_kind(role) != quota_kind(user.role):
                _check_quota(user.tenant, role)
            changed.append(f"role {user.role}->{role}")
            if user.role == "agent":  # no longer takes calls
                agent_sessions.end_for_user(user.id, "role_changed")
            user.role = role
        for key, value in clean.items():
            setattr(user, key, value)
        if password:
            user.password_hash = hash_password(password)
            user.session_version += 1  # a reset password ends the user's open sessions
            _void_link(user)  # and an outstanding reset link
            changed.append("password")
        if pin:
            user.pin = hash_password(pin)
            changed.append("pin")
        user.save()
        summary = ", ".join(changed) or "no change"
        audit.record("user.update", tenant_id=user.tenant_id, user=actor, object_type="user",
                     object_id=user.id, detail=f"{user.username}: {summary}", ip=ip)
    return user


def set_active(user: User, active: bool, *, actor=None, ip: str = "") -> User:
    _check_manageable(user, actor)
    with database.atomic():
        user.active, user.pending_activation = active, False  # disabled, not awaiting a link
        if not active:
            user.session_version += 1
            _void_link(user)
            agent_sessions.end_for_user(user.id, "user_disabled")
        user.save(only=[User.active, User.pending_activation, User.session_version,
                        User.activation_token, User.activation_expires_at])
        audit.record("user.enable" if active else "user.disable", tenant_id=user.tenant_id,
                     user=actor, object_type="user", object_id=user.id, detail=user.username,
                     ip=ip)
    return user


def delete_user(user: User, *, actor=None, ip: str = "") -> None:
    """Its extensions and DIDs go back to the tenant (unassigned), its campaigns stay."""
    _check_manageable(user, actor)
    with database.atomic():
        Extension.update(user=None).where(Extension.user == user.id).execute()
        Did.update(user=None).where(Did.user == user.id).execute()
        # a DID that sent calls to the user outside opening hours plays its closed greeting
        Did.update(closed_route="greeting", closed_target=None).where(
            Did.closed_route == "user", Did.closed_target == user.id).execute()
        audit.record("user.delete", tenant_id=user.tenant_id, user=actor, object_type="user",
                     object_id=user.id, detail=f"{user.username} ({user.role})", ip=ip)
        user.delete_instance()


# -- the user's own account --------------------------------------------------------------

def change_password(user: User, current: str, new: str, confirm: str, *, ip: str = "") -> User:
    """Bumps session_version, so every other session of this user ends."""
    if not verify_password(user.password_hash, current or ""):
        raise UserError(N_("The current password is not correct."), "current_password")
    _check_password(new, "new_password")
    if new != confirm:
        raise UserError(N_("The two new passwords differ."), "confirm_password")
    if new == current:
        raise UserError(N_("The new password must differ from the current one."), "new_password")
    with database.atomic():
        user.password_hash = hash_password(new)
        user.session_version += 1
        _void_link(user)
        user.save(only=[User.password_hash, User.session_version, User.activation_token,
                        User.activation_expires_at])
        audit.record("account.password", tenant_id=user.tenant_id, user=user,
                     object_type="user", object_id=user.id, detail=user.username, ip=ip)
    return user


def update_profile(user: User, *, theme: str = "light", ip: str = "", **profile) -> User:
    if theme not in THEMES:
        raise UserError(N_("Choose light or dark."), "theme")
    clean = _clean_profile(profile)
    clean["theme"] = theme
    with database.atomic():
        changed = [k for k, v in clean.items() if getattr(user, k) != v]
        for key, value in clean.items():
            setattr(user, key, value)
        user.save(only=[getattr(User, k) for k in clean])
        audit.record("account.profile", tenant_id=user.tenant_id, user=user,
                     object_type="user", object_id=user.id,
                     detail=f"{user.username}: {', '.join(changed) or 'no change'}", ip=ip)
    return user
