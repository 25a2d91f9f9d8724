"""Provider admin, per tenant: feature permissions, capability quotas, quota usage and the
allowed calling windows (timeslots)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from models import Timeslot
from models.tenancy import scoped
from models.entities import FEATURES
from voxcast.tenants import quotas
from voxcast.tenants import features
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import TenantError
from voxcast.tenants.timeslots import WEEKDAYS

from .admin import apply_errors, get_tenant
from .auth import admin_required

bp = Blueprint("admin_caps", __name__, url_prefix="/admin/tenants/<int:tenant_id>")


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # unknown names are refused by the service, clearly
        pass


class FeaturesForm(FlaskForm):
    features = CheckboxesField(_l("Features"))


def _count(label):
    return IntegerField(label, validators=[InputRequired(), NumberRange(0, 100_000_000)])


class QuotasForm(FlaskForm):
    max_users = _count(_l("Maximum users"))
    max_agents = _count(_l("Maximum agents"))
    max_campaigns = _count(_l("Maximum campaigns"))
    max_contacts = _count(_l("Maximum contacts"))
    channel_limit = IntegerField(_l("Channel limit"),
                                 validators=[InputRequired(), NumberRange(1, 10000)])
    disk_quota_mb = _count(_l("Disk quota (MB)"))
    sms_per_second = _count(_l("SMS per second"))
    email_per_hour = _count(_l("E-mails per hour"))


class TimeslotForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=100)])
    weekdays = CheckboxesField(_l("Weekdays"), default=["0", "1", "2", "3", "4"])
    start_time = StringField(_l("From (HH:MM)"), default="09:00")
    end_time = StringField(_l("To (HH:MM)"), default="18:00")


def _ip() -> str:
    return request.remote_addr or ""


@bp.route("/features", methods=["GET", "POST"])
@admin_required
def edit_features(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = FeaturesForm()
    form.features.choices = [(name, features.label(name)) for name in FEATURES]
    if request.method == "GET":
        form.features.data = sorted(features.enabled(tenant))
    error = None
    if form.validate_on_submit():
        try:
            tenant_service.set_features(tenant, form.features.data or [], actor=current_user,
                                        ip=_ip())
        except TenantError as exc:
            error = str(exc)
        else:
            flash(_("Features of '%(name)s' saved.", name=tenant.name), "success")
            return redirect(url_for("admin_caps.edit_features", tenant_id=tenant.id))
    return render_template("admin/features.html", tenant=tenant, form=form, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/quotas", methods=["GET", "POST"])
@admin_required
def edit_quotas(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = QuotasForm(obj=tenant)
    error = None
    if form.validate_on_submit():
        try:
            tenant_service.set_quotas(tenant, {n: getattr(form, n).data
                                               for n in tenant_service.QUOTA_FIELDS},
                                      actor=current_user, ip=_ip())
        except TenantError as exc:
            error = apply_errors(form, exc)
        else:
            flash(_("Quotas of '%(name)s' saved.", name=tenant.name), "success")
            return redirect(url_for("admin_caps.usage", tenant_id=tenant.id))
    return render_template("admin/quotas.html", tenant=tenant, form=form, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/usage")
@admin_required
def usage(tenant_id: int):
    tenant = get_tenant(tenant_id)
    rows = quotas.usage(tenant, current_app.config["VOXCAST_SETTINGS"].sounds_dir)
    return render_template("admin/usage.html", tenant=tenant, rows=rows)


@bp.route("/timeslots", methods=["GET", "POST"])
@admin_required
def timeslots(tenant_id: int):
    tenant = get_tenant(tenant_id)
    form = TimeslotForm()
    form.weekdays.choices = [(str(i), _(d)) for i, d in enumerate(WEEKDAYS)]
    error = None
    if form.validate_on_submit():
        try:
            tenant_service.add_timeslot(tenant, form.name.data, "".join(form.weekdays.data or []),
                                        form.start_time.data, form.end_time.data,
                                        actor=current_user, ip=_ip())
        except TenantError as exc:
            error = str(exc)
        else:
            flash(_("Timeslot added."), "success")
            return redirect(url_for("admin_caps.timeslots", tenant_id=tenant.id))
    slots = scoped(Timeslot, tenant.id).order_by(Timeslot.start_time, Timeslot.id)
    return render_template("admin/timeslots.html", tenant=tenant, form=form, slots=slots,
                           weekdays=WEEKDAYS, error=error), (400 if form.is_submitted() else 200)


@bp.route("/timeslots/<int:slot_id>/delete", methods=["POST"])
@admin_required
def delete_timeslot(tenant_id: int, slot_id: int):
    tenant = get_tenant(tenant_id)
    try:
        tenant_service.delete_timeslot(tenant, slot_id, actor=current_user, ip=_ip())
    except TenantError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Timeslot removed."), "success")
    return redirect(url_for("admin_caps.timeslots", tenant_id=tenant.id))
