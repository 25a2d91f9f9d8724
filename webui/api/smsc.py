"""/api/v1/smsc-connections: the provider's SMPP accounts (provider key only), with each
one's bind status as `voxcast messaging` reports it; through voxcast.messaging.sms.connections,
like the admin page. The password is never returned."""
from __future__ import annotations

from flask import jsonify

from models.entities import SmscConnection
from voxcast.messaging.sms import connections
from voxcast.messaging.sms.schemas import SMSC_CREATE, SMSC_UPDATE

from . import ID, ApiError, admin_only, body, bp, ip, paginate, principal


def dump_smsc(row: SmscConnection) -> dict:
    status = connections.bind_status(row.id)
    return {"id": row.id, "name": row.name, "host": row.host, "port": row.port,
            "system_id": row.system_id, "system_type": row.system_type,
            "source_addr": row.source_addr, "source_ton": row.source_ton,
            "source_npi": row.source_npi, "dest_ton": row.dest_ton, "dest_npi": row.dest_npi,
            "throughput": row.throughput, "enabled": row.enabled, "is_default": row.is_default,
            "bind": {"state": status.state or "unknown", "error": status.error,
                     "since": status.since},
            "created_at": row.created_at.isoformat() + "Z"}


def _refused(exc: connections.SmscError) -> ApiError:
    return ApiError(422, "validation", str(exc), {exc.field or "body": str(exc)})


def _get(smsc_id: int) -> SmscConnection:
    try:
        return connections.get(smsc_id)
    except connections.NoSuchSmsc:
        raise ApiError(404, "not-found", "Not found.") from None


@bp.get("/smsc-connections")
@admin_only
def smsc_list():
    return paginate(SmscConnection.select().order_by(SmscConnection.id), dump_smsc)


@bp.post("/smsc-connections")
@admin_only
def smsc_create():
    data = body(SMSC_CREATE)
    try:
        row = connections.create(data, actor=principal(), ip=ip())
    except connections.SmscError as exc:
        raise _refused(exc) from None
    return jsonify(dump_smsc(row)), 201


@bp.get(f"/smsc-connections/<{ID}:smsc_id>")
@admin_only
def smsc_get(smsc_id: int):
    return jsonify(dump_smsc(_get(smsc_id)))


@bp.patch(f"/smsc-connections/<{ID}:smsc_id>")
@admin_only
def smsc_update(smsc_id: int):
    _get(smsc_id)
    data = body(SMSC_UPDATE)
    try:
        row = connections.update(smsc_id, data, actor=principal(), ip=ip())
    except connections.SmscError as exc:
        raise _refused(exc) from None
    return jsonify(dump_smsc(row))
