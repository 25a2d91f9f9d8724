"""Single sign-on links (LoginToken rows), Flask-free: the provider's billing front end
(WHMCS's "Log in to control panel") asks the API for a link that logs a tenant's user in
once, within a short time, without a password. Only the token's SHA-256 is stored; the web
route GET /sso/<token> (webui.auth) consumes it and opens a session as a password login
does."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from models import Tenant, User, database
from models.entities import LoginToken, utcnow
from voxcast.audit import records as audit
from voxcast.errors import ServiceError

DEFAULT_TTL_S = 120
MAX_TTL_S = 3600
KEEP_USED = dt.timedelta(days=1)  # used and expired tokens are deleted after this


class SsoError(ServiceError):
    """A link that does not log in: unknown (404), used or expired (410), or its account may
    not log in now (403). `code` says which, for the page's wording."""
    code, status = "sso-invalid", 404


class SsoUsed(SsoError):
    code, status = "sso-used", 410


class SsoRefused(SsoError):
    code, status = "sso-refused", 403


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _refusal(user: User) -> str | None:
    if not user.active:
        return "This account is disabled."
    if user.tenant_id is None:
        return "Sign-on links are for the users of a tenant."
    if Tenant.get_by_id(user.tenant_id).status != "active":
        return "This organisation's account is suspended."
    return None


def issue(user: User, ttl_s: int = DEFAULT_TTL_S, *, actor=None, ip: str = "",
          now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A one-use login link token for `user` and when it expires. Refused (SsoRefused) for
    a disabled user or a suspended tenant, which could not log in with it anyway."""
    if (reason := _refusal(user)) is not None:
        raise SsoRefused(reason)
    now = now or utcnow()
    ttl_s = max(1, min(int(ttl_s), MAX_TTL_S))
    raw = secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(seconds=ttl_s)
    with database.atomic():
        LoginToken.delete().where(LoginToken.expires_at < now - KEEP_USED).execute()
        LoginToken.create(user=user.id, token_hash=_hash(raw), expires_at=expires_at,
                          created_at=now)
        audit.record("user.sso_link", tenant_id=user.tenant_id, user=actor,
                     object_type="user", object_id=user.id,
                     detail=f"{user.username}, valid {ttl_s} s", ip=ip)
    return raw, expires_at


def consume(token: str, *, ip: str = "", now: dt.datetime | None = None) -> User:
    """The user the link logs in, once: the token is marked used in the same statement that
    checks it is unused and unexpired, so two requests racing with one link cannot both win."""
    now = now or utcnow()
    if not token or len(token) > 200:
        raise SsoError("This sign-in link is not valid.")
    row = LoginToken.get_or_none(LoginToken.token_hash == _hash(token))
    if row is None:
        raise SsoError("This sign-in link is not valid.")
    won = (LoginToken.update(used_at=now)
           .where(LoginToken.id == row.id, LoginToken.used_at.is_null(),
                  LoginToken.expires_at > now).execute())
    if won != 1:
        raise SsoUsed("This sign-in link has been used already or has expired.")
    user = User.get_by_id(row.user_id)
    if (reason := _refusal(user)) is not None:
        raise SsoRefused(reason)
    audit.record("user.sso_login", tenant_id=user.tenant_id, user=user, object_type="user",
                 object_id=user.id, detail=user.username, ip=ip)
    return user
