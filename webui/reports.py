"""The reports menu and the CDR summary report (answered vs unanswered calls per campaign and
per local day, as a chart, a table and CSV). Views only: the figures are
voxcast.reports.cdr_summary (the query) and voxcast.reports.cdr_totals (its folds).

The menu lists every report whose view is registered, the viewer's role may open and the
tenant's plan includes: a report added by another blueprint is one line in REPORTS."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import Campaign
from models.tenancy import get_scoped, scoped
from voxcast.reports import cdr_summary as summary_query
from voxcast.reports import cdr_totals

from .auth import CAMPAIGN_ROLES, current_tenant_id, tenant_required
from .downloads import csv_response, report_filename
from .params import arg_id
from .permissions import feature_required, has_feature
from .viewer import request_period

bp = Blueprint("reports", __name__, url_prefix="/reports")
MANAGERS = ("tenant", "supervisor")


@dataclass(frozen=True)
class Report:
    endpoint: str
    title: object  # lazy string: translated when the menu is shown
    description: object
    feature: str = ""  # the tenant feature it needs, if any
    roles: tuple[str, ...] = CAMPAIGN_ROLES


REPORTS = (
    Report("reports.cdr_summary", _l("CDR summary"),
           _l("Answered and unanswered calls per campaign and per day, as a chart and a table."),
           feature="reports"),
    Report("cdrs.index", _l("Call records (CDR detail)"),
           _l("Every call with its duration, cost, disposition and recording; filter by "
              "date, number, direction, disposition, campaign, queue and agent.")),
    Report("messages.index", _l("Message records (SMS, fax, e-mail)"),
           _l("Every SMS, fax and e-mail sent or received, with its state, segments or "
              "pages and cost; filter by date, channel, direction, campaign, state and "
              "address.")),
    Report("supervisor.live_calls", _l("Live statistics"),
           _l("Every call in progress now, with its state and duration."),
           feature="reports", roles=MANAGERS),
    Report("report_pages.agents", _l("Agent statistics"),
           _l("Per agent: login, ready, talk, wrap-up and pause time, calls offered, answered "
              "and missed, speed of answer and handle time."), feature="agents", roles=MANAGERS),
    Report("report_pages.dispositions", _l("Disposition statistics"),
           _l("Dispositions per agent and campaign, with break time."), feature="agents",
           roles=MANAGERS),
    Report("report_pages.queues", _l("Queue statistics"),
           _l("Offered, answered and abandoned calls, service level and waits per queue."),
           feature="agents", roles=MANAGERS),
    Report("report_pages.campaigns", _l("Campaign statistics"),
           _l("Per campaign: attempts, contacts reached, answers, machines, abandon rate, "
              "outcomes and cost."), feature="reports"),
    Report("report_pages.builder", _l("Report builder"),
           _l("Choose fields, filters, grouping and sort; preview, save and export."),
           feature="reports", roles=MANAGERS),
    Report("report_pages.saved_list", _l("Saved reports"),
           _l("The reports built and saved in this organisation: run, export, rename, delete."),
           feature="reports", roles=MANAGERS),
    Report("report_pages.saved_list", _l("Saved reports"),
           _l("Reports saved from the report builder: run and export them again."),
           feature="reports", roles=MANAGERS),
    Report("evaluation.summary", _l("Evaluation summary"),
           _l("Evaluation scores per agent, form and period."), feature="agents",
           roles=MANAGERS),
)


def visible_reports() -> list[Report]:
    views = current_app.view_functions
    return [r for r in REPORTS if r.endpoint in views and current_user.role in r.roles
            and (not r.feature or has_feature(r.feature))]


@bp.route("/")
@tenant_required
def index():
    return render_template("reports/index.html", reports=visible_reports())


def _summary() -> cdr_totals.Summary:
    """The period's summary; ?campaign= narrows it to one of the tenant's campaigns (another
    tenant's id: 404)."""
    period = request_period()
    tid = current_tenant_id()
    campaign_id = arg_id("campaign")
    if campaign_id:
        get_scoped(Campaign, tid, campaign_id)
    return cdr_totals.fold(period, summary_query.summary(tid, period), campaign_id)


@bp.route("/cdr-summary")
@tenant_required
@feature_required("reports")
def cdr_summary():
    summary = _summary()
    p = summary.period
    campaign_id = arg_id("campaign")
    args = {"start": p.start.isoformat(), "end": p.end.isoformat(),
            **({"campaign": campaign_id} if campaign_id else {})}
    return render_template("reports/cdr_summary.html", summary=summary, period=p,
                           campaign_id=campaign_id,
                           campaigns=scoped(Campaign, current_tenant_id()).order_by(Campaign.name),
                           data_url=url_for("reports.cdr_summary_data", **args),
                           csv_url=url_for("reports.cdr_summary_csv", **args))


@bp.route("/cdr-summary.json")
@tenant_required
@feature_required("reports")
def cdr_summary_data():
    """The chart's data (static/cdr_summary.js), the same period as the page."""
    return jsonify(cdr_totals.chart_data(_summary(), _("No campaign")))


@bp.route("/cdr-summary.csv")
@tenant_required
@feature_required("reports")
def cdr_summary_csv():
    summary = _summary()
    p = summary.period
    return csv_response([cdr_totals.CSV_HEADER, *cdr_totals.csv_rows(summary)],
                        report_filename("cdr-summary", p, p.zone_name))

