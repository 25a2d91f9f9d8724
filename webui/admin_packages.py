"""Provider admin: the package catalogue (what the provider sells): list with subscriber
counts, create, edit, deactivate / activate, delete while unused. Logic lives in
voxcast.packages.catalogue."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN, fn
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from models import RatePlan
from models.entities import FEATURES, Package, Subscription
from voxcast.errors import ServiceError
from voxcast.packages import catalogue
from voxcast.tenants import features

from .admin import apply_errors
from .admin_capabilities import CheckboxesField
from .auth import admin_required
from .paging import Page, matching, search_arg

bp = Blueprint("admin_packages", __name__, url_prefix="/admin/packages")

BILLING_MODEL_LABELS = {
    "payg": _l("Pay as you go"),
    "subscription": _l("Subscription"),
    "usage": _l("Usage quota"),
    "topup": _l("Top-up"),
}
BILLING_MODEL_HELP = {
    "payg": _l("Calls and messages are charged from the prepaid balance by the rate plan; "
               "the service does not expire at the end of a period."),
    "subscription": _l("A price per period, renewed by the billing front end; free credit or "
                       "free minutes are granted each period."),
    "usage": _l("Like a subscription, plus minutes, messages, fax pages and e-mails included "
                "each period; beyond them the package's rate plan prices the overage."),
    "topup": _l("Not a subscription: each purchase credits the top-up amount to the "
                "balance."),
}
PERIOD_LABELS = {"monthly": _l("Monthly"), "quarterly": _l("Quarterly"),
                 "yearly": _l("Yearly")}
ROLLOVER_LABELS = {"reset": _l("Reset: what is left of the last period expires"),
                   "keep": _l("Keep: the new period's grant is added to what is left")}
DOWNGRADE_LABELS = {"refuse": _l("Refuse a downgrade below the tenant's current usage, "
                                 "with the reasons"),
                    "next_renewal": _l("Schedule it for the next renewal (checked again "
                                       "then)")}

# The columns the form edits, in PackageInput's names (rate_plan is the plan's id there).
TEXT_FIELDS = ("name", "description", "billing_model", "period", "price", "setup_fee",
               "free_credit", "free_rollover", "topup_amount", "downgrade_policy")
COUNT_FIELDS = ("channel_limit", "max_users", "max_agents", "max_campaigns", "max_contacts",
                "disk_quota_mb", "free_minutes", "included_minutes", "included_messages",
                "included_pages", "included_emails", "grace_days", "terminate_days")


@bp.app_template_global()
def billing_model_label(model: str) -> str:
    return str(BILLING_MODEL_LABELS.get(model, model))


@bp.app_template_global()
def period_label(period: str) -> str:
    return str(PERIOD_LABELS.get(period, period))


def _count(label, description=None, minimum=0):
    return IntegerField(label, description=description,
                        validators=[InputRequired(), NumberRange(minimum, 100_000_000)])


def _money(label, description=None):
    return StringField(label, default="0.00", description=description,
                       validators=[Length(max=20)])


class PackageForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    # resources & limits
    rate_plan = SelectField(_l("Rate plan"), coerce=int,
                            description=_l("Prices the calls and messages (and, for a usage "
                                           "quota, everything beyond the included units)."))
    channel_limit = _count(_l("Channel limit"), minimum=1)
    max_users = _count(_l("Maximum users"))
    max_agents = _count(_l("Maximum agents"))
    max_campaigns = _count(_l("Maximum campaigns"))
    max_contacts = _count(_l("Maximum contacts"))
    disk_quota_mb = _count(_l("Disk quota (MB)"))
    features = CheckboxesField(_l("Features"))
    # billing
    billing_model = RadioField(_l("Billing model"), default="subscription",
                               choices=[(m, BILLING_MODEL_LABELS[m]) for m in BILLING_MODEL_LABELS])
    period = SelectField(_l("Period"), default="monthly",
                         choices=[(p, PERIOD_LABELS[p]) for p in PERIOD_LABELS])
    price = _money(_l("Price per period"),
                   _l("Invoiced and collected by the billing front end (WHMCS); voxcast "
                      "records each renewal in the ledger. For a top-up: what the customer "
                      "pays."))
    setup_fee = _money(_l("Set-up fee"), _l("Invoiced once by the billing front end; recorded "
                                           "in the ledger when the tenant is provisioned."))
    free_credit = _money(_l("Free credit per period"))
    free_minutes = _count(_l("Free minutes per period"))
    free_rollover = RadioField(_l("At renewal, unused free credit and minutes"),
                               default="reset",
                               choices=[(k, ROLLOVER_LABELS[k]) for k in ROLLOVER_LABELS])
    included_minutes = _count(_l("Included minutes"))
    included_messages = _count(_l("Included SMS messages"))
    included_pages = _count(_l("Included fax pages"))
    included_emails = _count(_l("Included e-mails"))
    topup_amount = _money(_l("Top-up amount"),
                          _l("Credited to the tenant's balance per purchase."))
    grace_days = _count(_l("Grace days"),
                        _l("Unpaid past the end of the period: suspended after this many "
                           "days."))
    terminate_days = _count(_l("Days before termination"),
                            _l("Counted from the end of the unpaid period: the tenant and "
                               "all its data are deleted then, not before."))
    downgrade_policy = RadioField(_l("Downgrades"), default="refuse",
                                  choices=[(k, DOWNGRADE_LABELS[k]) for k in DOWNGRADE_LABELS])

    def fill_choices(self):
        self.rate_plan.choices = [(0, _("— none —"))] + [
            (p.id, p.name) for p in RatePlan.select().order_by(RatePlan.name)]
        self.features.choices = [(name, _(features.label(name))) for name in FEATURES]

    def fill_from(self, package: Package):
        self.rate_plan.data = package.rate_plan_id or 0
        self.features.data = [n for n in (package.features or "").split() if n in FEATURES]

    def data_in(self) -> catalogue.PackageInput:
        values = {name: getattr(self, name).data for name in TEXT_FIELDS + COUNT_FIELDS}
        values["description"] = values["description"] or ""
        values["rate_plan_id"] = self.rate_plan.data or None
        values["features"] = " ".join(n for n in FEATURES if n in (self.features.data or []))
        return catalogue.PackageInput(**values)


def get_package(package_id: int) -> Package:
    package = Package.get_or_none(Package.id == package_id)
    if package is None:
        abort(404)
    return package


def subscriber_counts(column=Subscription.package) -> dict[int, int]:
    """Package id -> how many subscriptions are on it (or, by pending_package, will be)."""
    rows = (Subscription.select(column, fn.COUNT(Subscription.id).alias("n"))
            .where(column.is_null(False)).group_by(column).tuples())
    return {package_id: n for package_id, n in rows}


def _errors(form, exc: ServiceError) -> str | None:
    """The service's field errors next to the form's fields (its rate_plan_id is our
    rate_plan)."""
    if isinstance(getattr(exc, "errors", None), dict) and "rate_plan_id" in exc.errors:
        exc.errors["rate_plan"] = exc.errors.pop("rate_plan_id")
    return apply_errors(form, exc)


def _ip() -> str:
    return request.remote_addr or ""


@bp.route("/")
@admin_required
def index():
    q = search_arg()
    rows = matching(Package.select(Package, RatePlan).join(RatePlan, JOIN.LEFT_OUTER), q,
                    Package.name, Package.description) \
        .order_by(Package.active.desc(), Package.name, Package.id)
    page = Page.from_request(rows, 50)
    return render_template("admin/packages.html", packages=page.items, page=page, q=q,
                           counts=subscriber_counts(),
                           pending=subscriber_counts(Subscription.pending_package))


def _render_form(form, package, error, status):
    return render_template("admin/package_form.html", form=form, package=package, error=error,
                           help=BILLING_MODEL_HELP), status


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    form = PackageForm()
    form.fill_choices()
    if request.method == "GET":
        plan = RatePlan.get_or_none(RatePlan.is_default == True)  # noqa: E712
        form.rate_plan.data = plan.id if plan else 0
        form.features.data = list(FEATURES)
        for name in COUNT_FIELDS:  # the model's defaults, so a blank form is a sane package
            getattr(form, name).data = Package._meta.fields[name].default
    error = None
    if form.validate_on_submit():
        try:
            package = catalogue.create_package(form.data_in(), actor=current_user, ip=_ip())
        except ServiceError as exc:
            error = _errors(form, exc)
        else:
            flash(_("Package '%(name)s' created.", name=package.name), "success")
            return redirect(url_for(".index"))
    return _render_form(form, None, error, 400 if form.is_submitted() else 200)


@bp.route("/<int:package_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(package_id: int):
    package = get_package(package_id)
    form = PackageForm(obj=package)
    form.fill_choices()
    if request.method == "GET":
        form.fill_from(package)
    error = None
    if form.validate_on_submit():
        try:
            catalogue.update_package(package, form.data_in(), actor=current_user, ip=_ip())
        except ServiceError as exc:
            error = _errors(form, exc)
        else:
            flash(_("Package '%(name)s' saved. Its subscribers get the new limits and "
                    "features at their next change or renewal.", name=form.name.data)
                  if subscriber_counts().get(package.id) else
                  _("Package '%(name)s' saved.", name=form.name.data), "success")
            return redirect(url_for(".index"))
    return _render_form(form, package, error, 400 if form.is_submitted() else 200)


def _act(work, done: str):
    """Run one catalogue action; flash its refusal or the done message, back to the list."""
    try:
        work()
    except ServiceError as exc:
        flash(str(exc), "error")
    else:
        flash(done, "success")
    return redirect(url_for(".index"))


def _set_active(package: Package, active: bool):
    return lambda: catalogue.update_package(package, catalogue.PackageInput(active=active),
                                            actor=current_user, ip=_ip())


@bp.route("/<int:package_id>/deactivate", methods=["POST"])
@admin_required
def deactivate(package_id: int):
    package = get_package(package_id)
    return _act(_set_active(package, False),
                _("Package '%(name)s' deactivated: it is no longer sold; its subscribers "
                  "keep it.", name=package.name))


@bp.route("/<int:package_id>/activate", methods=["POST"])
@admin_required
def activate(package_id: int):
    package = get_package(package_id)
    return _act(_set_active(package, True),
                _("Package '%(name)s' is sold again.", name=package.name))


@bp.route("/<int:package_id>/delete", methods=["POST"])
@admin_required
def delete(package_id: int):
    package = get_package(package_id)
    return _act(lambda: catalogue.delete_package(package, actor=current_user, ip=_ip()),
                _("Package '%(name)s' deleted.", name=package.name))
