"""Report pages: agent, disposition, queue and campaign statistics for a date range in the
viewer's time zone (each with CSV), and the report builder (choose a source, fields, filters,
grouping and sort in a form; preview the first rows without saving; save, list, rename,
delete, run and export saved reports). Views only: the figures are voxcast.reports.*.
Tenant administrators and supervisors (campaign statistics: whoever runs campaigns); the
contact-centre statistics need the agents feature, the rest the reports feature (as the
reports menu, webui/reports.py, lists them)."""
from __future__ import annotations

import json

from flask import (
    Blueprint, current_app, flash, redirect, render_template, request, url_for,
)
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user

from models import User
from models.entities import AgentDisposition, Campaign, PauseReason, Queue, SavedReport
from models.tenancy import scoped
from voxcast.reports import (
    agent_stats, builder, campaign_stats, disposition_stats, queue_stats, saved,
)
from voxcast.reports.period import ReportPeriod

from .auth import CAMPAIGN_ROLES, current_tenant_id, tenant_required
from .downloads import csv_response, report_filename
from .paging import Page, matching, search_arg
from .permissions import feature_required
from .viewer import request_period

bp = Blueprint("report_pages", __name__, url_prefix="/reports")

MANAGERS = ("tenant", "supervisor")
PREVIEW_ROWS = 50

# What the builder form shows for the whitelist's names (voxcast.reports.builder).
FIELD_LABELS = {
    "day": _l("Day"), "week": _l("Week"), "month": _l("Month"), "campaign": _l("Campaign"),
    "agent": _l("Agent"), "direction": _l("Direction"), "disposition": _l("Disposition"),
    "agent_disposition": _l("Agent disposition"), "did": _l("DID"), "number": _l("Number"),
    "started_at": _l("Started"), "answered_at": _l("Answered at"), "ended_at": _l("Ended"),
    "duration": _l("Duration"), "billsec": _l("Talk time"), "cost": _l("Cost"),
    "notes": _l("Notes"), "state": _l("State"), "pause_reason": _l("Pause reason"),
    "seconds": _l("Time"), "queue": _l("Queue"), "outcome": _l("Outcome"),
    "caller": _l("Caller"), "entered_at": _l("Entered"), "wait_seconds": _l("Wait"),
    "offers": _l("Offers"), "answered": _l("Answered"), "abandoned": _l("Abandoned"),
    "count": _l("Count"),
}
AGGREGATE_LABELS = {"sum": _l("Sum of %(what)s"), "avg": _l("Average %(what)s"),
                    "min": _l("Minimum %(what)s"), "max": _l("Maximum %(what)s")}
SOURCE_LABELS = {"calls": _l("Calls (CDRs)"), "agent_states": _l("Agent state time"),
                 "queue_calls": _l("Queue calls")}
FILTER_LABELS = {"campaign_id": _l("Campaigns"), "agent_id": _l("Agents"),
                 "queue_id": _l("Queues"), "direction": _l("Direction"),
                 "disposition": _l("Disposition"), "agent_disposition": _l("Agent disposition"),
                 "number": _l("Number contains"), "state": _l("State"),
                 "pause_reason_id": _l("Pause reasons"), "outcome": _l("Outcome")}


def label_of(name: str) -> str:
    if ":" in name:
        agg, measure = name.split(":", 1)
        what = str(FIELD_LABELS.get(measure, measure))
        if str(get_locale() or "en").startswith("en"):  # "Sum of talk time"; German nouns keep
            what = what.lower()                          # their capital ("Summe: Gesprächszeit")
        return str(AGGREGATE_LABELS[agg]) % {"what": what}
    return str(FIELD_LABELS.get(name, name))


@bp.app_template_global()
def has_endpoint(name: str) -> bool:
    """Whether another helper's page exists (the reports menu), to link it only then."""
    return name in current_app.view_functions


@bp.app_template_global()
def column_label(key: str) -> str:
    return label_of(key)


def _csv(text: str, stem: str, period: ReportPeriod):
    return csv_response(text, report_filename(stem, period, period.zone_name))


def _page(template: str, **context):
    period = context.setdefault("period", request_period())
    return render_template(template, range_args={"start": period.start.isoformat(),
                                                 "end": period.end.isoformat()}, **context)


# -- the four statistics --------------------------------------------------------------------

@bp.route("/agents")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def agents():
    period = request_period()
    return _page("reports/agents.html", period=period,
                 rows=agent_stats.report(current_tenant_id(), period))


@bp.route("/agents.csv")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def agents_csv():
    period = request_period()
    return _csv(agent_stats.to_csv(agent_stats.report(current_tenant_id(), period)),
                "agent-statistics", period)


@bp.route("/dispositions")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def dispositions():
    period = request_period()
    return _page("reports/dispositions.html", period=period,
                 rep=disposition_stats.report(current_tenant_id(), period))


@bp.route("/dispositions.csv")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def dispositions_csv():
    period = request_period()
    return _csv(disposition_stats.to_csv(disposition_stats.report(current_tenant_id(), period)),
                "disposition-statistics", period)


