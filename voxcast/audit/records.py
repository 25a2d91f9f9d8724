"""The tenant log: every change recorded with who, what, when and from which address.

Call `record(...)` in the same transaction as the change, so a change and its log row
commit (or roll back) together."""
from __future__ import annotations

from models import TenantLog


def record(action: str, *, tenant_id: int | None, user=None, object_type: str = "",
           object_id: object = "", detail: str = "", ip: str = "") -> TenantLog:
    """`action` is "<area>.<verb>" (tenant.create, user.update, contacts.import, ...);
    `user` is a models.User, a webui SessionUser or None for the system."""
    return TenantLog.create(
        tenant=tenant_id,
        user=getattr(user, "id", None),
        username=getattr(user, "username", "") or "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        detail=detail[:2000],
        ip=ip,
    )
