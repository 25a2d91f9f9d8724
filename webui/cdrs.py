"""The CDR detail report: the tenant's call records filtered by local days (the viewer's
zone), number, direction, disposition, campaign, queue and agent, newest first, paged; their
CSV streamed batch by batch; one call's page with everything about it; its recording.
Views only: the query is voxcast.cdr.search, the CSV voxcast.cdr.export."""
from __future__ import annotations

import itertools

from flask import Blueprint, abort, current_app, render_template, request, send_file

from peewee import JOIN

from models import Call, Campaign, User
from models.entities import Contact, Queue, QueueCall
from models.tenancy import get_scoped, scoped
from voxcast.cdr import export, search
from voxcast.reports.filters import local_text

from .auth import current_tenant_id, tenant_required
from .downloads import csv_response, report_filename
from .paging import Page
from .viewer import request_filter, viewer_zone

bp = Blueprint("cdrs", __name__, url_prefix="/cdrs")
PER_PAGE = 50


def _filter() -> search.CdrFilter:
    """The page's filters; another tenant's campaign, queue or agent id is a 404."""
    return request_filter(search.parse, current_tenant_id())


def _choices(tid: int) -> dict:
    return {
        "campaigns": list(scoped(Campaign, tid).order_by(Campaign.name)),
        "queues": list(scoped(Queue, tid).order_by(Queue.name)),
        "agents": list(scoped(User, tid).where(User.role.in_(("agent", "supervisor")))
                       .order_by(User.username)),
        "directions": search.DIRECTIONS, "dispositions": search.DISPOSITIONS,
    }


@bp.route("/")
@tenant_required
def index():
    tid = current_tenant_id()
    f = _filter()
    page = Page.from_request(search.query(tid, f), PER_PAGE)
    return render_template("cdrs.html", page=page, f=f, args=f.as_args(),
                           local=local_text(f.zone),
                           names=search.names_for(tid, page.items), **_choices(tid))


@bp.route("/export.csv")
@tenant_required
def export_csv():
    """The filtered list as CSV, streamed: rows are read and sent one batch at a time."""
    tid = current_tenant_id()
    f = _filter()
    rows = itertools.chain([export.header(f.zone.key)], export.rows(tid, f, local_text(f.zone)))
    return csv_response(rows, report_filename("cdrs", f.period, f.zone.key))


@bp.route("/<int:call_id>")
@tenant_required
def detail(call_id: int):
    tid = current_tenant_id()
    call = get_scoped(Call, tid, call_id)  # another tenant's call: 404
    names = search.names_for(tid, [call])
    contact = scoped(Contact, tid).where(Contact.id == call.contact_id).first() \
        if call.contact_id else None
    stays = list(QueueCall.select(QueueCall, Queue.name.alias("queue_name"))
                 .join(Queue, on=(QueueCall.queue == Queue.id), join_type=JOIN.LEFT_OUTER)
                 .where(QueueCall.tenant == tid,
                        (QueueCall.call == call.id) | (QueueCall.agent_call == call.id))
                 .order_by(QueueCall.entered_at).objects())
    # the other CDRs of the same call: the agent legs of the caller's queue stays, or the
    # caller's CDR of the stay this agent leg answered
    related_ids = {s.agent_call_id for s in stays if s.agent_call_id} | \
        {s.call_id for s in stays if s.call_id}
    related_ids.discard(call.id)
    related = list(scoped(Call, tid).where(Call.id.in_(related_ids))
                   .order_by(Call.started_at)) if related_ids else []
    stay_agents = {u.id: search.agent_name(u) for u in scoped(User, tid).where(
        User.id.in_({s.agent_id for s in stays if s.agent_id}))} if stays else {}
    zone = viewer_zone()
    return render_template("reports/cdr_detail.html", call=call, names=names,
                           local=local_text(zone), zone_name=zone.key,
                           contact=contact, stays=stays, related=related,
                           stay_agents=stay_agents)


@bp.route("/<int:call_id>/recording")
@tenant_required
def recording(call_id: int):
    """The call's recording, tenant-scoped (another tenant's call id is 404); ?download=1 saves."""
    call = get_scoped(Call, current_tenant_id(), call_id)
    if not call.recording:
        abort(404)
    path = current_app.config["VOXCAST_SETTINGS"].recordings_dir / call.recording
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="audio/wav", as_attachment=bool(request.args.get("download")),
                     download_name=f"call-{call.id}.wav")