def _target(*, say: bool = False) -> int | None:
    """?target= service-level seconds (1-3600) for every queue; None: each queue's own target
    (also for a value that is not such a number, which the page says, as for a bad date)."""
    raw = request.args.get("target", "").strip()
    if raw.isdigit() and 1 <= int(raw) <= 3600:
        return int(raw)
    if raw and say:  # on the page; a CSV has nowhere to say it
        flash(_("The service level target was not used (%(value)s is not 1 to 3600 seconds); "
                "each queue is measured against its own.", value=raw), "error")
    return None


@bp.route("/queues")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def queues():
    period, target = request_period(), _target(say=True)
    return _page("reports/queues.html", period=period, target=target,
                 rows=queue_stats.report(current_tenant_id(), period, target=target),
                 buckets=queue_stats.ABANDON_BUCKETS)


@bp.route("/queues.csv")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def queues_csv():
    period = request_period()
    return _csv(queue_stats.to_csv(queue_stats.report(current_tenant_id(), period,
                                                      target=_target())),
                "queue-statistics", period)


@bp.route("/campaigns")
@tenant_required(roles=CAMPAIGN_ROLES)
@feature_required("reports")
def campaigns():
    period = request_period()
    return _page("reports/campaigns.html", period=period,
                 rows=campaign_stats.report(current_tenant_id(), period),
                 results=campaign_stats.RESULTS)


@bp.route("/campaigns.csv")
@tenant_required(roles=CAMPAIGN_ROLES)
@feature_required("reports")
def campaigns_csv():
    period = request_period()
    return _csv(campaign_stats.to_csv(campaign_stats.report(current_tenant_id(), period)),
                "campaign-statistics", period)


# -- the report builder ---------------------------------------------------------------------

def _ids(values) -> list[int]:
    return [int(v) for v in values if v.isdigit() and 0 < int(v) < 2**31]


def definition_from(args) -> dict:
    """The builder form's choices (?source=&f=..&g=..&sort=&desc=&flt_<name>=..) as a
    definition; builder.validate judges it."""
    source = args.get("source", "calls")
    spec = builder.SOURCES.get(source)
    definition = {"source": source, "fields": args.getlist("f"), "group_by": args.getlist("g")}
    filters = {}
    for name, f in (spec.filters.items() if spec else ()):
        key = f"flt_{name}"
        if f.kind == "text":
            value = (args.get(key) or "").strip()
            if value:
                filters[name] = value
        elif f.kind == "ids":
            values = _ids(args.getlist(key))
            if values:
                filters[name] = values
        else:
            values = [v for v in args.getlist(key) if v != "" or f.kind == "choice"]
            if values:
                filters[name] = values
    definition["filters"] = filters
    if args.get("sort"):
        definition["sort"] = [{"field": args["sort"], "desc": args.get("desc") == "1"}]
    return definition


def form_args(definition: dict) -> dict:
    """A definition as the builder form's query arguments (to open a saved report in it)."""
    args = {"source": definition.get("source", "calls"), "f": definition.get("fields", []),
            "g": definition.get("group_by", [])}
    for name, value in (definition.get("filters") or {}).items():
        args[f"flt_{name}"] = value
    for item in definition.get("sort", [])[:1]:
        args["sort"], args["desc"] = item["field"], "1" if item.get("desc") else ""
    return args


def _choices(tenant_id: int) -> dict:
    """The options of the id filters: the tenant's own rows only."""
    return {
        "campaign_id": [(c.id, c.name) for c in scoped(Campaign, tenant_id).order_by(Campaign.name)],
        "agent_id": [(u.id, u.username) for u in User.select(User.id, User.username).where(
            User.tenant == tenant_id, User.role.in_(("agent", "supervisor", "tenant")))
            .order_by(User.username)],
        "queue_id": [(q.id, q.name) for q in scoped(Queue, tenant_id).order_by(Queue.name)],
        "pause_reason_id": [(r.id, r.name) for r in
                            scoped(PauseReason, tenant_id).order_by(PauseReason.name)],
        "agent_disposition": [(d.name, d.name) for d in scoped(AgentDisposition, tenant_id)
                              .order_by(AgentDisposition.position, AgentDisposition.name)],
    }


def _builder_page(definition: dict, *, run: bool, report=None, status: int = 200):
    tenant_id = current_tenant_id()
    period = request_period()
    source = builder.SOURCES.get(definition.get("source")) or builder.CALLS
    errors, result, checked = {}, None, None
    if run:
        try:
            checked = builder.validate(definition)
            result = builder.run(tenant_id, checked, period, limit=PREVIEW_ROWS)
        except builder.BuilderError as exc:
            errors, status = exc.errors, 400
    source_name = definition.get("source") if definition.get("source") in builder.SOURCES \
        else "calls"
    fields = [(name, label_of(name)) for name in source.dims] + [("count", label_of("count"))]
    fields += [(f"{a}:{m}", label_of(f"{a}:{m}")) for m in source.measures
               for a in builder.AGGREGATES]
    return render_template(
        "reports/builder.html", definition=definition, source_name=source_name, source=source,
        sources=[(k, str(v)) for k, v in SOURCE_LABELS.items()], fields=fields,
        groupable=[(n, label_of(n)) for n, d in source.dims.items() if d.group],
        filter_labels=FILTER_LABELS, choices=_choices(tenant_id), errors=errors,
        result=result, checked=checked, label_of=label_of, period=period, report=report,
        definition_json=json.dumps(checked.as_json()) if checked else "",
        query=request.query_string.decode(), preview_rows=PREVIEW_ROWS,
        range_args={"start": period.start.isoformat(), "end": period.end.isoformat()},
    ), status


