"""Provider admin, per tenant: its subscription (the package it is on) and what the provider
does with it: subscribe an existing tenant, renew (optionally charging the balance), change
the package (a downgrade below usage is refused with the reasons), suspend / unsuspend, sell a
top-up. Logic lives in voxcast.packages.subscriptions; the panel is also on the tenant's edit
page (admin.edit)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import Length

from models import Tenant
from models.entities import Package
from voxcast import mailer
from voxcast.billing import ledger
from voxcast.billing.ledger import BillingError
from voxcast.errors import ServiceError
from voxcast.packages import subscriptions
from voxcast.packages.errors import DowngradeRefused
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import TenantError

from .admin import apply_errors, get_tenant, languages
from .admin_packages import billing_model_label, period_label
from .auth import admin_required
from .billing import error_text

bp = Blueprint("admin_subs", __name__, url_prefix="/admin/tenants/<int:tenant_id>/subscription")

# over_limits' keys (Package columns) as the provider reads them
LIMIT_LABELS = {
    "max_users": _l("Users"), "max_agents": _l("Agents"), "max_campaigns": _l("Campaigns"),
    "max_contacts": _l("Contacts"), "disk_quota_mb": _l("Disk (MB)"),
    "channel_limit": _l("Channels"),
}
STATUS_LABELS = {"active": _l("active"), "suspended": _l("suspended"),
                 "terminated": _l("terminated")}
SUSPEND_REASONS = {"unpaid": _l("unpaid"), "provider": _l("by the provider")}


@bp.app_template_global()
def subscription_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global()
def suspend_reason_label(reason: str) -> str:
    return str(SUSPEND_REASONS.get(reason, reason))


@bp.app_template_global()
def limit_label(name: str) -> str:
    return str(LIMIT_LABELS.get(name, name))


def _package_label(p: Package) -> str:
    if p.billing_model == "topup":
        return f"{p.name} ({billing_model_label(p.billing_model)}, {p.topup_amount:.2f})"
    if p.billing_model == "payg":
        return f"{p.name} ({billing_model_label(p.billing_model)})"
    return f"{p.name} ({billing_model_label(p.billing_model)}, {period_label(p.period)}, " \
           f"{p.price:.2f})"


def package_choices(topup: bool, current: int | None = None):
    """Packages on sale of one kind (and the current one, even if no longer sold)."""
    query = Package.select().where(
        (Package.billing_model == "topup") if topup else (Package.billing_model != "topup"))
    return [(p.id, _package_label(p)) for p in query.order_by(Package.name)
            if p.active or p.id == current]


class SubscribeForm(FlaskForm):
    package = SelectField(_l("Package"), coerce=int)
    external_id = StringField(_l("Billing front end's service id"), validators=[Length(max=255)],
                              description=_l("Optional, e.g. whmcs-42."))


class RenewForm(FlaskForm):
    reference = StringField(_l("Payment reference"), validators=[Length(max=200)],
                            description=_l("The invoice or payment of the billing front end."))
    charge_balance = BooleanField(
        _l("Charge the price to the prepaid balance"),
        description=_l("Otherwise the renewal is recorded as paid through the billing front "
                       "end (a ledger row of amount 0)."))


class ChangeForm(FlaskForm):
    package = SelectField(_l("New package"), coerce=int)
    when = RadioField(_l("When"), default="", choices=[
        ("", _l("As the new package's downgrade policy says (upgrades at once)")),
        ("now", _l("Now")),
        ("next_renewal", _l("At the next renewal"))])


class TopupForm(FlaskForm):
    package = SelectField(_l("Top-up package"), coerce=int)
    reference = StringField(_l("Payment reference"), validators=[Length(max=200)])


def forms_for(tenant: Tenant, subscription) -> dict:
    current = subscription.package_id if subscription else None
    subscribe = SubscribeForm(formdata=None, prefix="sub")
    subscribe.package.choices = package_choices(False)
    change = ChangeForm(formdata=None, prefix="chg")
    change.package.choices = [c for c in package_choices(False, current) if c[0] != current]
    topup = TopupForm(formdata=None, prefix="top")
    topup.package.choices = package_choices(True)
    return {"subscribe_form": subscribe, "renew_form": RenewForm(formdata=None, prefix="ren"),
            "change_form": change, "topup_form": topup}


def panel(tenant: Tenant, **extra) -> dict:
    """What admin/_subscription.html needs: the subscription (or None) and its forms."""
    subscription = subscriptions.current(tenant)
    return {"subscription": subscription, "sub_tenant": tenant,
            **forms_for(tenant, subscription), **extra}


def _ip() -> str:
    return request.remote_addr or ""


def provision(form, admin: tenant_service.NewAdmin) -> str | None:
    """The admin's "new client" form with a package chosen: the tenant provisioned on it
    (subscriptions.provision: tenant, admin, subscription, the login e-mailed), then the
    opening balance, if any, credited. The error to show, or None (flashed) when done."""
    try:
        opening = tenant_service.parse_balance(form.balance.data)
    except TenantError as exc:
        return apply_errors(form, exc)
    try:
        done = subscriptions.provision(
            form.package.data, form.profile(), admin, languages=languages(),
            mail_settings=mailer.MailSettings.from_env(), base_url=request.url_root,
            actor=current_user, ip=_ip())
    except TenantError as exc:
        return apply_errors(form, exc)
    except ServiceError as exc:
        if isinstance(getattr(exc, "errors", None), dict) and "package_id" in exc.errors:
            exc.errors["package"] = exc.errors.pop("package_id")
        return apply_errors(form, exc)
    if opening > 0:
        ledger.credit(done.tenant.id, opening, "opening", "Opening balance",
                      entered_by=current_user.id)
    flash(_("Tenant '%(name)s' created on the package '%(package)s'.", name=done.tenant.name,
            package=done.subscription.package.name), "success")
    if done.mail_error:
        flash(_("The tenant was created, but the e-mail could not be sent: %(reason)s. "
                "Check the SMTP settings, then send the link again from Manage users.",
                reason=done.mail_error), "error")
    elif admin.notify != "none":
        flash(_("E-mail sent to %(email)s.", email=done.user.email), "success")
    return None


def _back(tenant: Tenant):
    """Back to the page the form was on: the tenant's edit page or its subscription page."""
    if request.form.get("back") == "edit":
        return redirect(url_for("admin.edit", tenant_id=tenant.id))
    return redirect(url_for(".show", tenant_id=tenant.id))


