"""/api/v1/tenants: the provider's clients (provider key only), through voxcast.tenants.services."""
from __future__ import annotations

from flask import current_app, jsonify

from models import Tenant
from voxcast.tenants import features
from voxcast.numbers import pool as pool_service
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import NewAdmin, TenantError, TenantProfile

from . import ID, ApiError, admin_only, body, bp, ip, paginate, principal
from .spec import TENANT_CREATE, TENANT_UPDATE


def dump_tenant(t: Tenant) -> dict:
    return {
        "id": t.id, "name": t.name, "slug": t.slug, "country": t.country,
        "timezone": t.timezone, "language": t.language, "email": t.email,
        "channel_limit": t.channel_limit, "balance": f"{t.balance:.4f}", "status": t.status,
        "allowed_caller_ids": t.allowed_caller_ids.split(),
        "blocked_prefixes": t.blocked_prefixes.split(),
        "features": sorted(features.enabled(t)), "max_users": t.max_users,
        "max_agents": t.max_agents, "max_campaigns": t.max_campaigns,
        "max_contacts": t.max_contacts, "sms_per_second": t.sms_per_second,
        "email_per_hour": t.email_per_hour, "created_at": t.created_at.isoformat() + "Z",
    }


def _languages():
    from webui import LANGUAGES
    return LANGUAGES


def refused(exc: TenantError, status: int = 422) -> ApiError:
    fields = {k or "body": v for k, v in exc.errors.items()}
    taken = any("already" in v or "taken" in v for v in exc.errors.values())
    return ApiError(409 if taken else status, "conflict" if taken else "validation",
                    "; ".join(exc.errors.values()), fields)


def _tenant(tenant_id: int) -> Tenant:
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        raise ApiError(404, "not-found", "Not found.")
    return tenant


@bp.get("/tenants")
@admin_only
def tenants_list():
    return paginate(Tenant.select().order_by(Tenant.id), dump_tenant)


@bp.post("/tenants")
@admin_only
def tenants_create():
    data = body(TENANT_CREATE)
    profile = TenantProfile(
        name=data["name"], slug=data["slug"], country=data.get("country", "US"),
        email=data.get("email", ""), timezone=data.get("timezone", "UTC"),
        language=data.get("language", "en"), channel_limit=data.get("channel_limit", 10),
        allowed_caller_ids="\n".join(data.get("allowed_caller_ids", [])),
        blocked_prefixes=" ".join(data.get("blocked_prefixes", [])))
    admin = NewAdmin(username=data["admin_username"], password=data["admin_password"],
                     first_name="", email=data["admin_email"], notify="credentials")
    try:
        created = tenant_service.create_tenant(profile, admin, data.get("balance", "0"),
                                               languages=_languages(), actor=principal(),
                                               ip=ip())
    except TenantError as exc:
        raise refused(exc) from None
    return jsonify(dump_tenant(created.tenant)), 201


@bp.get(f"/tenants/<{ID}:tenant_id>")
@admin_only
def tenants_get(tenant_id: int):
    return jsonify(dump_tenant(_tenant(tenant_id)))


@bp.patch(f"/tenants/<{ID}:tenant_id>")
@admin_only
def tenants_update(tenant_id: int):
    tenant = _tenant(tenant_id)
    data = body(TENANT_UPDATE)
    profile = TenantProfile(
        name=data.get("name", tenant.name), slug=tenant.slug, company_size=tenant.company_size,
        country=data.get("country", tenant.country), email=data.get("email", tenant.email),
        timezone=data.get("timezone", tenant.timezone),
        language=data.get("language", tenant.language), rate_plan_id=tenant.rate_plan_id,
        channel_limit=data.get("channel_limit", tenant.channel_limit),
        allowed_caller_ids="\n".join(data["allowed_caller_ids"]) if "allowed_caller_ids" in data
        else tenant.allowed_caller_ids,
        blocked_prefixes=" ".join(data["blocked_prefixes"]) if "blocked_prefixes" in data
        else None)
    try:
        tenant_service.update_tenant(tenant, profile, languages=_languages(), actor=principal(),
                                     ip=ip())
    except TenantError as exc:
        raise refused(exc) from None
    return jsonify(dump_tenant(Tenant.get_by_id(tenant.id)))


@bp.post(f"/tenants/<{ID}:tenant_id>/suspend")
@admin_only
def tenants_suspend(tenant_id: int):
    tenant = _tenant(tenant_id)
    tenant_service.suspend(tenant, actor=principal(), ip=ip())
    return jsonify(dump_tenant(Tenant.get_by_id(tenant.id)))


@bp.post(f"/tenants/<{ID}:tenant_id>/enable")
@admin_only
def tenants_enable(tenant_id: int):
    tenant = _tenant(tenant_id)
    tenant_service.enable(tenant, actor=principal(), ip=ip())
    return jsonify(dump_tenant(Tenant.get_by_id(tenant.id)))


@bp.delete(f"/tenants/<{ID}:tenant_id>")
@admin_only
def tenants_delete(tenant_id: int):
    """Force delete: the API call itself is the confirmation the UI asks to type."""
    tenant = _tenant(tenant_id)
    settings = current_app.config["VOXCAST_SETTINGS"]
    try:
        tenant_service.force_delete(tenant, tenant.name, settings.sounds_dir, actor=principal(),
                                    ip=ip())
    except TenantError as exc:
        raise refused(exc, 409) from None
    pool_service.sync_pjsip(settings)  # its extensions' endpoints (and old secrets) go away
    return "", 204


