"""Provider admin: the client (tenant) list, creating, editing, suspending/enabling and force
deleting clients, and the DID pool. Logic lives in voxcast.tenants.services."""
from __future__ import annotations

import zoneinfo

import phonenumbers
from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import (IntegerField, PasswordField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from models import Did, RatePlan, Tenant
from voxcast import mailer
from voxcast.numbers import pool as pool_service
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import COMPANY_SIZES, TenantError, TenantProfile

from .auth import admin_required
from .paging import Page, matching, search_arg

PER_PAGE = 50

bp = Blueprint("admin", __name__, url_prefix="/admin")


def get_tenant(tenant_id: int) -> Tenant:
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        abort(404)
    return tenant


def apply_errors(form, exc: TenantError) -> str | None:
    """Show a service error next to its field; returns what belongs to no field."""
    general = []
    for name, message in exc.errors.items():
        field = getattr(form, name, None) if name else None
        if field is None:
            general.append(message)
        else:
            field.errors = list(field.errors) + [message]
    return " ".join(general) or None


def languages() -> dict:
    from . import LANGUAGES
    return LANGUAGES


class ProfileForm(FlaskForm):
    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=100)])
    company_size = SelectField(_l("Company size"), validators=[Optional()])
    country = SelectField(_l("Country / region"))
    email = StringField(_l("Company e-mail"), validators=[Optional(), Length(max=200)])
    timezone = SelectField(_l("Time zone"))
    language = SelectField(_l("Language"))
    rate_plan = SelectField(_l("Rate plan"), coerce=int)
    channel_limit = IntegerField(_l("Channel limit"), default=10,
                                 validators=[NumberRange(1, 10000)])
    allowed_caller_ids = TextAreaField(
        _l("Allowed caller IDs"), validators=[Optional(), Length(max=4000)],
        description=_l("Numbers besides its own DIDs that this client's campaigns may show, "
                       "in international form (+4930...), one per line."))
    blocked_prefixes = StringField(
        _l("Blocked prefixes"), validators=[Optional(), Length(max=2000)],
        description=_l("Numbers this client's phones may not call: digit prefixes separated "
                       "by spaces, e.g. 1900 for premium numbers, 44 for the UK (by country "
                       "code), 00 or 011 for any international call as dialled."))
    slug = StringField(_l("Sub-domain"), validators=[DataRequired(), Length(max=32)],
                       description=_l("Lowercase letters, digits and dashes; the tenant's "
                                      "users log in at <sub-domain>.<your domain>."))

    def fill_choices(self):
        self.company_size.choices = [("", "—")] + [(s, s) for s in COMPANY_SIZES]
        self.country.choices = sorted(
            ((r, f"{r} (+{phonenumbers.country_code_for_region(r)})")
             for r in phonenumbers.SUPPORTED_REGIONS), key=lambda c: c[0])
        self.timezone.choices = sorted(zoneinfo.available_timezones() | {"UTC"})
        self.language.choices = list(languages().items())
        self.rate_plan.choices = [(0, _("— none —"))] + [
            (p.id, p.name) for p in RatePlan.select().order_by(RatePlan.name)]

    def profile(self) -> TenantProfile:
        return TenantProfile(
            name=self.name.data or "", slug=self.slug.data or "",
            company_size=self.company_size.data or "", country=self.country.data or "",
            email=self.email.data or "", timezone=self.timezone.data or "",
            language=self.language.data or "", rate_plan_id=self.rate_plan.data or None,
            channel_limit=self.channel_limit.data,
            allowed_caller_ids=self.allowed_caller_ids.data or "",
            blocked_prefixes=self.blocked_prefixes.data or "")


class CreateForm(ProfileForm):
    balance = StringField(_l("Opening balance"), default="0.00",
                          validators=[Regexp(r"^\s*[0-9]{0,10}(\.[0-9]{0,4})?\s*$",
                                             message=_l("Enter an amount such as 25.00."))])
    admin_username = StringField(_l("Admin username"), validators=[DataRequired(),
                                                                   Length(max=150)])
    admin_password = PasswordField(_l("Admin password"), validators=[Length(max=500)],
                                   description=_l("Needed when the credentials are e-mailed."))
    admin_first_name = StringField(_l("First name"), validators=[Length(max=100)])
    admin_email = StringField(_l("Admin e-mail"), validators=[DataRequired(), Length(max=200)])
    notify = RadioField(_l("E-mail notification"), default="credentials", choices=[
        ("credentials", _l("E-mail the login (username and password)")),
        ("activation", _l("E-mail an activation link (the admin chooses the password)"))])
    package = SelectField(
        _l("Package"), coerce=int, default=0,
        description=_l("With a package, its rate plan, channel limit, quotas and features are "
                       "applied and its first period starts (the rate plan and channel limit "
                       "above are then the package's)."))

    def fill_packages(self):
        from .admin_subscriptions import package_choices
        self.package.choices = [(0, _("— none: set the plan and limits by hand —"))] + \
            package_choices(topup=False)


