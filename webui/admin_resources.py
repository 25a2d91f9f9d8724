"""Provider admin, per tenant: its users and agents (enable/disable, password reset, new
link), its extensions and DIDs (allocate from / return to the pool); and the extension pool."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from models import Did, Extension, Tenant, User
from voxcast import mailer
from voxcast.numbers import pool as pool_service
from voxcast.tenants import services as tenant_service
from voxcast.numbers.pool import PoolError
from voxcast.phones import caller_id as caller_id_service
from voxcast.tenants.services import TenantError

from .admin import get_tenant
from .auth import admin_required
from .paging import Page, matching, search_arg

bp = Blueprint("admin_res", __name__, url_prefix="/admin")


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=500)])


class AllocateExtensionsForm(FlaskForm):
    count = IntegerField(_l("How many"), default=1,
                         validators=[InputRequired(), NumberRange(1, 1000)])


class AllocateDidForm(FlaskForm):
    did = SelectField(_l("DID from the pool"), coerce=int)


class RangeForm(FlaskForm):
    first = StringField(_l("From"), validators=[DataRequired(), Length(max=21)])
    last = StringField(_l("To (optional)"), validators=[Optional(), Length(max=21)])


def _ip() -> str:
    return request.remote_addr or ""


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


def _sync():
    error = pool_service.sync_pjsip(_settings())
    if error:
        flash(_("Saved, but Asterisk's extensions could not be updated: %(e)s", e=error), "error")


# -- users and agents ---------------------------------------------------------------------

@bp.route("/tenants/<int:tenant_id>/users")
@admin_required
def users(tenant_id: int):
    tenant = get_tenant(tenant_id)
    role = "agent" if request.args.get("role") == "agent" else "users"
    q = search_arg()
    page = Page.from_request(matching(tenant_service.tenant_users(tenant, role), q,
                                      User.username, User.first_name, User.last_name,
                                      User.email), 50)
    return render_template("admin/users.html", tenant=tenant, users=page.items, page=page, q=q,
                           role=role,
                           form=PasswordForm(formdata=None))


def _back(tenant: Tenant, user):
    return redirect(url_for("admin_res.users", tenant_id=tenant.id,
                            role="agent" if user.role == "agent" else None))


@bp.route("/tenants/<int:tenant_id>/users/<int:user_id>/<any(enable,disable):action>",
          methods=["POST"])
@admin_required
def set_active(tenant_id: int, user_id: int, action: str):
    tenant = get_tenant(tenant_id)
    user = _user(tenant, user_id)
    tenant_service.set_user_active(user, action == "enable", actor=current_user, ip=_ip())
    flash(_("User %(u)s enabled.", u=user.username) if action == "enable"
          else _("User %(u)s disabled; open sessions end.", u=user.username), "success")
    return _back(tenant, user)


def _user(tenant, user_id):
    try:
        return tenant_service.tenant_user(tenant, user_id)
    except TenantError:
        abort(404)


@bp.route("/tenants/<int:tenant_id>/users/<int:user_id>/password", methods=["POST"])
@admin_required
def reset_password(tenant_id: int, user_id: int):
    tenant = get_tenant(tenant_id)
    user = _user(tenant, user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        flash(_("Enter the new password."), "error")
        return _back(tenant, user)
    try:
        tenant_service.set_password(user, form.password.data, actor=current_user, ip=_ip())
    except TenantError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Password of %(u)s changed; open sessions end.", u=user.username), "success")
    return _back(tenant, user)


@bp.route("/tenants/<int:tenant_id>/users/<int:user_id>/send-link", methods=["POST"])
@admin_required
def send_link(tenant_id: int, user_id: int):
    """E-mail a link to choose a password (a new activation link for a pending account)."""
    tenant = get_tenant(tenant_id)
    user = _user(tenant, user_id)
    if not user.email:
        flash(_("%(u)s has no e-mail address.", u=user.username), "error")
    elif not user.active and not user.pending_activation:  # disabled: no link may enable it
        flash(_("%(u)s is disabled; enable the account first.", u=user.username), "error")
    else:
        token = tenant_service.issue_link(user, actor=current_user, ip=_ip())
        settings = mailer.MailSettings.from_env()
        base = mailer.tenant_base_url(settings, tenant.slug, request.url_root)
        subject, body = mailer.activation_message(tenant.name, user.username,
                                                  f"{base}/activate/{token}",
                                                  tenant_service.ACTIVATION_HOURS)
        try:
            mailer.send(settings, user.email, subject, body)
        except mailer.MailError as exc:
            current_app.logger.error("link mail for %s failed: %s", user.username, exc)
            flash(_("The e-mail could not be sent: %(reason)s", reason=str(exc)), "error")
        else:
            flash(_("Link sent to %(email)s.", email=user.email), "success")
    return _back(tenant, user)


# -- extensions and DIDs of a tenant ------------------------------------------------------

@bp.route("/tenants/<int:tenant_id>/extensions", methods=["GET", "POST"])
@admin_required
def extensions(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = AllocateExtensionsForm()
    if form.validate_on_submit():
        try:
            numbers = pool_service.allocate_extensions(tenant, form.count.data,
                                                       actor=current_user, ip=_ip())
        except PoolError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Allocated %(n)s.", n=", ".join(numbers)), "success")
            _sync()
        return redirect(url_for("admin_res.extensions", tenant_id=tenant.id))
    q = search_arg()
    page = Page.from_request(matching(pool_service.tenant_extensions(tenant), q,
                                      Extension.number).order_by(Extension.number, Extension.id),
                             100)
    return render_template("admin/tenant_extensions.html", tenant=tenant, form=form,
                           rows=page.items, page=page, q=q,
                           free=pool_service.free_extensions().count(),
                           dids=caller_id_service.choices(tenant.id))


@bp.route("/tenants/<int:tenant_id>/extensions/<int:ext_id>/return", methods=["POST"])
@admin_required
def return_extension(tenant_id: int, ext_id: int):
    tenant = get_tenant(tenant_id)
    try:
        number = pool_service.return_extension(tenant, ext_id, actor=current_user, ip=_ip())
    except PoolError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Extension %(n)s returned to the pool.", n=number), "success")
        _sync()
    return redirect(url_for("admin_res.extensions", tenant_id=tenant.id))


@bp.route("/tenants/<int:tenant_id>/extensions/<int:ext_id>/caller-id", methods=["POST"])
@admin_required
def extension_caller_id(tenant_id: int, ext_id: int):
    """The DID the extension shows on its outside calls: one of the tenant's own."""
    from models.tenancy import get_scoped
    tenant = get_tenant(tenant_id)
    ext = get_scoped(Extension, tenant.id, ext_id)
    try:
        number = caller_id_service.set_caller_id(ext, request.form.get("caller_id"),
                                                 actor=current_user, ip=_ip())
    except caller_id_service.CallerIdError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Extension %(number)s shows %(caller_id)s on outside calls.", number=ext.number,
                caller_id=number or _("the tenant's first DID")), "success")
    return redirect(url_for("admin_res.extensions", tenant_id=tenant.id))


