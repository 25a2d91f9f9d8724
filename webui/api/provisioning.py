"""/api/v1 provisioning, for a billing front end (the WHMCS module) with the provider's key:
packages, a tenant's subscription, terminate, package change, password, renew, payments,
top-ups, usage, single sign-on; and for a tenant's key its own subscription and usage.
Thin: each calls voxcast.packages (catalogue, subscriptions, usage), voxcast.billing.ledger,
voxcast.tenants.services or voxcast.accounts.sso. (Create, suspend and unsuspend are in
tenants.py with the other tenant resources.)"""
from __future__ import annotations

from flask import current_app, jsonify, request

from models import Tenant, User
from models.entities import LedgerEntry, Package
from voxcast import mailer
from voxcast.accounts import sso
from voxcast.billing import ledger
from voxcast.numbers import pool as pool_service
from voxcast.packages import catalogue, subscriptions, usage as usage_service
from voxcast.packages.errors import DowngradeRefused, NoSubscription
from voxcast.reports.period import PeriodError, ReportPeriod, zone_of
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import TenantError

from . import ID, ApiError, admin_only, body, bp, idempotent, ip, paginate, principal
from .frontapi import dump_entry
from .provisioning_spec import (PACKAGE_CHANGE, PACKAGE_CREATE, PACKAGE_UPDATE,
                                PASSWORD_CHANGE, PAYMENT, PAYMENT_KINDS, RENEW, SSO, TOPUP)
from .tenants import _tenant, optional_body, refused


# -- packages -------------------------------------------------------------------------------

def dump_package(p: Package) -> dict:
    return {**catalogue.as_dict(p), "subscribers": catalogue.subscribers(p)}


def _package(package_id: int) -> Package:
    package = Package.get_or_none(Package.id == package_id)
    if package is None:
        raise ApiError(404, "not-found", "Not found.")
    return package


@bp.get("/packages")
@admin_only
def packages_list():
    active = request.args.get("active", "").lower() in ("1", "true", "yes")
    return paginate(catalogue.packages(active_only=active), dump_package)


@bp.post("/packages")
@admin_only
def packages_create():
    data = catalogue.PackageInput.from_dict(body(PACKAGE_CREATE))
    package = catalogue.create_package(data, actor=principal(), ip=ip())
    return jsonify(dump_package(package)), 201


@bp.get(f"/packages/<{ID}:package_id>")
@admin_only
def packages_get(package_id: int):
    return jsonify(dump_package(_package(package_id)))


@bp.patch(f"/packages/<{ID}:package_id>")
@admin_only
def packages_update(package_id: int):
    package = _package(package_id)
    data = catalogue.PackageInput.from_dict(body(PACKAGE_UPDATE))
    catalogue.update_package(package, data, actor=principal(), ip=ip())
    return jsonify(dump_package(_package(package_id)))


@bp.delete(f"/packages/<{ID}:package_id>")
@admin_only
def packages_delete(package_id: int):
    catalogue.delete_package(_package(package_id), actor=principal(), ip=ip())
    return "", 204


# -- a tenant's subscription ----------------------------------------------------------------

def _subscription_of(tenant: Tenant) -> dict:
    sub = subscriptions.current(tenant)
    if sub is None:
        raise NoSubscription()
    return subscriptions.as_dict(sub)


@bp.get(f"/tenants/<{ID}:tenant_id>/subscription")
@admin_only
def tenant_subscription(tenant_id: int):
    return jsonify(_subscription_of(_tenant(tenant_id)))


@bp.post(f"/tenants/<{ID}:tenant_id>/terminate")
@admin_only
def tenant_terminate(tenant_id: int):
    """Delete the tenant and all its data now; its extensions' SIP accounts go with it."""
    tenant = _tenant(tenant_id)
    settings = current_app.config["VOXCAST_SETTINGS"]
    try:
        subscriptions.terminate(tenant, settings.sounds_dir, actor=principal(), ip=ip())
    except TenantError as exc:
        raise refused(exc, 409) from None
    pool_service.sync_pjsip(settings)
    return jsonify(id=tenant_id, terminated=True)


@bp.post(f"/tenants/<{ID}:tenant_id>/package")
@admin_only
def tenant_package(tenant_id: int):
    tenant = _tenant(tenant_id)
    data = body(PACKAGE_CHANGE)
    try:
        result = subscriptions.change_package(tenant, data["package_id"], when=data.get("when"),
                                              actor=principal(), ip=ip())
    except DowngradeRefused as exc:
        raise ApiError(exc.status, exc.code, str(exc), exc.over) from None
    return jsonify(subscription=subscriptions.as_dict(result.subscription),
                   applied=result.applied,
                   effective_at=result.effective_at.isoformat(timespec="seconds") + "Z")


def _user_of(tenant: Tenant, username: str | None) -> User:
    """The named user of the tenant, else its first admin (role tenant)."""
    query = User.select().where(User.tenant == tenant.id)
    if username:
        user = query.where(User.username == username).first()
        field = "username"
    else:
        user = query.where(User.role == "tenant").order_by(User.id).first()
        field = "body"
    if user is None:
        raise ApiError(422, "validation", "No such user in this tenant.",
                       {field: "no such user in this tenant"})
    return user


