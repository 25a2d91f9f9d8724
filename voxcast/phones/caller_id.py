"""The caller ID an extension shows on its PSTN calls: one of its tenant's own DIDs, or empty
for the tenant's first DID (voxcast.phones.routing.caller_id_of reads it at call time, when a
DID that has left the tenant no longer counts)."""
from __future__ import annotations

from models import Did, Extension
from voxcast.audit import records as audit
from voxcast.errors import ServiceError


class CallerIdError(ServiceError, ValueError):
    code = "invalid-caller-id"
    status = 422


def choices(tenant_id: int) -> list[str]:
    return [n for (n,) in Did.select(Did.number).where(Did.tenant == tenant_id)
            .order_by(Did.number).tuples()]


def set_caller_id(ext: Extension, raw: str | None, *, actor=None, ip: str = "") -> str:
    """Store `raw` (in the DID's own spelling) on the tenant's extension `ext`; "" clears it.
    Anything that is not one of the tenant's DIDs is refused."""
    raw = (raw or "").strip()
    number = ""
    if raw:
        digits = raw.removeprefix("+")
        number = next((n for n in choices(ext.tenant_id) if n.removeprefix("+") == digits), "")
        if not number:
            raise CallerIdError(f"{raw} is not one of your DIDs.")
    if number != ext.caller_id:
        Extension.update(caller_id=number).where(Extension.id == ext.id).execute()
        audit.record("extension.caller_id", tenant_id=ext.tenant_id, user=actor,
                     object_type="extension", object_id=ext.id,
                     detail=f"{ext.number}: caller ID {number or 'default'}", ip=ip)
    return number
