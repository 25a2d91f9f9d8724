"""A tenant routes what it holds: an allocated extension to one of its users, a DID to a user
or campaign, with the greeting callers hear. Flask-free, for the JSON API and the UI; the
provider's pool and allocation are voxcast.numbers.pool. Ids from the caller are checked
against the tenant with models.tenancy, so another tenant's user or campaign is refused."""
from __future__ import annotations

from models import Campaign, Did, Extension, User, database
from models.tenancy import TenantScopeError, get_scoped
from voxcast.audit import records as audit
from voxcast.errors import ServiceError


class RoutingError(ServiceError, ValueError):
    """`field` names the input the message is about."""
    code, status = "validation", 422

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def _tenant_user(tenant_id: int, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    try:
        return get_scoped(User, tenant_id, user_id)
    except TenantScopeError:
        raise RoutingError("No such user in this organisation.", "user_id") from None


def assign_extension(ext: Extension, user_id: int | None, *, actor=None, ip: str = "") -> Extension:
    """Give an allocated extension to a user of its tenant, or take it back (None)."""
    if ext.tenant_id is None:
        raise RoutingError("The extension is in the provider's pool, not allocated.")
    user = _tenant_user(ext.tenant_id, user_id)
    with database.atomic():
        Extension.update(user=user.id if user else None).where(Extension.id == ext.id).execute()
        audit.record("extension.assign", tenant_id=ext.tenant_id, user=actor,
                     object_type="extension", object_id=ext.id,
                     detail=f"{ext.number} -> {user.username if user else '(nobody)'}", ip=ip)
    return Extension.get_by_id(ext.id)


UNSET = object()


def route_did(did: Did, *, user_id=UNSET, campaign_id=UNSET, greeting_text=UNSET, actor=None,
              ip: str = "") -> Did:
    """Change what an allocated DID leads to; only the given arguments change."""
    if did.tenant_id is None:
        raise RoutingError("The DID is in the provider's pool, not allocated.")
    changes, detail = {}, []
    if user_id is not UNSET:
        user = _tenant_user(did.tenant_id, user_id)
        changes["user"] = user.id if user else None
        detail.append(f"user={user.username if user else '-'}")
    if campaign_id is not UNSET:
        if campaign_id is None:
            changes["campaign"] = None
        else:
            try:
                changes["campaign"] = get_scoped(Campaign, did.tenant_id, campaign_id).id
            except TenantScopeError:
                raise RoutingError("No such campaign in this organisation.", "campaign_id") from None
        detail.append(f"campaign={changes['campaign'] or '-'}")
    if greeting_text is not UNSET:
        text = (greeting_text or "").strip()
        if len(text) > 2000:
            raise RoutingError("At most 2000 characters.", "greeting_text")
        changes["greeting_text"] = text
        detail.append("greeting")
    with database.atomic():
        if changes:
            Did.update(**changes).where(Did.id == did.id).execute()
        audit.record("did.route", tenant_id=did.tenant_id, user=actor, object_type="did",
                     object_id=did.id, detail=f"{did.number}: {' '.join(detail) or 'no change'}",
                     ip=ip)
    return Did.get_by_id(did.id)
