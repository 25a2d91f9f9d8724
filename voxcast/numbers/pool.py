"""The provider's pool of SIP extensions and DIDs, and allocating them to tenants.

A pooled row has tenant None. Every path that hands a number out or takes it back (allocate,
return, the admin's reassignment, deleting a tenant) wipes what the previous holder put on it:
an extension gets a fresh SIP secret (the old tenant's phones must not register as the next
tenant's), a DID loses its user, campaign, IVR and greeting. `extension_reset()` and
`DID_RESET` are those field values, the one definition of "tenant-owned". After a change of
extensions, `sync_pjsip` refreshes Asterisk's PJSIP endpoints when voxcast.runtime.pjsip_sync is
installed, so the old secret stops working."""
from __future__ import annotations

import logging
import re
import secrets

from models import Campaign, Did, Extension, Tenant, database
from voxcast.audit import records as audit
from voxcast.errors import ServiceError

log = logging.getLogger("voxcast.pool")
EXT_RE = re.compile(r"^[0-9]{2,10}$")
DID_RE = re.compile(r"^\+?[0-9]{3,20}$")
MAX_RANGE = 1000


class PoolError(ServiceError):
    """A pool change that cannot be done; nothing was changed. str(error) says why."""
    code, status = "not-possible", 409


def new_secret() -> str:
    return secrets.token_urlsafe(16)


def extension_reset() -> dict:
    """Fields an extension gets when it changes hands: no user, a secret nobody has seen."""
    return {"user": None, "secret": new_secret()}


# What a DID's holder set on it; cleared whenever it changes hands.
DID_RESET = {"user": None, "campaign": None, "ivr": None, "greeting_text": "",
             "greeting_file": "", "route": "greeting", "queue": None, "closed_route": "",
             "closed_target": None, "closed_text": ""}


def _forget_caller_id(tenant_id: int, number: str) -> None:
    """The tenant's campaigns and phones stop presenting a DID it no longer holds (campaigns:
    the trunk default; phones: the tenant's first DID)."""
    spellings = {number, number.removeprefix("+"), "+" + number.removeprefix("+")}
    Campaign.update(caller_id="").where(Campaign.tenant == tenant_id,
                                        Campaign.caller_id.in_(spellings)).execute()
    Extension.update(caller_id="").where(Extension.tenant == tenant_id,
                                         Extension.caller_id.in_(spellings)).execute()


def release_all(tenant_id: int) -> tuple[int, int]:
    """Return every extension and DID of the tenant to the pool, reset (call inside the
    caller's transaction). Secrets are rotated one row at a time so no two share one."""
    ext_ids = [e.id for e in Extension.select(Extension.id).where(Extension.tenant == tenant_id)]
    for ext_id in ext_ids:
        Extension.update(tenant=None, **extension_reset()).where(
            Extension.id == ext_id).execute()
    dids = Did.update(tenant=None, **DID_RESET).where(Did.tenant == tenant_id).execute()
    return len(ext_ids), dids


def _range(first: str, last: str, pattern: re.Pattern, what: str) -> list[str]:
    first, last = (first or "").strip(), (last or "").strip() or (first or "").strip()
    if not pattern.match(first) or not pattern.match(last):
        raise PoolError(f"{what} numbers are digits only ({first!r} .. {last!r}).")
    prefix = "+" if first.startswith("+") else ""
    a, b = int(first.lstrip("+")), int(last.lstrip("+"))
    if b < a:
        raise PoolError(f"The range ends ({last}) before it starts ({first}).")
    if b - a + 1 > MAX_RANGE:
        raise PoolError(f"At most {MAX_RANGE} numbers at once.")
    width = len(first.lstrip("+"))
    return [f"{prefix}{n:0{width}d}" for n in range(a, b + 1)]


def add_extensions(first: str, last: str, *, actor=None, ip: str = "") -> list[Extension]:
    """Add first..last to the pool with generated secrets; refused whole if any exists."""
    numbers = _range(first, last, EXT_RE, "Extension")
    taken = [e.number for e in Extension.select(Extension.number)
             .where(Extension.number.in_(numbers))]
    if taken:
        raise PoolError(f"Already in the pool or allocated: {', '.join(taken[:10])}"
                        + (" …" if len(taken) > 10 else ""))
    with database.atomic():
        rows = [Extension.create(number=n, secret=new_secret()) for n in numbers]
        audit.record("pool.extensions_add", tenant_id=None, user=actor, object_type="extension",
                     detail=f"{numbers[0]}-{numbers[-1]} ({len(numbers)})", ip=ip)
    return rows


def add_dids(first: str, last: str, *, actor=None, ip: str = "") -> list[Did]:
    numbers = _range(first, last, DID_RE, "DID")
    taken = [d.number for d in Did.select(Did.number).where(Did.number.in_(numbers))]
    if taken:
        raise PoolError(f"Already in the pool or assigned: {', '.join(taken[:10])}"
                        + (" …" if len(taken) > 10 else ""))
    with database.atomic():
        rows = [Did.create(number=n) for n in numbers]
        audit.record("pool.dids_add", tenant_id=None, user=actor, object_type="did",
                     detail=f"{numbers[0]}-{numbers[-1]} ({len(numbers)})", ip=ip)
    return rows


