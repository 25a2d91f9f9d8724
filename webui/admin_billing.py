"""Provider billing: rate plans and their rates (with CSV import/export), payments and
top-ups, free credit, a tenant's statement, and charges of a period as CSV.
Logic lives in voxcast.billing."""
from __future__ import annotations

import datetime as dt

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from models import RatePlan, Tenant
from models.entities import Rate as RateRow
from voxcast.audit import records as audit
from voxcast.billing import ledger, plans, rate_import, reports
from voxcast.billing.plans import PlanError

from .admin import apply_errors
from .auth import admin_required
from .billing import error_text
from .paging import Page, matching, search_arg
from .params import arg_id
from .viewer import request_period, viewer_zone

bp = Blueprint("admin_billing", __name__, url_prefix="/admin/billing")
PER_PAGE = 100


def get_plan(plan_id: int) -> RatePlan:
    plan = RatePlan.get_or_none(RatePlan.id == plan_id)
    if plan is None:
        abort(404)
    return plan


def ip() -> str:
    return request.remote_addr or ""


# -- rate plans ----------------------------------------------------------------------------

class PlanForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = StringField(_l("Description"), validators=[Length(max=255)])
    sms_price = StringField(_l("SMS, per message"), default="0")
    fax_page_price = StringField(_l("Fax, per page"), default="0")
    email_price = StringField(_l("E-mail, per message"), default="0")
    inbound_per_minute = StringField(_l("Inbound calls, per minute"), default="0")
    did_monthly_fee = StringField(_l("DID, per month"), default="0")
    is_default = BooleanField(_l("Default plan (for tenants without a plan)"))

    def data_in(self) -> plans.PlanInput:
        return plans.PlanInput(**{k: getattr(self, k).data for k in (
            "name", "description", "sms_price", "fax_page_price", "email_price",
            "inbound_per_minute", "did_monthly_fee", "is_default")})


class RateForm(FlaskForm):
    prefix = StringField(_l("Prefix"), validators=[DataRequired(), Length(max=20)],
                         description=_l("Digits of the destination, country code first."))
    description = StringField(_l("Destination"), validators=[Length(max=255)])
    per_minute = StringField(_l("Per minute"), validators=[DataRequired()])
    connection_fee = StringField(_l("Connection fee"), default="0")
    initial_s = StringField(_l("Initial increment (s)"), default="60")
    increment_s = StringField(_l("Increment (s)"), default="60")

    def data_in(self) -> plans.RateInput:
        return plans.RateInput(self.prefix.data, self.description.data, self.per_minute.data,
                               self.connection_fee.data, self.initial_s.data,
                               self.increment_s.data)


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    mode = RadioField(_l("Existing rates"), default="merge", choices=[
        ("merge", _l("Keep them: add new prefixes, update those in the file")),
        ("replace", _l("Replace the plan's whole rate table with the file"))])
    skip_bad = BooleanField(_l("Skip bad rows and import the rest"))


@bp.route("/plans")
@admin_required
def plan_list():
    q = search_arg()
    page = Page.from_request(matching(RatePlan.select(), q, RatePlan.name)
                             .order_by(RatePlan.name, RatePlan.id), 50)
    rows = page.items
    users = {}
    for t in Tenant.select(Tenant.rate_plan).where(Tenant.rate_plan.is_null(False)):
        users[t.rate_plan_id] = users.get(t.rate_plan_id, 0) + 1
    return render_template("admin_billing/plans.html", plans=rows, counts=plans.rate_counts(),
                           users=users, page=page, q=q)