def _refused(exc: Exception) -> str:
    return error_text(exc) if isinstance(exc, BillingError) else str(exc)


def _act(tenant: Tenant, work, done):
    """Run one subscription action; flash its refusal, or done(result) on success, and go
    back to the page the form was on."""
    try:
        result = work()
    except ServiceError as exc:
        flash(_refused(exc), "error")
    else:
        flash(done(result), "success")
    return _back(tenant)


@bp.route("/")
@admin_required
def show(tenant_id: int):
    tenant = get_tenant(tenant_id)
    return render_template("admin/subscription.html", tenant=tenant, **panel(tenant))


@bp.route("/subscribe", methods=["POST"])
@admin_required
def subscribe(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = SubscribeForm(prefix="sub")
    form.package.choices = package_choices(False)
    if not form.validate_on_submit():
        flash(_("Choose a package from the list."), "error")
        return _back(tenant)
    return _act(tenant, lambda: subscriptions.subscribe(
        tenant, form.package.data, external_id=(form.external_id.data or "").strip(),
        actor=current_user, ip=_ip()),
        lambda sub: _("'%(tenant)s' is now on the package '%(package)s'; its rate plan, "
                      "limits and features are the package's.",
                      tenant=tenant.name, package=sub.package.name))


@bp.route("/renew", methods=["POST"])
@admin_required
def renew(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = RenewForm(prefix="ren")
    if not form.validate_on_submit():
        flash(_("The payment reference is too long."), "error")
        return _back(tenant)
    return _act(tenant, lambda: subscriptions.renew(
        tenant, reference=(form.reference.data or "").strip(),
        charge_balance=bool(form.charge_balance.data), actor=current_user, ip=_ip()),
        lambda sub: _("Subscription renewed: paid through %(end)s.",
                      end=sub.period_end.strftime("%Y-%m-%d")))


@bp.route("/package", methods=["POST"])
@admin_required
def change(tenant_id: int):
    tenant = get_tenant(tenant_id)
    subscription = subscriptions.current(tenant)
    form = ChangeForm(prefix="chg")
    current = subscription.package_id if subscription else None
    form.package.choices = [c for c in package_choices(False, current) if c[0] != current]
    if not form.validate_on_submit():
        flash(_("Choose a package from the list."), "error")
        return _back(tenant)
    try:
        result = subscriptions.change_package(tenant, form.package.data,
                                              when=form.when.data or None,
                                              actor=current_user, ip=_ip())
    except DowngradeRefused as exc:
        package = Package.get_or_none(Package.id == form.package.data)
        return render_template("admin/subscription.html", tenant=tenant,
                               **panel(tenant, refused=exc, refused_package=package)), 409
    except ServiceError as exc:
        flash(_refused(exc), "error")
    else:
        name = result.subscription.package.name
        if result.applied:
            flash(_("Package changed to '%(package)s': its rate plan, limits and features "
                    "apply now; all data is kept.", package=name), "success")
        else:
            flash(_("The change to '%(package)s' takes effect at the next renewal, "
                    "%(date)s.", package=result.subscription.pending_package.name
                    if result.subscription.pending_package_id else name,
                    date=result.effective_at.strftime("%Y-%m-%d")), "success")
    return _back(tenant)


@bp.route("/suspend", methods=["POST"])
@admin_required
def suspend(tenant_id: int):
    tenant = get_tenant(tenant_id)
    return _act(tenant, lambda: subscriptions.suspend(
        tenant, reason="provider", actor=current_user, ip=_ip()),
        lambda _result: _("Tenant '%(name)s' suspended: logins refused, campaigns paused, "
                          "live calls ended.", name=tenant.name))


@bp.route("/unsuspend", methods=["POST"])
@admin_required
def unsuspend(tenant_id: int):
    tenant = get_tenant(tenant_id)
    return _act(tenant, lambda: subscriptions.unsuspend(tenant, actor=current_user, ip=_ip()),
                lambda _result: _("Tenant '%(name)s' unsuspended; its campaigns stay paused "
                                  "until it resumes them.", name=tenant.name))


@bp.route("/topup", methods=["POST"])
@admin_required
def topup(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = TopupForm(prefix="top")
    form.package.choices = package_choices(True)
    if not form.validate_on_submit():
        flash(_("Choose a top-up package from the list."), "error")
        return _back(tenant)
    return _act(tenant, lambda: subscriptions.topup(
        tenant, form.package.data, reference=(form.reference.data or "").strip(),
        actor=current_user, ip=_ip()),
        lambda entry: _("%(amount)s credited to the balance of '%(name)s'; the balance is "
                        "now %(balance)s.", amount=f"{entry.amount:.2f}", name=tenant.name,
                        balance=f"{entry.balance_after:.2f}"))
