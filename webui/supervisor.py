"""The supervisor's pages: the live wallboard (agents, queues, calls in progress; refreshed by
static/wallboard.js from its JSON feed), forcing an agent to pause or log out, and the live
statistics report (every call in progress, with CSV). Views only: the data is
voxcast.supervision.wallboard and voxcast.reports.live, the moves voxcast.supervision.control.
Tenant administrators and supervisors; the wallboard needs the agents feature, the live
calls list the reports feature (campaign calls are live calls too, without any agent)."""
from __future__ import annotations

import datetime as dt
import io
import json

from flask import (
    Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request,
    url_for,
)
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from models import Campaign, User
from models.entities import Queue, utcnow
from models.tenancy import get_scoped, scoped
from voxcast import csv_export
from voxcast.agents import pause_reasons
from voxcast.agents.errors import AgentError
from voxcast.dialing import voice_agent
from voxcast.reports import live
from voxcast.reports.period import ReportPeriod
from voxcast.supervision import control, wallboard as board

from .agent_setup import STATE_LABELS, tr
from .auth import current_tenant_id, tenant_required
from .live_stream import event_stream
from .params import parse_id
from .permissions import feature_required
from .viewer import local_dt, viewer_zone

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

MANAGERS = ("tenant", "supervisor")
MONITOR_ENDPOINT = "supervisor_monitor.start"  # helper B2's listen / whisper / barge


def today_since(now: dt.datetime) -> dt.datetime:
    """The viewer's midnight today as naive UTC: the queues' "today" starts there."""
    zone = viewer_zone()
    today = now.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
    return ReportPeriod(today, today, zone).since


def labels() -> dict:
    """The state and leg names in the viewer's language, for wallboard.js."""
    return {"agent": {k: str(v) for k, v in STATE_LABELS.items()},
            "call": {k: _(v) for k, v in live.STATES.items()},
            "leg": {k: _(v) for k, v in live.LEGS.items()},
            "pacing": {"ratio": _("Fixed ratio"), "predictive": _("Predictive"),
                       "capped": _("Abandon budget spent")}}


def monitoring() -> bool:
    return MONITOR_ENDPOINT in current_app.view_functions


@bp.route("/")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def wallboard():
    tid = current_tenant_id()
    monitor_url = (url_for(MONITOR_ENDPOINT, user_id=0) if monitoring() else "")
    return render_template(
        "supervisor/wallboard.html",
        reasons=pause_reasons.list_reasons(tid, active_only=True, include_system=False),
        labels=json.dumps(labels()), monitor_url=monitor_url,
        pause_url=url_for("supervisor.force_pause", user_id=0),
        logout_url=url_for("supervisor.force_logout", user_id=0),
        window_minutes=voice_agent.PACING_WINDOW_S // 60)


@bp.route("/wallboard.json")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def wallboard_data():
    return jsonify(_board())


def _board() -> dict:
    now = utcnow()
    data = board.build(current_tenant_id(), now, today_since(now)).as_dict()
    data["zone"] = viewer_zone().key
    return data


@bp.route("/wallboard.events")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def wallboard_events():
    """wallboard.json pushed (webui.live_stream) when it changed, "now" aside (the page
    ticks the times itself)."""
    # the board depends on the tenant, the reader's time zone (today) and language (labels)
    share = ("wallboard", current_tenant_id(), viewer_zone().key, str(get_locale()))
    return event_stream(_board, interval=2.0, feature="agents", ignore=("now",), share=share)


def _back() -> Response:
    return redirect(url_for("supervisor.wallboard"))


@bp.route("/agents/<int:user_id>/pause", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def force_pause(user_id: int):
    get_scoped(User, current_tenant_id(), user_id)  # another tenant's: 404
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back()
    raw = request.form.get("pause_reason_id", "")
    reason_id = parse_id(raw) if raw else None
    if raw and reason_id is None:
        flash(_("Choose one of your pause reasons."), "error")
        return _back()
    try:
        session = control.force_pause(current_tenant_id(), user_id, reason_id,
                                      actor=current_user, ip=request.remote_addr or "")
    except AgentError as exc:
        flash(tr(exc), "error")
    else:
        flash(_("%(name)s is paused.", name=session.user.username), "success")
    return _back()


@bp.route("/agents/<int:user_id>/logout", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def force_logout(user_id: int):
    get_scoped(User, current_tenant_id(), user_id)  # another tenant's: 404
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back()
    try:
        session = control.force_logout(current_tenant_id(), user_id, actor=current_user,
                                       ip=request.remote_addr or "")
    except AgentError as exc:
        flash(tr(exc), "error")
    else:
        flash(_("%(name)s is logged out.", name=session.user.username), "success")
    return _back()


# -- live statistics --------------------------------------------------------------------------

def live_filter() -> live.LiveFilter:
    """?leg=&state=&campaign_id=&queue_id=&agent_id= of the request; an unknown value is no
    filter (the page's selects only offer known ones)."""
    args = request.args
    return live.LiveFilter(
        leg=args.get("leg") if args.get("leg") in live.LEGS else None,
        state=args.get("state") if args.get("state") in live.STATES else None,
        campaign_id=parse_id(args.get("campaign_id")), queue_id=parse_id(args.get("queue_id")),
        agent_id=parse_id(args.get("agent_id")))


def _live_calls(now: dt.datetime) -> list[live.LiveCall]:
    return live_filter().apply(live.active_calls(current_tenant_id(), now))


@bp.route("/live")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def live_calls():
    now, tid = utcnow(), current_tenant_id()
    query = {k: v for k, v in request.args.items() if v}
    return render_template(
        "supervisor/live.html", calls=_live_calls(now), now=now, call_states=live.STATES,
        legs=live.LEGS, labels=json.dumps(labels()), chosen=live_filter(), query=query,
        campaigns=scoped(Campaign, tid).select(Campaign.id, Campaign.name)
        .order_by(Campaign.name).tuples(),
        queues=scoped(Queue, tid).select(Queue.id, Queue.name).order_by(Queue.name).tuples(),
        agents=scoped(User, tid).select(User.id, User.username).where(User.role == "agent")
        .order_by(User.username).tuples())


@bp.route("/live.json")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def live_calls_data():
    now = utcnow()
    return jsonify(now=now.isoformat(timespec="seconds") + "Z", zone=viewer_zone().key,
                   calls=[c.as_dict() for c in _live_calls(now)])


@bp.route("/live.csv")
@tenant_required(roles=MANAGERS)
@feature_required("reports")
def live_calls_csv():
    now = utcnow()
    calls = _live_calls(now)
    buf = io.StringIO()
    writer = csv_export.writer(buf)
    zone = viewer_zone().key
    writer.writerow([*live.CSV_HEADER[:6], f"started_at ({zone})", f"answered_at ({zone})",
                     *live.CSV_HEADER[8:]])
    for row in live.csv_rows(calls, local_dt):
        writer.writerow(row)
    stamp = local_dt(now, "%Y%m%d-%H%M%S")
    return Response(buf.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="live-calls-{stamp}.csv"'})