@bp.route("/plans/new", methods=["GET", "POST"])
@admin_required
def plan_new():
    form = PlanForm()
    error = None
    if form.validate_on_submit():
        try:
            plan = plans.create_plan(form.data_in(), actor=current_user, ip=ip())
        except PlanError as exc:
            error = apply_errors(form, exc)
        else:
            flash(_("Rate plan '%(name)s' created; now add its rates.", name=plan.name),
                  "success")
            return redirect(url_for(".rates", plan_id=plan.id))
    return render_template("admin_billing/plan_form.html", form=form, plan=None, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@admin_required
def plan_edit(plan_id: int):
    plan = get_plan(plan_id)
    form = PlanForm(obj=plan)
    error = None
    if form.validate_on_submit():
        try:
            plans.update_plan(plan, form.data_in(), actor=current_user, ip=ip())
        except PlanError as exc:
            error = apply_errors(form, exc)
        else:
            flash(_("Rate plan '%(name)s' saved.", name=form.name.data), "success")
            return redirect(url_for(".plan_list"))
    return render_template("admin_billing/plan_form.html", form=form, plan=plan, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/plans/<int:plan_id>/delete", methods=["POST"])
@admin_required
def plan_delete(plan_id: int):
    plan = get_plan(plan_id)
    try:
        plans.delete_plan(plan, actor=current_user, ip=ip())
    except PlanError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Rate plan '%(name)s' deleted.", name=plan.name), "success")
    return redirect(url_for(".plan_list"))


def _render_rates(plan, form, status=200, error=None):
    query = RateRow.select().where(RateRow.plan == plan.id).order_by(RateRow.prefix)
    search = (request.args.get("q") or "").strip()
    if search:
        digits = plans.normalize_prefix(search)
        query = query.where((RateRow.prefix.startswith(digits)) if digits.isdigit()
                            else RateRow.description.contains(search))
    return render_template("admin_billing/rates.html", plan=plan, form=form, error=error,
                           page=Page.from_request(query, PER_PAGE), q=search), status


@bp.route("/plans/<int:plan_id>/rates", methods=["GET", "POST"])
@admin_required
def rates(plan_id: int):
    plan = get_plan(plan_id)
    form = RateForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                rate = plans.save_rate(plan, form.data_in(), actor=current_user, ip=ip())
            except PlanError as exc:
                return _render_rates(plan, form, 400, apply_errors(form, exc))
            flash(_("Rate for %(prefix)s added.", prefix=rate.prefix), "success")
            return redirect(url_for(".rates", plan_id=plan.id))
        return _render_rates(plan, form, 400)
    return _render_rates(plan, form)


def get_rate(rate_id: int) -> RateRow:
    rate = RateRow.get_or_none(RateRow.id == rate_id)
    if rate is None:
        abort(404)
    return rate


@bp.route("/rates/<int:rate_id>/edit", methods=["GET", "POST"])
@admin_required
def rate_edit(rate_id: int):
    rate = get_rate(rate_id)
    plan = get_plan(rate.plan_id)
    form = RateForm(obj=rate)
    error = None
    if form.validate_on_submit():
        try:
            plans.save_rate(plan, form.data_in(), rate=rate, actor=current_user, ip=ip())
        except PlanError as exc:
            error = apply_errors(form, exc)
        else:
            flash(_("Rate saved."), "success")
            return redirect(url_for(".rates", plan_id=plan.id))
    return render_template("admin_billing/rate_form.html", form=form, plan=plan, rate=rate,
                           error=error), (400 if form.is_submitted() else 200)


@bp.route("/rates/<int:rate_id>/delete", methods=["POST"])
@admin_required
def rate_delete(rate_id: int):
    rate = get_rate(rate_id)
    plans.delete_rate(rate, actor=current_user, ip=ip())
    flash(_("Rate for %(prefix)s deleted.", prefix=rate.prefix), "success")
    return redirect(url_for(".rates", plan_id=rate.plan_id))


@bp.route("/plans/<int:plan_id>/import", methods=["GET", "POST"])
@admin_required
def rate_import_view(plan_id: int):
    plan = get_plan(plan_id)
    form = ImportForm()
    parsed = error = None
    if form.validate_on_submit():
        upload = form.file.data
        parsed = rate_import.parse(upload.read())
        try:
            count = rate_import.apply(plan, parsed, mode=form.mode.data,
                                      skip_bad=form.skip_bad.data, actor=current_user,
                                      ip=ip(), filename=upload.filename or "")
        except PlanError as exc:
            error = str(exc)
        else:
            flash(_("%(n)d rate(s) imported into '%(plan)s'; %(bad)d bad row(s) skipped.",
                    n=count, plan=plan.name, bad=len(parsed.errors)), "success")
            return redirect(url_for(".rates", plan_id=plan.id))
    return render_template("admin_billing/import.html", form=form, plan=plan, parsed=parsed,
                           error=error, columns=rate_import.COLUMNS), \
        (400 if form.is_submitted() else 200)


@bp.route("/plans/<int:plan_id>/rates.csv")
@admin_required
def rate_export(plan_id: int):
    plan = get_plan(plan_id)
    return Response(rate_import.export(plan), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="rates-{plan.id}.csv"'})


# -- payments ------------------------------------------------------------------------------

class PaymentForm(FlaskForm):
    tenant = SelectField(_l("Tenant"), coerce=int)
    kind = RadioField(_l("Kind"), default="payment", choices=[
        ("payment", _l("Payment (money received)")),
        ("topup", _l("Top-up (credit added, e.g. a top-up package)"))])
    amount = StringField(_l("Amount"), validators=[DataRequired()])
    reference = StringField(_l("Payment reference"), validators=[Length(max=200)],
                            description=_l("Invoice or transaction number, shown to the "
                                           "tenant."))


class FreeCreditForm(FlaskForm):
    kind = RadioField(_l("Give"), default="money", choices=[
        ("money", _l("Free credit (amount)")), ("minutes", _l("Free call minutes"))])
    amount = StringField(_l("Amount or minutes"), validators=[DataRequired()])
    expires = DateField(_l("Expires on"), validators=[Optional()],
                        description=_l("Empty: never. Free credit is used before the paid "
                                       "balance."))
    reference = StringField(_l("Reference"), validators=[Length(max=200)])


def tenant_choices():
    return [(0, _("— choose —"))] + [(t.id, f"{t.name} ({t.slug})")
                                      for t in Tenant.select().order_by(Tenant.name)]


@bp.route("/payments")
@admin_required
def payments():
    tenant_id = arg_id("tenant") or None
    query = reports.statement(tenant_id, ledger.CREDIT_KINDS)
    tenants = {t.id: t for t in Tenant.select()}
    return render_template("admin_billing/payments.html", page=Page.from_request(query, 50),
                           tenants=tenants, selected=tenant_id)


@bp.route("/payments/new", methods=["GET", "POST"])
@admin_required
def payment_new():
    form = PaymentForm()
    form.tenant.choices = tenant_choices()
    if request.method == "GET":
        form.tenant.data = arg_id("tenant") or 0
    error = None
    if form.validate_on_submit():
        try:
            with ledger.database.atomic():
                entry = ledger.credit(form.tenant.data, form.amount.data, form.kind.data,
                                      form.reference.data or "", entered_by=current_user.id)
                audit.record(f"billing.{form.kind.data}", tenant_id=entry.tenant_id,
                             user=current_user, object_type="ledger", object_id=entry.id,
                             detail=f"amount={entry.amount} reference={entry.reference}",
                             ip=ip())
        except ledger.BillingError as exc:
            error = error_text(exc)
            form.amount.errors = list(form.amount.errors) + [error]
        else:
            tenant = Tenant.get_by_id(entry.tenant_id)
            flash(_("%(amount)s credited to %(tenant)s; the balance is now %(balance)s.",
                    amount=f"{entry.amount:.2f}", tenant=tenant.name,
                    balance=f"{tenant.balance:.2f}"), "success")
            return redirect(url_for(".payments"))
    return render_template("admin_billing/payment_form.html", form=form, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/tenants/<int:tenant_id>/ledger")
@admin_required
def tenant_ledger(tenant_id: int):
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        abort(404)
    return render_template("admin_billing/ledger.html", tenant=tenant,
                           page=Page.from_request(reports.statement(tenant.id), 50),
                           available=ledger.available(tenant.id),
                           buckets=ledger.buckets(tenant.id))


@bp.route("/tenants/<int:tenant_id>/free-credit", methods=["GET", "POST"])
@admin_required
def free_credit(tenant_id: int):
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        abort(404)
    form = FreeCreditForm()
    error = None
    if form.validate_on_submit():
        expires = (dt.datetime.combine(form.expires.data, dt.time()) + dt.timedelta(days=1)
                   if form.expires.data else None)
        try:
            with ledger.database.atomic():
                if form.kind.data == "minutes":
                    try:
                        minutes = int(form.amount.data.strip())
                    except ValueError:
                        raise ledger.BillingError(_("Enter whole minutes, e.g. 100.")) \
                            from None
                    bucket = ledger.grant_free(tenant.id, seconds=minutes * 60,
                                               expires_at=expires,
                                               reference=form.reference.data or "",
                                               entered_by=current_user.id)
                else:
                    bucket = ledger.grant_free(tenant.id, amount=form.amount.data,
                                               expires_at=expires,
                                               reference=form.reference.data or "",
                                               entered_by=current_user.id)
                audit.record("billing.free_credit", tenant_id=tenant.id, user=current_user,
                             object_type="credit_bucket", object_id=bucket.id,
                             detail=f"kind={bucket.kind} amount={bucket.amount} "
                                    f"seconds={bucket.seconds} expires={expires}", ip=ip())
        except ledger.BillingError as exc:
            error = error_text(exc)
        else:
            flash(_("Free credit given to %(tenant)s.", tenant=tenant.name), "success")
            return redirect(url_for(".tenant_ledger", tenant_id=tenant.id))
    return render_template("admin_billing/free_credit.html", form=form, tenant=tenant,
                           error=error), (400 if form.is_submitted() else 200)


@bp.route("/charges.csv")
@admin_required
def charges_csv():
    period = request_period()  # local days of the viewer, as the times in the file
    tenant_id = arg_id("tenant") or None
    body = reports.charges_csv(tenant_id, period, viewer_zone())
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="charges-{period.start}-{period.end}.csv"'})


@bp.route("/report")
@admin_required
def report():
    """Costs of every tenant's calls, and SMS, fax and e-mail charges, per day for a period."""
    period = reports.Period.parse(request.args.get("start"), request.args.get("end"))
    tenant_id = arg_id("tenant") or None
    days = reports.per_day(tenant_id, period)
    messages = reports.message_charges_per_day(tenant_id, period)  # SMS, fax, e-mail
    return render_template("admin_billing/report.html", period=period, days=days,
                           total=reports.grand_total(days), selected=tenant_id,
                           tenants=Tenant.select().order_by(Tenant.name),
                           message_rows=messages,
                           message_total=reports.message_grand_total(messages))