class DeleteForm(FlaskForm):
    confirm = StringField(_l("Type the tenant's name to confirm"),
                          validators=[DataRequired()])


@bp.route("/tenants")
@admin_required
def tenants():
    q = search_arg()
    rows = matching(Tenant.select(Tenant, RatePlan).join(RatePlan, JOIN.LEFT_OUTER),
                    q, Tenant.name, Tenant.slug).order_by(Tenant.name, Tenant.id)
    return render_template("admin/tenants.html", page=Page.from_request(rows, PER_PAGE), q=q)


def _send_welcome(created: tenant_service.Created, password: str) -> None:
    """E-mail the new admin; a failure is flashed and logged, the tenant stays."""
    settings = mailer.MailSettings.from_env()
    base = mailer.tenant_base_url(settings, created.tenant.slug, request.url_root)
    if created.activation_token:
        subject, body = mailer.activation_message(
            created.tenant.name, created.admin.username,
            f"{base}/activate/{created.activation_token}", tenant_service.ACTIVATION_HOURS)
    else:
        subject, body = mailer.credentials_message(
            created.tenant.name, created.admin.username, password, f"{base}/login")
    try:
        mailer.send(settings, created.admin.email, subject, body)
    except mailer.MailError as exc:
        current_app.logger.error("welcome mail for tenant %s failed: %s", created.tenant.slug, exc)
        flash(_("The tenant was created, but the e-mail could not be sent: %(reason)s. "
                "Check the SMTP settings, then send the link again from Manage users.",
                reason=str(exc)), "error")
    else:
        flash(_("E-mail sent to %(email)s.", email=created.admin.email), "success")


