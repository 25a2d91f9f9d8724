"""/api/v1/email-dnc: the tenant's e-mail do-not-contact list (the provider's key names the
tenant with tenant_id). Through voxcast.messaging.email.dnc, like the web page."""
from __future__ import annotations

from flask import jsonify, request

from models.entities import EmailDnc
from models.tenancy import get_scoped
from voxcast.messaging.email import dnc as email_dnc
from voxcast.messaging.email.schemas import EMAIL_DNC_CREATE

from . import (ID, ApiError, body, bp, ip, paginate, own_tenant_only, principal, scope,
               target_tenant)


def dump_email_dnc(row: EmailDnc) -> dict:
    return {"id": row.id, "tenant_id": row.tenant_id, "address": row.address,
            "source": row.source, "created_at": row.created_at.isoformat() + "Z"}


@bp.get("/email-dnc")
def email_dnc_list():
    return paginate(email_dnc.search(scope(), request.args.get("q", "")[:254]), dump_email_dnc)


@bp.post("/email-dnc")
def email_dnc_add():
    data = body(EMAIL_DNC_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    try:
        address = email_dnc.normalize(data["address"])
    except email_dnc.InvalidAddress as exc:
        raise ApiError(422, "invalid-address", str(exc), {"address": str(exc)}) from None
    result = email_dnc.add(tenant.id, [address], "api", actor=principal(), ip=ip())
    if result.already:
        raise ApiError(409, "conflict", f"{address} is already on the list.",
                       {"address": "already on the list"})
    row = email_dnc.dnc_list(tenant.id).where(EmailDnc.address == address).get()
    return jsonify(dump_email_dnc(row)), 201


@bp.delete(f"/email-dnc/<{ID}:dnc_id>")
def email_dnc_remove(dnc_id: int):
    row = get_scoped(EmailDnc, scope(), dnc_id)
    email_dnc.remove(row.tenant_id, [row.address], actor=principal(), ip=ip())
    return "", 204