@bp.route("/tenants/<int:tenant_id>/dids", methods=["GET", "POST"])
@admin_required
def dids(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = AllocateDidForm()
    form.did.choices = [(d.id, d.number) for d in pool_service.free_dids()]
    if form.validate_on_submit():
        try:
            number = pool_service.allocate_did(tenant, form.did.data, actor=current_user,
                                               ip=_ip())
        except PoolError as exc:
            flash(str(exc), "error")
        else:
            flash(_("DID %(n)s allocated.", n=number), "success")
        return redirect(url_for("admin_res.dids", tenant_id=tenant.id))
    if form.is_submitted():
        flash(_("Choose a DID from the pool."), "error")
        return redirect(url_for("admin_res.dids", tenant_id=tenant.id))
    q = search_arg()
    page = Page.from_request(matching(pool_service.tenant_dids(tenant), q, Did.number)
                             .order_by(Did.number, Did.id), 100)
    return render_template("admin/tenant_dids.html", tenant=tenant, form=form,
                           rows=page.items, page=page, q=q)


@bp.route("/tenants/<int:tenant_id>/dids/<int:did_id>/return", methods=["POST"])
@admin_required
def return_did(tenant_id: int, did_id: int):
    tenant = get_tenant(tenant_id)
    try:
        number = pool_service.return_did(tenant, did_id, actor=current_user, ip=_ip())
    except PoolError as exc:
        flash(str(exc), "error")
    else:
        flash(_("DID %(n)s returned to the pool.", n=number), "success")
    return redirect(url_for("admin_res.dids", tenant_id=tenant.id))


# -- the extension pool -------------------------------------------------------------------

@bp.route("/extensions", methods=["GET", "POST"])
@admin_required
def pool():
    form = RangeForm()
    error = None
    if form.validate_on_submit():
        try:
            added = pool_service.add_extensions(form.first.data, form.last.data or "",
                                                actor=current_user, ip=_ip())
        except PoolError as exc:
            error = str(exc)
        else:
            flash(_("%(n)d extension(s) added to the pool.", n=len(added)), "success")
            return redirect(url_for("admin_res.pool"))
    q = search_arg()
    rows = matching(Extension.select(Extension, Tenant)
                    .join(Tenant, on=(Extension.tenant == Tenant.id), join_type=JOIN.LEFT_OUTER),
                    q, Extension.number, Tenant.name, Tenant.slug)
    page = Page.from_request(rows.order_by(Extension.number, Extension.id), 100)
    return render_template("admin/extension_pool.html", form=form, rows=page.items, page=page, q=q,
                           error=error), (400 if form.is_submitted() else 200)
