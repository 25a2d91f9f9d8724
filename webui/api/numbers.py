"""/api/v1/extensions and /api/v1/dids: the provider's pool and allocation (voxcast.numbers.pool,
provider key) and a tenant's routing of what it holds (voxcast.numbers.routing)."""
from __future__ import annotations

from flask import current_app, jsonify

from models import Did, Extension, Tenant, database
from models.tenancy import get_scoped, scoped
from voxcast.numbers import routing as number_service
from voxcast.numbers import pool as pool_service
from voxcast.numbers.routing import RoutingError
from voxcast.numbers.pool import PoolError

from . import ID, ApiError, admin_only, body, bp, ip, paginate, principal, query_int
from .spec import (ALLOCATE, DID_CREATE, DID_UPDATE, EXTENSION_ALLOCATE, EXTENSION_CREATE,
                   EXTENSION_UPDATE)


def dump_extension(e: Extension) -> dict:
    return {"id": e.id, "number": e.number, "secret": e.secret, "tenant_id": e.tenant_id,
            "user_id": e.user_id, "browser_phone": bool(e.browser_phone),
            "created_at": e.created_at.isoformat() + "Z"}


def dump_did(d: Did) -> dict:
    return {"id": d.id, "number": d.number, "tenant_id": d.tenant_id, "route": d.route,
            "user_id": d.user_id, "campaign_id": d.campaign_id, "queue_id": d.queue_id,
            "ivr_id": d.ivr_id, "closed_route": d.closed_route,
            "closed_target": d.closed_target, "closed_text": d.closed_text,
            "greeting_text": d.greeting_text, "greeting_prompt_id": _greeting_prompt_id(d),
            "fax_detect": d.fax_detect, "fax_emails": d.fax_emails}


def _greeting_prompt_id(d: Did) -> int | None:
    prompt = number_service.greeting_prompt(d)
    return prompt.id if prompt else None


def _pool_scope(model, free):
    """Tenant key: its own. Provider key: all, one tenant's (?tenant_id=N) or the pool (=0)."""
    if not principal().is_admin:
        return scoped(model, principal().tenant_id)
    tenant_id = query_int("tenant_id", None, minimum=0)
    if tenant_id == 0:
        return free()
    return scoped(model, tenant_id)


def _row(model, row_id: int):
    tenant_id = None if principal().is_admin else principal().tenant_id
    return get_scoped(model, tenant_id, row_id)


def _tenant(tenant_id: int) -> Tenant:
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        raise ApiError(422, "validation", "No such tenant.", {"tenant_id": "no such tenant"})
    return tenant


def _pool_error(exc: PoolError, field: str = "") -> ApiError:
    text = str(exc)
    conflict = "Already" in text or "not free" in text or "Only " in text
    return ApiError(409 if conflict else 422, "conflict" if conflict else "validation", text,
                    {field: text} if field else {})


def _routing_error(exc: RoutingError) -> ApiError:
    return ApiError(422, "validation", str(exc), {exc.field or "body": str(exc)})


def _sync_pjsip() -> None:
    """Asterisk being down must not fail the call: the next sync picks the change up."""
    pool_service.sync_pjsip(current_app.config["VOXCAST_SETTINGS"])


# -- extensions ------------------------------------------------------------------------------

@bp.get("/extensions")
def extensions_list():
    query = _pool_scope(Extension, pool_service.free_extensions)
    return paginate(query.order_by(Extension.number), dump_extension)


@bp.post("/extensions")
@admin_only
def extensions_create():
    data = body(EXTENSION_CREATE)
    try:
        (ext,) = pool_service.add_extensions(data["number"], data["number"], actor=principal(),
                                             ip=ip())
    except PoolError as exc:
        raise _pool_error(exc, "number") from None
    return jsonify(dump_extension(ext)), 201


@bp.post("/extensions/allocate")
@admin_only
def extensions_allocate():
    data = body(EXTENSION_ALLOCATE)
    tenant = _tenant(data["tenant_id"])
    try:
        numbers = pool_service.allocate_extensions(tenant, data["count"], actor=principal(),
                                                   ip=ip())
    except PoolError as exc:
        raise _pool_error(exc, "count") from None
    _sync_pjsip()
    rows = Extension.select().where(Extension.number.in_(numbers)).order_by(Extension.number)
    return jsonify(items=[dump_extension(e) for e in rows])


