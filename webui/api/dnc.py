"""/api/v1/dnc: a tenant's do-not-call list; the provider key's is the provider-wide list
(or a tenant's with ?tenant_id=). Through voxcast.contacts.dnc, like the UI."""
from __future__ import annotations

from flask import jsonify

from models import DncNumber, Tenant
from models.tenancy import get_scoped
from voxcast.contacts import dnc as dnc_service
from voxcast.contacts import services as contact_service

from . import ID, ApiError, body, bp, ip, paginate, principal, query_int
from .spec import DNC_CREATE


def dump_dnc(row: DncNumber) -> dict:
    return {"id": row.id, "tenant_id": row.tenant_id, "phone": row.phone, "source": row.source,
            "created_at": row.created_at.isoformat() + "Z"}


def _list_owner() -> int | None:
    """Which list a call works on: None is the provider-wide one."""
    if not principal().is_admin:
        return principal().tenant_id
    return query_int("tenant_id", None)


@bp.get("/dnc")
def dnc_list():
    return paginate(dnc_service.search(_list_owner()), dump_dnc)


@bp.post("/dnc")
def dnc_add():
    data = body(DNC_CREATE)
    owner = _list_owner()
    if "tenant_id" in data:
        if not principal().is_admin and data["tenant_id"] != owner:
            raise ApiError(422, "validation", "tenant_id is only for the provider's key.",
                           {"tenant_id": "only with the provider's key"})
        owner = data["tenant_id"]
    tenant = Tenant.get_or_none(Tenant.id == owner) if owner is not None else None
    if owner is not None and tenant is None:
        raise ApiError(422, "validation", "No such tenant.", {"tenant_id": "no such tenant"})
    country = tenant.country if tenant else "US"
    try:
        phone = contact_service.normalize_phone(data["phone"], country)
    except contact_service.InvalidPhone as exc:
        raise ApiError(422, "invalid-phone", str(exc), {"phone": str(exc)}) from None
    result = dnc_service.add(owner, [phone], "api", country=country, actor=principal(), ip=ip())
    if result.already:
        raise ApiError(409, "conflict", f"{phone} is already on the list.",
                       {"phone": "already on the list"})
    row = dnc_service.dnc_list(owner).where(DncNumber.phone == phone).get()
    return jsonify(dump_dnc(row)), 201


@bp.delete(f"/dnc/<{ID}:dnc_id>")
def dnc_remove(dnc_id: int):
    owner = _list_owner()
    row = get_scoped(DncNumber, owner, dnc_id) if owner is not None else (
        dnc_service.dnc_list(None).where(DncNumber.id == dnc_id).first())
    if row is None:
        raise ApiError(404, "not-found", "Not found.")
    dnc_service.remove(row.tenant_id, [row.phone], actor=principal(), ip=ip())
    return "", 204