@bp.route("/builder", endpoint="builder")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def report_builder():
    """The form; with ?run=1 the preview of its first rows (nothing is saved)."""
    report = None
    if request.args.get("choose"):  # a new source: its own fields, none of the old ones
        return _builder_page({"source": request.args.get("source", "calls"), "fields": [],
                              "group_by": [], "filters": {}}, run=False)
    if request.args.get("saved", "").isdigit() and "source" not in request.args:
        report = saved.get(current_tenant_id(), int(request.args["saved"]))
        definition = json.loads(report.definition)
        return _builder_page(definition, run=True, report=report)
    if request.args.get("saved", "").isdigit():
        report = saved.get(current_tenant_id(), int(request.args["saved"]))
    return _builder_page(definition_from(request.args), run=request.args.get("run") == "1",
                         report=report)


@bp.route("/builder.csv")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def builder_csv():
    """The whole report of the form's choices, unsaved, as CSV."""
    period = request_period()
    try:
        result = builder.run(current_tenant_id(), definition_from(request.args), period)
    except builder.BuilderError:
        return _builder_page(definition_from(request.args), run=True)
    return _csv(builder.to_csv(result), "report", period)


def _posted_definition() -> dict | None:
    try:
        return json.loads(request.form.get("definition") or "")
    except ValueError:
        return None


@bp.route("/builder/save", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def builder_save():
    """Save the previewed definition under a name, or (report_id) over a saved report."""
    tenant_id = current_tenant_id()
    definition = _posted_definition()
    report_id = request.form.get("report_id", "")
    try:
        if report_id.isdigit():
            row = saved.update(tenant_id, int(report_id), definition=definition)
        else:
            row = saved.create(tenant_id, current_user, request.form.get("name"), definition)
    except builder.BuilderError as exc:
        flash(_("Not saved: %(why)s", why=str(exc)), "error")
        return redirect(url_for(".builder"))
    except saved.SavedReportError as exc:
        flash(_("Not saved: %(why)s", why=str(exc)), "error")
        return redirect(url_for(".builder", **form_args(definition or {}), run="1"))
    flash(_("Report “%(name)s” saved.", name=row.name), "success")
    return redirect(url_for(".saved_report", report_id=row.id))


@bp.route("/saved/")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def saved_list():
    q = search_arg()
    page = Page.from_request(matching(scoped(SavedReport, current_tenant_id()), q,
                                      SavedReport.name).order_by(SavedReport.name, SavedReport.id),
                             50)
    rows = page.items
    owners = {u.id: u.username for u in User.select(User.id, User.username).where(
        User.id.in_([r.owner_id for r in rows if r.owner_id]))}
    return _page("reports/saved_list.html", rows=rows, page=page, q=q, owners=owners,
                 sources={k: str(v) for k, v in SOURCE_LABELS.items()},
                 definitions={r.id: json.loads(r.definition) for r in rows})


@bp.route("/saved/<int:report_id>")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def saved_report(report_id: int):
    row = saved.get(current_tenant_id(), report_id)
    period = request_period()
    definition = json.loads(row.definition)
    result = builder.run(current_tenant_id(), definition, period, limit=1000)
    return _page("reports/saved.html", report=row, period=period, result=result,
                 edit_args=form_args(definition))


@bp.route("/saved/<int:report_id>.csv")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def saved_report_csv(report_id: int):
    row = saved.get(current_tenant_id(), report_id)
    period = request_period()
    result = builder.run(current_tenant_id(), row.definition, period)
    return _csv(builder.to_csv(result), f"report-{row.id}", period)


@bp.route("/saved/<int:report_id>/rename", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def saved_rename(report_id: int):
    try:
        row = saved.update(current_tenant_id(), report_id, name=request.form.get("name"))
        flash(_("Renamed to “%(name)s”.", name=row.name), "success")
    except saved.SavedReportError as exc:
        flash(_("Not renamed: %(why)s", why=str(exc)), "error")
    return redirect(url_for(".saved_report", report_id=report_id))


@bp.route("/saved/<int:report_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def saved_delete(report_id: int):
    row = saved.get(current_tenant_id(), report_id)
    saved.delete(current_tenant_id(), row.id)
    flash(_("Report “%(name)s” deleted.", name=row.name), "success")
    return redirect(url_for(".saved_list"))

