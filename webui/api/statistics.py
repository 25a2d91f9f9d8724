"""/api/v1/reports/agents, /dispositions, /queues, /campaigns (the statistics of a date range),
POST /api/v1/reports/builder (run a report-builder definition) and /api/v1/saved-reports
(CRUD, /{id}/run): the same figures as the report pages (voxcast.reports.*).

Days are local to `zone` (an IANA name; default the tenant's time zone), `start`/`end` are
YYYY-MM-DD (default: this month so far); a bad range is a 400 that says why, never a guess."""
from __future__ import annotations

from flask import jsonify

from models import User
from voxcast.reports import (
    agent_stats, builder, campaign_stats, disposition_stats, queue_stats, saved,
)
from voxcast.reports.period import ReportPeriod
from voxcast.reports.schemas import BUILDER_RUN, SAVED_CREATE, SAVED_UPDATE

from . import ID, body, bp, principal, query_int
from .contact_centre import _tenant_scope, agents_feature
from .periods import api_period
from .supervision import reports_feature


def _envelope(period: ReportPeriod, **data):
    return jsonify(start=period.start.isoformat(), end=period.end.isoformat(),
                   zone=period.zone_name, **data)


@bp.get("/reports/agents")
@agents_feature
def report_agents():
    """Per agent: login, ready, ringing, talk, wrap-up and pause time (per reason), offered,
    answered, missed, average speed of answer and handle time."""
    tenant_id = _tenant_scope()
    period = api_period(tenant_id)
    return _envelope(period, items=[r.as_dict() for r in agent_stats.report(tenant_id, period)])


@bp.get("/reports/dispositions")
@agents_feature
def report_dispositions():
    tenant_id = _tenant_scope()
    period = api_period(tenant_id)
    return _envelope(period, **disposition_stats.report(tenant_id, period).as_dict())


@bp.get("/reports/queues")
@agents_feature
def report_queues():
    tenant_id = _tenant_scope()
    period = api_period(tenant_id)
    target = query_int("target", None, minimum=1, maximum=3600)  # None: each queue's own
    rows = queue_stats.report(tenant_id, period, target=target)
    return _envelope(period, target=target, items=[r.as_dict() for r in rows])


@bp.get("/reports/campaigns")
@reports_feature
def report_campaigns():
    tenant_id = _tenant_scope()
    period = api_period(tenant_id)
    return _envelope(period, items=[r.as_dict() for r in campaign_stats.report(tenant_id, period)])


@bp.post("/reports/builder")
@reports_feature
def report_builder_run():
    """Run a definition without saving it."""
    tenant_id = _tenant_scope()
    data = body(BUILDER_RUN)
    period = api_period(tenant_id, data.get("start", ""), data.get("end", ""), data.get("zone", ""))
    result = builder.run(tenant_id, data["definition"], period, limit=data.get("limit"))
    return jsonify(start=period.start.isoformat(), end=period.end.isoformat(),
                   **result.as_dict())


# -- saved reports --------------------------------------------------------------------------

def _owner() -> User | None:
    """Who saved it: the user who created the key."""
    user_id = principal().id
    return User.get_or_none(User.id == user_id) if user_id else None


@bp.get("/saved-reports")
@reports_feature
def saved_reports_list():
    return jsonify(items=[saved.dump(r) for r in saved.list_reports(_tenant_scope())])


@bp.post("/saved-reports")
@reports_feature
def saved_reports_create():
    tenant_id = _tenant_scope()
    data = body(SAVED_CREATE)
    row = saved.create(tenant_id, _owner(), data["name"], data["definition"])
    return jsonify(saved.dump(row)), 201


@bp.get(f"/saved-reports/<{ID}:report_id>")
@reports_feature
def saved_reports_get(report_id: int):
    return jsonify(saved.dump(saved.get(_tenant_scope(), report_id)))


@bp.patch(f"/saved-reports/<{ID}:report_id>")
@reports_feature
def saved_reports_update(report_id: int):
    tenant_id = _tenant_scope()
    saved.get(tenant_id, report_id)  # 404 before the body is judged
    data = body(SAVED_UPDATE)
    row = saved.update(tenant_id, report_id, name=data.get("name"),
                       definition=data.get("definition"))
    return jsonify(saved.dump(row))


@bp.delete(f"/saved-reports/<{ID}:report_id>")
@reports_feature
def saved_reports_delete(report_id: int):
    saved.delete(_tenant_scope(), report_id)
    return "", 204


@bp.get(f"/saved-reports/<{ID}:report_id>/run")
@reports_feature
def saved_reports_run(report_id: int):
    tenant_id = _tenant_scope()
    row = saved.get(tenant_id, report_id)
    period = api_period(tenant_id)
    limit = query_int("limit", None, minimum=1, maximum=builder.MAX_ROWS)
    result = builder.run(tenant_id, row.definition, period, limit=limit)
    return jsonify(start=period.start.isoformat(), end=period.end.isoformat(), report_id=row.id,
                   **result.as_dict())