@bp.post(f"/tenants/<{ID}:tenant_id>/password")
@admin_only
def tenant_password(tenant_id: int):
    tenant = _tenant(tenant_id)
    data = body(PASSWORD_CHANGE)
    user = _user_of(tenant, data.get("username"))
    try:
        tenant_service.set_password(user, data["password"], actor=principal(), ip=ip())
    except TenantError as exc:
        raise refused(exc) from None
    return jsonify(tenant_id=tenant.id, user_id=user.id, username=user.username)


@bp.post(f"/tenants/<{ID}:tenant_id>/renew")
@admin_only
def tenant_renew(tenant_id: int):
    tenant = _tenant(tenant_id)
    data = optional_body(RENEW)
    sub = subscriptions.renew(tenant, reference=data.get("reference", ""),
                              charge_balance=data.get("charge_balance", False),
                              actor=principal(), ip=ip())
    return jsonify(subscriptions.as_dict(sub))


# -- money ------------------------------------------------------------------------------

@bp.get(f"/tenants/<{ID}:tenant_id>/payments")
@admin_only
def tenant_payments(tenant_id: int):
    tenant = _tenant(tenant_id)
    query = (LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                        LedgerEntry.kind.in_(PAYMENT_KINDS))
             .order_by(LedgerEntry.id.desc()))
    return paginate(query, dump_entry)


@bp.post(f"/tenants/<{ID}:tenant_id>/payments")
@admin_only
def tenant_payment_create(tenant_id: int):
    """A payment taken by the front end: credited to the balance (ledger; payment.received)."""
    tenant = _tenant(tenant_id)
    data = body(PAYMENT)
    entry = ledger.credit(tenant.id, data["amount"], data.get("kind", "payment"),
                          reference=data["reference"], entered_by=principal().id,
                          once=idempotent.work_ref())
    return jsonify(dump_entry(entry)), 201


@bp.post(f"/tenants/<{ID}:tenant_id>/topups")
@admin_only
def tenant_topup(tenant_id: int):
    tenant = _tenant(tenant_id)
    data = body(TOPUP)
    entry = subscriptions.topup(tenant, data["package_id"], reference=data.get("reference", ""),
                                actor=principal(), ip=ip(), once=idempotent.work_ref())
    return jsonify(dump_entry(entry)), 201


# -- usage ------------------------------------------------------------------------------

def _usage_of(tenant: Tenant):
    """?from=&to= (local days of the tenant, `to` inclusive), else the running subscription
    period, else this month so far."""
    first, last = request.args.get("from"), request.args.get("to")
    if first or last:
        try:
            period = ReportPeriod.parse(first, last, zone_of(tenant.timezone), strict=True)
        except PeriodError as exc:
            raise ApiError(400, "bad-parameter", str(exc), {"from": str(exc)}) from None
        start, end = period.since, period.until
    elif (sub := subscriptions.current(tenant)) is not None:
        start, end = subscriptions.running(sub)  # renewed ahead: still the running one
    else:
        period = ReportPeriod.parse(None, None, zone_of(tenant.timezone))
        start, end = period.since, period.until
    settings = current_app.config["VOXCAST_SETTINGS"]
    found = usage_service.usage(tenant.id, start, end, sounds_dir=settings.sounds_dir,
                                recordings_dir=settings.recordings_dir)
    return jsonify(tenant_id=tenant.id, **found.as_dict())


@bp.get(f"/tenants/<{ID}:tenant_id>/usage")
@admin_only
def tenant_usage(tenant_id: int):
    return _usage_of(_tenant(tenant_id))


# -- single sign-on ---------------------------------------------------------------------

@bp.post(f"/tenants/<{ID}:tenant_id>/sso")
@admin_only
def tenant_sso(tenant_id: int):
    """A one-use link that logs the user in at the tenant's own address."""
    tenant = _tenant(tenant_id)
    data = optional_body(SSO)
    user = _user_of(tenant, data.get("username"))
    token, expires_at = sso.issue(user, actor=principal(), ip=ip())
    base = mailer.tenant_base_url(mailer.MailSettings.from_env(), tenant.slug,
                                  request.url_root)
    return jsonify(url=f"{base}/sso/{token}",
                   expires_at=expires_at.isoformat(timespec="seconds") + "Z")


# -- a tenant's key: its own ------------------------------------------------------------

def _own_tenant() -> Tenant:
    if principal().is_admin:
        raise ApiError(403, "tenant-only", "This resource is a tenant's own: use the tenant's "
                       "key, or /tenants/{id}/... with the provider's.")
    return Tenant.get_by_id(principal().tenant_id)


@bp.get("/subscription")
def own_subscription():
    return jsonify(_subscription_of(_own_tenant()))


@bp.get("/usage")
def own_usage():
    return _usage_of(_own_tenant())