@bp.post(f"/extensions/<{ID}:ext_id>/release")
@admin_only
def extensions_release(ext_id: int):
    ext = _row(Extension, ext_id)
    if ext.tenant_id is None:
        raise ApiError(409, "conflict", "The extension is already in the pool.")
    try:
        pool_service.return_extension(ext.tenant, ext.id, actor=principal(), ip=ip())
    except PoolError as exc:
        raise _pool_error(exc) from None
    _sync_pjsip()
    return jsonify(dump_extension(Extension.get_by_id(ext.id)))


@bp.get(f"/extensions/<{ID}:ext_id>")
def extensions_get(ext_id: int):
    return jsonify(dump_extension(_row(Extension, ext_id)))


@bp.patch(f"/extensions/<{ID}:ext_id>")
def extensions_assign(ext_id: int):
    ext = _row(Extension, ext_id)
    data = body(EXTENSION_UPDATE)
    if "browser_phone" in data and ext.tenant_id is None:
        raise ApiError(422, "validation", "A pooled extension is no phone yet; allocate it.",
                       {"browser_phone": "only for an allocated extension"})
    if "user_id" in data:
        try:
            ext = number_service.assign_extension(ext, data["user_id"], actor=principal(),
                                                  ip=ip())
        except RoutingError as exc:
            raise _routing_error(exc) from None
    if "browser_phone" in data:
        from voxcast.console import phone
        phone.set_browser_phone(ext, data["browser_phone"], actor=principal(), ip=ip())
    _sync_pjsip()
    return jsonify(dump_extension(ext))


# -- DIDs ------------------------------------------------------------------------------------

@bp.get("/dids")
def dids_list():
    return paginate(_pool_scope(Did, pool_service.free_dids).order_by(Did.number), dump_did)


@bp.post("/dids")
@admin_only
def dids_create():
    data = body(DID_CREATE)
    tenant = _tenant(data["tenant_id"]) if data.get("tenant_id") is not None else None
    try:
        with database.atomic():  # added and allocated, or nothing
            (did,) = pool_service.add_dids(data["number"], data["number"], actor=principal(),
                                           ip=ip())
            if tenant is not None:
                pool_service.allocate_did(tenant, did.id, actor=principal(), ip=ip())
                if data.get("greeting_text"):
                    did = number_service.route_did(Did.get_by_id(did.id),
                                                   greeting_text=data["greeting_text"],
                                                   actor=principal(), ip=ip())
            elif data.get("greeting_text"):
                raise ApiError(422, "validation", "A pooled DID has no greeting; allocate it.",
                               {"greeting_text": "only with tenant_id"})
    except PoolError as exc:
        raise _pool_error(exc, "number") from None
    return jsonify(dump_did(Did.get_by_id(did.id))), 201


@bp.get(f"/dids/<{ID}:did_id>")
def dids_get(did_id: int):
    return jsonify(dump_did(_row(Did, did_id)))


@bp.patch(f"/dids/<{ID}:did_id>")
def dids_route(did_id: int):
    did = _row(Did, did_id)
    data = body(DID_UPDATE)
    try:
        did = number_service.route_did(did, actor=principal(), ip=ip(), **data)
    except RoutingError as exc:
        raise _routing_error(exc) from None
    return jsonify(dump_did(did))


@bp.post(f"/dids/<{ID}:did_id>/allocate")
@admin_only
def dids_allocate(did_id: int):
    did = _row(Did, did_id)
    data = body(ALLOCATE)
    try:
        with database.atomic():
            if did.tenant_id is not None:
                pool_service.return_did(did.tenant, did.id, actor=principal(), ip=ip())
            if data["tenant_id"] is not None:
                pool_service.allocate_did(_tenant(data["tenant_id"]), did.id,
                                          actor=principal(), ip=ip())
    except PoolError as exc:
        raise _pool_error(exc, "tenant_id") from None
    return jsonify(dump_did(Did.get_by_id(did.id)))