@bp.route("/tenants/new", methods=["GET", "POST"])
@admin_required
def create():
    form = CreateForm()
    form.fill_choices()
    form.fill_packages()
    if request.method == "GET":
        plan = RatePlan.get_or_none(RatePlan.is_default == True)  # noqa: E712
        form.rate_plan.data = plan.id if plan else 0
        form.timezone.data, form.country.data, form.language.data = "UTC", "US", "en"
    error = None
    if form.validate_on_submit():
        admin = tenant_service.NewAdmin(
            username=form.admin_username.data, password=form.admin_password.data or "",
            first_name=form.admin_first_name.data or "", email=form.admin_email.data,
            notify=form.notify.data)
        if form.package.data:  # provisioning: the tenant on the package, the login e-mailed
            from .admin_subscriptions import provision
            error = provision(form, admin)
            if error is None:
                return redirect(url_for("admin.tenants"))
        else:
            try:
                created = tenant_service.create_tenant(
                    form.profile(), admin, form.balance.data, languages=languages(),
                    actor=current_user, ip=request.remote_addr or "")
            except TenantError as exc:
                error = apply_errors(form, exc)
            else:
                flash(_("Tenant '%(name)s' created.", name=created.tenant.name), "success")
                _send_welcome(created, admin.password)
                return redirect(url_for("admin.tenants"))
    return render_template("admin/tenant_form.html", form=form, tenant=None, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/tenants/<int:tenant_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = ProfileForm(obj=tenant)
    form.fill_choices()
    if request.method == "GET":
        form.rate_plan.data = tenant.rate_plan_id or 0
    error = None
    if form.validate_on_submit():
        try:
            tenant_service.update_tenant(tenant, form.profile(), languages=languages(),
                                         actor=current_user, ip=request.remote_addr or "")
        except TenantError as exc:
            error = apply_errors(form, exc)
        else:
            flash(_("Tenant '%(name)s' saved.", name=tenant.name), "success")
            return redirect(url_for("admin.tenants"))
    from .admin_subscriptions import panel
    return render_template("admin/tenant_form.html", form=form, tenant=tenant, error=error,
                           **panel(tenant)), (400 if form.is_submitted() else 200)


@bp.route("/tenants/<int:tenant_id>/suspend", methods=["POST"])
@admin_required
def suspend(tenant_id: int):
    tenant = get_tenant(tenant_id)
    paused = tenant_service.suspend(tenant, actor=current_user, ip=request.remote_addr or "")
    flash(_("Tenant '%(name)s' suspended; %(n)d running campaign(s) paused.",
            name=tenant.name, n=paused), "success")
    return redirect(url_for("admin.tenants"))


@bp.route("/tenants/<int:tenant_id>/enable", methods=["POST"])
@admin_required
def enable(tenant_id: int):
    tenant = get_tenant(tenant_id)
    tenant_service.enable(tenant, actor=current_user, ip=request.remote_addr or "")
    flash(_("Tenant '%(name)s' enabled; its campaigns stay paused until it resumes them.",
            name=tenant.name), "success")
    return redirect(url_for("admin.tenants"))


@bp.route("/tenants/<int:tenant_id>/delete", methods=["GET", "POST"])
@admin_required
def delete(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = DeleteForm()
    error = None
    if form.validate_on_submit():
        try:
            tenant_service.force_delete(
                tenant, form.confirm.data, current_app.config["VOXCAST_SETTINGS"].sounds_dir,
                actor=current_user, ip=request.remote_addr or "")
        except TenantError as exc:
            error = apply_errors(form, exc)
        else:
            flash(_("Tenant '%(name)s' and all its data were deleted; its extensions and "
                    "DIDs are back in the pool.", name=tenant.name), "success")
            pool_service.sync_pjsip(current_app.config["VOXCAST_SETTINGS"])
            return redirect(url_for("admin.tenants"))
    return render_template("admin/tenant_delete.html", form=form, tenant=tenant,
                           error=error), (400 if form.is_submitted() else 200)


# -- the DID pool -------------------------------------------------------------------------

class DidForm(FlaskForm):
    number = StringField(_l("DID number"), validators=[
        DataRequired(), Regexp(r"^\+?[0-9]{3,20}$",
                               message=_l("Digits only, optionally starting with +."))])
    last = StringField(_l("…to (optional, for a range)"), validators=[
        Optional(), Regexp(r"^\+?[0-9]{3,20}$",
                           message=_l("Digits only, optionally starting with +."))])


class AssignForm(FlaskForm):
    tenant = SelectField(_l("Tenant"), coerce=int)
    greeting_text = TextAreaField(_l("Greeting text"), validators=[Optional(), Length(max=2000)])


def _tenant_choices():
    return [(0, _("— pool (unassigned) —"))] + [
        (t.id, t.name) for t in Tenant.select().order_by(Tenant.name)]


def _render_dids(form=None, status=200):
    q = search_arg()
    page = Page.from_request(
        matching(Did.select(Did, Tenant).join(Tenant, JOIN.LEFT_OUTER), q, Did.number,
                 Tenant.name, Tenant.slug).order_by(Did.number, Did.id), 100)
    dids = page.items
    forms = {}
    choices = _tenant_choices()
    for did in dids:
        f = AssignForm(formdata=None, prefix=f"d{did.id}", tenant=did.tenant_id or 0,
                       greeting_text=did.greeting_text)
        f.tenant.choices = choices
        forms[did.id] = f
    return render_template("admin/dids.html", dids=dids, page=page, q=q, forms=forms,
                           form=form or DidForm(formdata=None)), status


@bp.route("/dids", methods=["GET", "POST"])
@admin_required
def dids():
    form = DidForm()
    if form.validate_on_submit():
        number = form.number.data.strip()
        try:
            added = pool_service.add_dids(number, form.last.data or number, actor=current_user,
                                          ip=request.remote_addr or "")
        except pool_service.PoolError as exc:
            form.number.errors.append(str(exc))
        else:
            flash(_("%(n)d DID(s) added to the pool.", n=len(added)), "success")
            return redirect(url_for("admin.dids"))
    return _render_dids(form, 400 if form.is_submitted() else 200)


@bp.route("/dids/<int:did_id>/assign", methods=["POST"])
@admin_required
def assign(did_id: int):
    did = Did.get_or_none(Did.id == did_id)
    if did is None:
        abort(404)
    form = AssignForm(prefix=f"d{did.id}")
    form.tenant.choices = _tenant_choices()
    if not form.validate_on_submit():
        flash(_("Choose a tenant from the list."), "error")
        return redirect(url_for("admin.dids"))
    try:
        did = pool_service.assign_did(did.id, form.tenant.data or None, form.greeting_text.data,
                                      actor=current_user, ip=request.remote_addr or "")
    except pool_service.PoolError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.dids"))
    flash(_("DID %(n)s assigned to %(t)s.", n=did.number, t=did.tenant.name) if did.tenant_id
          else _("DID %(n)s returned to the pool.", n=did.number), "success")
    return redirect(url_for("admin.dids"))
