"""/api/v1/cdrs (the CDR detail report: filters, paging), /cdrs/{id}, /cdrs/{id}/recording
(the WAV) and /api/v1/reports/cdr-summary (answered vs unanswered per day and campaign): the
same queries as the portal's pages (voxcast.cdr.search, voxcast.reports.cdr_summary).

Days are local to `zone` (an IANA name; default the tenant's time zone); times in the answers
are UTC (ISO 8601 with Z). A filter that cannot be read is a 400 naming the parameter; another
tenant's campaign, queue, agent or call is a 404."""
from __future__ import annotations

import datetime as dt
import itertools

from flask import current_app, jsonify, request, send_file

from models import Call, Campaign
from models.tenancy import get_scoped
from voxcast.cdr import export, search
from voxcast.reports import cdr_summary, cdr_totals
from voxcast.reports.filters import local_text
from webui.downloads import csv_response, report_filename

from . import ID, ApiError, bp, paginate, query_int, scope
from .contact_centre import _tenant_scope
from .periods import api_period, api_zone
from .supervision import reports_feature

def wants_csv() -> bool:
    """?format=csv, or an Accept header that prefers text/csv to JSON."""
    fmt = request.args.get("format", "")
    if fmt not in ("", "json", "csv"):
        raise ApiError(400, "bad-parameter", "'format' must be json or csv.",
                       {"format": "must be json or csv"})
    if fmt:
        return fmt == "csv"
    return request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"


FILTER_NAMES = {"campaign": "campaign_id", "queue": "queue_id", "agent": "agent_id"}


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def dump_cdr(call: Call, names: search.CallNames) -> dict:
    return {"id": call.id, "tenant_id": call.tenant_id, "direction": call.direction,
            "number": call.number, "did": call.did,
            "started_at": _time(call.started_at), "answered_at": _time(call.answered_at),
            "ended_at": _time(call.ended_at), "duration": call.duration,
            "billsec": call.billsec, "disposition": call.disposition,
            "hangup_cause": call.hangup_cause, "cause_txt": call.cause_txt,
            "cost": export.money(call.cost),
            "campaign_id": call.campaign_id, "campaign": names.campaign(call),
            "contact_id": call.contact_id, "queue": names.queue(call),
            "agent_id": call.agent_id, "agent": names.agent(call),
            "agent_disposition": call.agent_disposition, "notes": call.notes,
            "recording": bool(call.recording)}


@bp.get("/cdrs")
def cdrs_list():
    """The tenant's CDRs, newest first, filtered like the portal's call records."""
    tenant_id = _tenant_scope()
    try:
        f = search.parse(tenant_id, request.args, api_zone(tenant_id), strict=True,
                         names=FILTER_NAMES)
    except search.CdrFilterError as exc:
        raise ApiError(exc.status, exc.code, str(exc), exc.fields) from None
    if wants_csv():
        # the portal's export: every matching row, streamed batch by batch
        rows = itertools.chain([export.header(f.zone.key)],
                               export.rows(tenant_id, f, local_text(f.zone)))
        return csv_response(rows, report_filename("cdrs", f.period, f.zone.key))
    return paginate(search.query(tenant_id, f), dump_cdr,
                    lookup=lambda rows: search.names_for(tenant_id, rows), zone=f.zone.key)


def _call(call_id: int) -> Call:
    """A tenant key's own call; the provider's key any tenant's (or only `tenant_id`'s)."""
    return get_scoped(Call, scope(), call_id)


@bp.get(f"/cdrs/<{ID}:call_id>")
def cdrs_get(call_id: int):
    call = _call(call_id)
    return jsonify(dump_cdr(call, search.names_for(call.tenant_id, [call])))


@bp.get(f"/cdrs/<{ID}:call_id>/recording")
def cdrs_recording(call_id: int):
    """The call's recording as audio/wav; 404 when it has none."""
    call = _call(call_id)
    path = current_app.config["VOXCAST_SETTINGS"].recordings_dir / call.recording \
        if call.recording else None
    if path is None or not path.is_file():
        raise ApiError(404, "no-recording", "This call has no recording.")
    return send_file(path, mimetype="audio/wav", download_name=f"call-{call.id}.wav")


@bp.get("/reports/cdr-summary")
@reports_feature
def cdr_summary_report():
    """Calls, answered, unanswered, billed seconds and cost per local day and campaign, with
    the folds per day (every day of the period), per campaign and in total; `campaign_id`
    narrows it to one campaign."""
    tenant_id = _tenant_scope()
    period = api_period(tenant_id)
    campaign_id = query_int("campaign_id", None)
    if campaign_id is not None:
        get_scoped(Campaign, tenant_id, campaign_id)  # another tenant's: 404
    summary = cdr_totals.fold(period, cdr_summary.summary(tenant_id, period), campaign_id)
    return jsonify(
        start=period.start.isoformat(), end=period.end.isoformat(), zone=period.zone_name,
        items=[cdr_totals.row_dict(r) for r in summary.rows],
        days=[{"day": d.day.isoformat(), **d.as_dict()} for d in summary.days],
        campaigns=[{"campaign_id": c.campaign_id, "campaign": c.campaign, **c.as_dict()}
                   for c in summary.campaigns],
        total=summary.total.as_dict())
