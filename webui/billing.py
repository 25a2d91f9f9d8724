"""The tenant's billing pages: payment history and balance, its rate plan (read-only),
the low-balance warning, cost report per day / per campaign, charges as CSV."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from models import Tenant
from models.entities import Rate as RateRow
from voxcast.billing import ledger, notify, plans, reports

from .auth import current_tenant_id, tenant_required
from .paging import Page
from .viewer import request_period, viewer_zone

bp = Blueprint("billing", __name__, url_prefix="/billing")
BILLING_ROLES = ("tenant", "supervisor")
KIND_LABELS = {
    "opening": _l("Opening balance"), "payment": _l("Payment"), "topup": _l("Top-up"),
    "charge": _l("Charge"), "call": _l("Call"), "sms": _l("SMS"), "fax": _l("Fax"),
    "email": _l("E-mail"), "did_fee": _l("DID fee"), "refund": _l("Refund"),
    "adjustment": _l("Adjustment"), "free_credit": _l("Free credit"),
    "free_minutes": _l("Free minutes"),
}


@bp.app_template_global()
def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


class ThresholdForm(FlaskForm):
    threshold = StringField(_l("Warn me by e-mail when the balance falls below"),
                            validators=[DataRequired()],
                            description=_l("0 turns the warning off. One e-mail is sent each "
                                           "time the balance crosses below it."))


def error_text(exc: ledger.BillingError) -> str:
    """The ledger's refusal in the user's language (its field name translated too)."""
    params = dict(exc.params)
    name = params.get("field")
    if isinstance(name, str):
        params.update(field=_(name))
    return _(exc.template, **params)


def _tenant() -> Tenant:
    """The user's own tenant row (the session's tenant id, never one from the request)."""
    return Tenant.get_by_id(current_tenant_id())


@bp.route("/")
@tenant_required(roles=BILLING_ROLES)
def index():
    tenant = _tenant()
    kinds = ledger.CREDIT_KINDS if request.args.get("show") == "payments" else None
    return render_template("billing/index.html", tenant=tenant,
                           available=ledger.available(tenant.id),
                           buckets=ledger.buckets(tenant.id),
                           page=Page.from_request(reports.statement(tenant.id, kinds), 50),
                           show=request.args.get("show", ""))


@bp.route("/rates")
@tenant_required(roles=BILLING_ROLES)
def rates():
    tenant = _tenant()
    plan = plans.plan_of_tenant(tenant.id)
    query = RateRow.select().where(RateRow.plan == (plan.id if plan else 0)) \
        .order_by(RateRow.prefix)
    search = (request.args.get("q") or "").strip()
    if search:
        digits = plans.normalize_prefix(search)
        query = query.where(RateRow.prefix.startswith(digits) if digits.isdigit()
                            else RateRow.description.contains(search))
    return render_template("billing/rates.html", plan=plan, q=search,
                           page=Page.from_request(query, 100))


@bp.route("/settings", methods=["GET", "POST"])
@tenant_required(roles=("tenant",))
def settings():
    tenant = _tenant()
    form = ThresholdForm()
    if request.method == "GET":
        form.threshold.data = f"{tenant.low_balance_threshold:.2f}"
    error = None
    if form.validate_on_submit():
        try:
            notify.set_threshold(tenant, form.threshold.data, actor=current_user,
                                 ip=request.remote_addr or "")
        except ledger.BillingError as exc:
            error = error_text(exc)
        else:
            flash(_("Low-balance warning saved."), "success")
            return redirect(url_for(".index"))
    return render_template("billing/settings.html", form=form, tenant=tenant, error=error), \
        (400 if form.is_submitted() else 200)


@bp.route("/report")
@tenant_required(roles=BILLING_ROLES)
def report():
    tid = current_tenant_id()
    period = reports.Period.parse(request.args.get("start"), request.args.get("end"))
    by = "campaign" if request.args.get("by") == "campaign" else "day"
    rows = reports.per_campaign(tid, period) if by == "campaign" else reports.per_day(tid, period)
    messages = (reports.message_charges_per_campaign(tid, period) if by == "campaign"
                else reports.message_charges_per_day(tid, period))
    return render_template("billing/report.html", period=period, rows=rows, by=by,
                           total=reports.grand_total(rows), message_rows=messages,
                           message_total=reports.message_grand_total(messages))


@bp.route("/charges.csv")
@tenant_required(roles=BILLING_ROLES)
def charges_csv():
    period = request_period()  # local days of the viewer, as the times in the file
    body = reports.charges_csv(current_tenant_id(), period, viewer_zone())
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="charges-{period.start}-{period.end}.csv"'})