def free_extensions():
    return Extension.select().where(Extension.tenant.is_null()).order_by(Extension.number)


def free_dids():
    return Did.select().where(Did.tenant.is_null()).order_by(Did.number)


def tenant_extensions(tenant: Tenant):
    return Extension.select().where(Extension.tenant == tenant.id).order_by(Extension.number)


def tenant_dids(tenant: Tenant):
    return Did.select().where(Did.tenant == tenant.id).order_by(Did.number)


def allocate_extensions(tenant: Tenant, count: int, *, actor=None, ip: str = "") -> list[str]:
    """Give the tenant the `count` lowest free extensions, or none if fewer are free."""
    if count < 1:
        raise PoolError("Allocate at least one extension.")
    with database.atomic():
        free = list(free_extensions().limit(count))
        if len(free) < count:
            raise PoolError(f"Only {len(free)} extension(s) are free in the pool; "
                            "add a range first.")
        for ext in free:  # a fresh secret each: whatever the pool row carried is not reused
            updated = Extension.update(tenant=tenant.id, **extension_reset()).where(
                Extension.id == ext.id, Extension.tenant.is_null()).execute()
            if not updated:
                raise PoolError(f"Extension {ext.number} was just allocated elsewhere; "
                                "try again.")
        numbers = [e.number for e in free]
        audit.record("extension.allocate", tenant_id=tenant.id, user=actor,
                     object_type="extension", detail=", ".join(numbers), ip=ip)
    return numbers


def return_extension(tenant: Tenant, ext_id: int, *, actor=None, ip: str = "") -> str:
    ext = Extension.get_or_none(Extension.id == ext_id, Extension.tenant == tenant.id)
    if ext is None:
        raise PoolError("That extension is not allocated to this tenant.")
    with database.atomic():
        Extension.update(tenant=None, **extension_reset()).where(
            Extension.id == ext.id).execute()
        audit.record("extension.return", tenant_id=tenant.id, user=actor,
                     object_type="extension", object_id=ext.id, detail=ext.number, ip=ip)
    return ext.number


def allocate_did(tenant: Tenant, did_id: int, *, actor=None, ip: str = "") -> str:
    with database.atomic():
        did = Did.get_or_none(Did.id == did_id, Did.tenant.is_null())
        if did is None:
            raise PoolError("That DID is not free in the pool any more.")
        Did.update(tenant=tenant.id, **DID_RESET).where(Did.id == did.id).execute()
        audit.record("did.allocate", tenant_id=tenant.id, user=actor, object_type="did",
                     object_id=did.id, detail=did.number, ip=ip)
    return did.number


def return_did(tenant: Tenant, did_id: int, *, actor=None, ip: str = "") -> str:
    did = Did.get_or_none(Did.id == did_id, Did.tenant == tenant.id)
    if did is None:
        raise PoolError("That DID is not assigned to this tenant.")
    with database.atomic():
        Did.update(tenant=None, **DID_RESET).where(Did.id == did.id).execute()
        _forget_caller_id(tenant.id, did.number)
        audit.record("did.return", tenant_id=tenant.id, user=actor, object_type="did",
                     object_id=did.id, detail=did.number, ip=ip)
    return did.number


def assign_did(did_id: int, tenant_id: int | None, greeting_text: str, *, actor=None,
               ip: str = "") -> Did:
    """The admin's DID page: put a DID with a tenant (or back in the pool, None) and set its
    greeting. A change of holder resets the DID first (DID_RESET); the same holder keeps its
    routing and only the greeting changes."""
    with database.atomic():
        did = Did.get_or_none(Did.id == did_id)
        if did is None:
            raise PoolError("No such DID.")
        if tenant_id is not None and Tenant.get_or_none(Tenant.id == tenant_id) is None:
            raise PoolError("No such tenant.")
        changes = {"tenant": tenant_id, "greeting_text": (greeting_text or "").strip()[:2000]}
        if did.tenant_id != tenant_id:
            changes = {**DID_RESET, **changes}
        if tenant_id is None:  # a pooled DID has no greeting (see return_did)
            changes["greeting_text"] = ""
        Did.update(**changes).where(Did.id == did.id).execute()
        if did.tenant_id is not None and did.tenant_id != tenant_id:
            _forget_caller_id(did.tenant_id, did.number)
            audit.record("did.return", tenant_id=did.tenant_id, user=actor, object_type="did",
                         object_id=did.id, detail=did.number, ip=ip)
        if tenant_id is not None:
            audit.record("did.assign", tenant_id=tenant_id, user=actor, object_type="did",
                         object_id=did.id, detail=did.number, ip=ip)
    return Did.get_by_id(did.id)


def sync_pjsip(settings) -> str | None:
    """Push extensions to Asterisk; the error text, or None."""
    from voxcast.runtime import pjsip_sync
    try:
        pjsip_sync.sync(settings)
    except Exception as exc:  # Asterisk down must not undo the allocation; say so instead
        log.exception("pjsip sync failed")
        return f"{type(exc).__name__}: {exc}"
    return None
