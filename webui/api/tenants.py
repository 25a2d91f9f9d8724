"""/api/v1/tenants: the provider's clients (provider key only), through voxcast.tenants.services."""
from __future__ import annotations

from flask import current_app, jsonify, request

from models import Tenant
from models.entities import Package, Subscription
from voxcast.packages import subscriptions
from voxcast.tenants import features
from voxcast.numbers import pool as pool_service
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import NewAdmin, TenantError, TenantProfile

from . import ID, ApiError, admin_only, body, bp, ip, paginate, principal
from .provisioning_spec import SUSPEND, TENANT_PROVISION
from .spec import TENANT_UPDATE


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
    query = Tenant.select().order_by(Tenant.id)
    external_id = request.args.get("external_id")
    if external_id is not None:  # the billing front end finds its service's tenant
        query = query.where(Tenant.id.in_(Subscription.select(Subscription.tenant).where(
            Subscription.external_id == external_id.strip())))
    return paginate(query, _dump_listed, lookup=_subscriptions_of)


def _subscriptions_of(tenants: list[Tenant]) -> dict[int, Subscription]:
    """The page's subscriptions with their packages, in one query."""
    ids = [t.id for t in tenants]
    return {s.tenant_id: s for s in Subscription.select(Subscription, Package)
            .join(Package, on=(Subscription.package == Package.id))
            .where(Subscription.tenant.in_(ids))} if ids else {}


def _dump_listed(t: Tenant, subs: dict[int, Subscription]) -> dict:
    return {**dump_tenant(t), "subscription": subscriptions.as_dict(subs.get(t.id))}


def dump_provisioned(t: Tenant) -> dict:
    """The tenant with its subscription (null without one)."""
    return {**dump_tenant(t), "subscription": subscriptions.as_dict(subscriptions.current(t))}


def optional_body(schema: dict) -> dict:
    """A body that may be left out entirely (an empty POST is {})."""
    return body(schema) if request.get_data(cache=True).strip() else {}


@bp.post("/tenants")
@admin_only
def tenants_create():
    """A tenant and its admin; with package_id subscribed to it (voxcast.packages
    .subscriptions.provision); the login e-mailed as `notify` says."""
    data = body(TENANT_PROVISION)
    notify = data.get("notify", "credentials")
    if notify != "activation" and not data.get("admin_password"):
        raise ApiError(422, "validation", "Some fields are not valid.",
                       {"admin_password": "is required unless notify is activation"})
    if data.get("external_id") and data.get("package_id") is None:
        raise ApiError(422, "validation", "Some fields are not valid.",
                       {"external_id": "needs package_id (it is the subscription's)"})
    profile = TenantProfile(
        name=data["name"], slug=data["slug"], country=data.get("country", "US"),
        email=data.get("email", ""), timezone=data.get("timezone", "UTC"),
        language=data.get("language", "en"), channel_limit=data.get("channel_limit", 10),
        allowed_caller_ids="\n".join(data.get("allowed_caller_ids", [])),
        blocked_prefixes=" ".join(data.get("blocked_prefixes", [])))
    admin = NewAdmin(username=data["admin_username"], password=data.get("admin_password", ""),
                     first_name="", email=data["admin_email"], notify=notify)
    try:
        if data.get("package_id") is not None:
            if data.get("balance") not in (None, "0", "0.00"):
                raise ApiError(422, "validation", "Some fields are not valid.",
                               {"balance": "record a payment instead when subscribing"})
            done = subscriptions.provision(
                data["package_id"], profile, admin, languages=_languages(),
                external_id=data.get("external_id", ""), base_url=request.url_root,
                actor=principal(), ip=ip())
            tenant, mail_error = done.tenant, done.mail_error
        else:
            tenant, mail_error = _create_unsubscribed(profile, admin, data.get("balance", "0"))
    except TenantError as exc:
        raise refused(exc) from None
    return jsonify({**dump_provisioned(Tenant.get_by_id(tenant.id)),
                    "mail_error": mail_error}), 201


def _create_unsubscribed(profile: TenantProfile, admin: NewAdmin, balance):
    """A tenant on no package (as before provisioning), its login e-mailed the same way."""
    import dataclasses
    notify = admin.notify
    created = tenant_service.create_tenant(
        profile, dataclasses.replace(admin, notify="activation" if notify == "activation"
                                     else "credentials"),
        balance, languages=_languages(), actor=principal(), ip=ip())
    from voxcast import mailer
    # the same welcome e-mail as provision() sends (one copy, in voxcast.packages)
    _, error = subscriptions.send_welcome(created.tenant, created.admin, created.activation_token,
                                     admin.password, notify, mailer.MailSettings.from_env(),
                                     request.url_root)
    return created.tenant, error


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
    """Body optional: {"reason": "provider" (default) | "unpaid"}."""
    tenant = _tenant(tenant_id)
    data = optional_body(SUSPEND)
    subscriptions.suspend(tenant, reason=data.get("reason", "provider"), actor=principal(),
                          ip=ip())
    return jsonify(dump_provisioned(Tenant.get_by_id(tenant.id)))


@bp.post(f"/tenants/<{ID}:tenant_id>/unsuspend")
@admin_only
def tenants_unsuspend(tenant_id: int):
    tenant = _tenant(tenant_id)
    subscriptions.unsuspend(tenant, actor=principal(), ip=ip())
    return jsonify(dump_provisioned(Tenant.get_by_id(tenant.id)))


@bp.post(f"/tenants/<{ID}:tenant_id>/enable")
@admin_only
def tenants_enable(tenant_id: int):
    """The older name of unsuspend (kept; it now lifts the subscription's suspension too)."""
    return tenants_unsuspend(tenant_id)


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


