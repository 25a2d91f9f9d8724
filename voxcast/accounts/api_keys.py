"""API keys: created for a tenant (acts as its admin) or for the provider (tenant None).

The secret is shown once; only its SHA-256 and a short prefix (to find the row and to show
which key is which) are stored. No Flask here: the UI pages and the API both use it."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from peewee import JOIN

from models import ApiKey, Tenant, User, database
from models.cached_sql import CachedSelect
from models.entities import utcnow

from voxcast.audit import records as audit
from voxcast.errors import ServiceError

KEY_PREFIX = "vx_"
PREFIX_LEN = len(KEY_PREFIX) + 8  # "vx_" + 8 random characters, indexed for lookup
# Writing last_used_at on every call would make each read a write; once a minute is enough.
LAST_USED_RESOLUTION_S = 60


class ApiKeyError(ServiceError, ValueError):
    """A key that cannot be created; the message is fit to show a user."""
    code, status = "validation", 422


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(*, tenant_id: int | None, user, name: str, ip: str = "") -> tuple[ApiKey, str]:
    """A new active key and its secret (the only time the secret exists outside the caller)."""
    name = (name or "").strip()
    if not name:
        raise ApiKeyError("Give the key a name, e.g. the system that will use it.")
    if len(name) > 100:
        raise ApiKeyError("The name is at most 100 characters.")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with database.atomic():
        key = ApiKey.create(tenant=tenant_id, user=getattr(user, "id", None), name=name,
                            prefix=secret[:PREFIX_LEN], key_hash=_hash(secret))
        audit.record("api_key.create", tenant_id=tenant_id, user=user, object_type="api_key",
                     object_id=key.id, detail=f"{name} ({key.prefix}…)", ip=ip)
    return key, secret


def keys_of(tenant_id: int | None):
    """A tenant's keys, or the provider's own keys for None (not every tenant's)."""
    query = ApiKey.select()
    query = query.where(ApiKey.tenant.is_null()) if tenant_id is None else query.where(
        ApiKey.tenant == tenant_id)
    return query.order_by(ApiKey.active.desc(), ApiKey.created_at.desc(), ApiKey.id.desc())


def revoke(key_id: int, *, tenant_id: int | None, user, ip: str = "") -> ApiKey | None:
    """Deactivate one of the owner's keys; another owner's key is not found (None)."""
    key = keys_of(tenant_id).where(ApiKey.id == key_id).first()
    if key is None:
        return None
    with database.atomic():
        key.active = False
        key.save(only=[ApiKey.active])
        audit.record("api_key.revoke", tenant_id=tenant_id, user=user, object_type="api_key",
                     object_id=key.id, detail=f"{key.name} ({key.prefix}…)", ip=ip)
    return key


@dataclass
class Principal:
    """Who an API call acts as. A tenant key acts as that tenant's admin; a provider key as
    the provider. `id`/`username` make it usable as the `user` of audit.record."""
    key_id: int
    tenant_id: int | None
    id: int | None  # the user who created the key, for the tenant log
    username: str

    @property
    def is_admin(self) -> bool:
        return self.tenant_id is None


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _creator_may_hold(creator, key) -> bool:
    """A key acts with its creator's authority, so it works only while the creator could
    create it now: the account exists, is enabled, and still has the role that manages this
    owner's keys (the tenant's admin for a tenant key, the provider's admin for a provider
    key). Checked on every call rather than revoking keys when a user changes, so no path
    that disables, deletes or downgrades a user can forget to; re-enabling the creator
    brings the key back."""
    if creator is None or not creator.active:
        return False
    if key.tenant_id is None:
        return creator.tenant_id is None and creator.role == "admin"
    return creator.tenant_id == key.tenant_id and creator.role == "tenant"


@dataclass
class _Found:
    """What authenticate reads of a key, its creator and its tenant, in one query."""
    id: int
    key_hash: str
    prefix: str
    tenant_id: int | None
    user_id: int | None
    last_used_at: object


@dataclass
class _Creator:
    id: int
    active: bool
    tenant_id: int | None
    role: str
    username: str


_CANDIDATES = CachedSelect(
    lambda prefix: (ApiKey.select(ApiKey.id, ApiKey.key_hash, ApiKey.prefix, ApiKey.tenant,
                                  ApiKey.user, ApiKey.last_used_at, User.id, User.active,
                                  User.tenant, User.role, User.username, Tenant.status,
                                  Tenant.features)
                    .join(User, JOIN.LEFT_OUTER, on=(User.id == ApiKey.user))
                    .switch(ApiKey)
                    .join(Tenant, JOIN.LEFT_OUTER, on=(Tenant.id == ApiKey.tenant))
                    .where(ApiKey.prefix == prefix, ApiKey.active == True)),  # noqa: E712
    samples=("\0prefix",))


def _candidates(prefix: str):
    """The active keys with this prefix, each with its creator (None when there is none) and
    its tenant's status and features (None for a provider key): one query per call, its SQL
    built once (models.cached_sql)."""
    for (kid, key_hash, kprefix, tenant_id, user_id, last_used, uid, active, utenant, role,
         username, status, features) in _CANDIDATES.rows(prefix):
        creator = (_Creator(uid, bool(active), utenant, role, username)
                   if uid is not None else None)
        tenant = (status, features) if tenant_id is not None else None
        yield _Found(kid, key_hash, kprefix, tenant_id, user_id, last_used), creator, tenant


def authenticate(secret: str) -> Principal:
    """The principal for a presented key, or Refused (401 unknown/revoked or its creator no
    longer entitled, 403 suspended)."""
    secret = (secret or "").strip()
    if not secret.startswith(KEY_PREFIX) or len(secret) < PREFIX_LEN + 8 or len(secret) > 200:
        raise Refused(401, "invalid-api-key", "The API key is missing or not valid.")
    digest = _hash(secret)
    key = creator = tenant = None
    for row, row_creator, row_tenant in _candidates(secret[:PREFIX_LEN]):
        if hmac.compare_digest(row.key_hash, digest):
            key, creator, tenant = row, row_creator, row_tenant
            break
    if key is None:
        raise Refused(401, "invalid-api-key", "The API key is missing or not valid.")
    if not _creator_may_hold(creator, key):
        raise Refused(401, "api-key-owner-inactive",
                      "The user who created this API key is disabled or may no longer manage "
                      "keys; ask an administrator for a new key.")
    if key.tenant_id is not None:
        status, features = tenant
        if status != "active":
            raise Refused(403, "tenant-suspended",
                          "This organisation's account is suspended; contact your provider.")
        if "api" not in (features or "").split():  # Tenant.has_feature
            raise Refused(403, "feature-disabled",
                          "The API is not enabled for this organisation; ask your provider.")
    now = utcnow()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_S:
        ApiKey.update(last_used_at=now).where(ApiKey.id == key.id).execute()
    return Principal(key_id=key.id, tenant_id=key.tenant_id, id=key.user_id,
                     username=f"{creator.username if creator else 'api'} (API key {key.prefix}…)")
