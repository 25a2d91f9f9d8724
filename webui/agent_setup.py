"""The contact centre's set-up for the tenant administrator and supervisors: the agents now
(state, since when, today's times; a supervisor may log an agent out), the pause reasons agents
choose from and the dispositions they record after a call. Views only: the services are
voxcast.agents.*."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for,
)
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from peewee import fn

from models.entities import AgentDisposition, AgentSession, PauseReason, QueueCall, utcnow
from models import Call
from models.tenancy import get_scoped, scoped
from voxcast.agents import dispositions, pause_reasons, sessions, states, stats
from voxcast.agents.errors import AgentError
from voxcast.audit import records as audit

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .params import parse_id
from .permissions import current_tenant, feature_required

PER_PAGE = 50

bp = Blueprint("agent_setup", __name__)

MANAGERS = ("tenant", "supervisor")
STATE_LABELS = {"logged_out": _l("Logged out"), "ready": _l("Ready"), "ringing": _l("Ringing"),
                "on_call": _l("On a call"), "wrapup": _l("Wrap-up"), "paused": _l("Paused")}
KIND_LABELS = {"normal": _l("Normal"), "callback": _l("Call back at…"),
               "dnc": _l("Do not call")}


class PauseReasonForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    active = BooleanField(_l("In use"), default=True)


class DispositionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    position = IntegerField(_l("Position"), default=0,
                            validators=[Optional(), NumberRange(min=0, max=1000)])
    active = BooleanField(_l("In use"), default=True)


def _ip() -> str:
    return request.remote_addr or ""


def tr(message) -> str:
    """A service's message in the reader's language: an error or Msg with a template and
    params is translated, anything else shown as it is."""
    template = getattr(message, "template", None)
    if template is None:
        return str(message)
    return _(template, **getattr(message, "params", {}))


def _fail(exc: AgentError) -> None:
    flash(_("Not saved: %(why)s", why=tr(exc)), "error")


# -- agents now -----------------------------------------------------------------------------

def _zone() -> ZoneInfo:
    tenant = current_tenant()
    try:
        return ZoneInfo(tenant.timezone if tenant is not None else "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _utc_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The start of `day` in the tenant's time zone, as the database's naive UTC."""
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _local_today(zone: ZoneInfo) -> dt.date:
    return dt.datetime.now(dt.timezone.utc).astimezone(zone).date()


def _today_start() -> dt.datetime:
    zone = _zone()
    return _utc_midnight(_local_today(zone), zone)


def _day_arg(name: str, default: dt.date) -> dt.date:
    """?name=YYYY-MM-DD; missing, malformed or outside 2000-2099: `default` (the far ends of
    the calendar would overflow the time-zone arithmetic)."""
    try:
        day = dt.date.fromisoformat((request.args.get(name) or "").strip()[:10])
    except ValueError:
        return default
    return day if 2000 <= day.year <= 2099 else default


def _report_days():
    """The days asked for (from/to, whole days in the tenant's time zone, default today,
    at most a year) and the agent report for them."""
    zone = _zone()
    first = _day_arg("from", _local_today(zone))
    last = _day_arg("to", first)
    if last < first:
        first, last = last, first
    last = min(last, first + dt.timedelta(days=366))
    since = _utc_midnight(first, zone)
    until = _utc_midnight(last + dt.timedelta(days=1), zone)
    return zone, first, last, stats.agent_report(current_tenant_id(), since, until)


@bp.route("/agents/stats")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def agent_stats():
    """Agent statistics for whole days in the tenant's time zone (default: today)."""
    zone, first, last, report = _report_days()
    return render_template("agent_setup/stats.html", report=report, first=first, last=last,
                           zone=str(zone))


@bp.route("/agents/stats.csv")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def agent_stats_csv():
    _tz, first, last, report = _report_days()
    return Response(stats.report_csv(report), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="agents-{first}-{last}.csv"'})


@bp.route("/agents/")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def agents():
    tid = current_tenant_id()
    rows = list(sessions.live_sessions(tid))
    call_ids = [r.call_id for r in rows if r.call_id]
    calls = {cid: number for cid, number in scoped(Call, tid).select(Call.id, Call.number)
             .where(Call.id.in_(call_ids)).tuples()} if call_ids else {}
    since, now = _today_start(), utcnow()
    times = stats.by_user(tid, since, now, now=now)
    return render_template("agent_setup/agents.html", live=rows, times=times, now=now, calls=calls,
                           labels=STATE_LABELS, since=since, signature=live_signature(tid),
                           reasons=pause_reasons.list_reasons(tid, active_only=True,
                                                              include_system=False),
                           can_move=states.can_move)


def live_signature(tenant_id: int) -> str:
    """Changes whenever an agent's session moves or a caller enters, is answered or leaves a
    queue: the supervisor's pages reload when it does (static/contact_centre.js)."""
    agents = (AgentSession.select(fn.COUNT(AgentSession.id), fn.SUM(AgentSession.version),
                                  fn.MAX(AgentSession.id))
              .where(AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null())
              .tuples().first())
    calls = (QueueCall.select(fn.MAX(QueueCall.id), fn.COUNT(QueueCall.answered_at),
                              fn.COUNT(QueueCall.ended_at))
             .where(QueueCall.tenant == tenant_id, QueueCall.entered_at >= _today_start())
             .tuples().first())
    return ":".join(str(v or 0) for v in (*agents, *calls))


@bp.route("/agents/live.json")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def live():
    return jsonify(signature=live_signature(current_tenant_id()))


@bp.route("/agents/<int:session_id>/logout", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def force_logout(session_id: int):
    row = get_scoped(AgentSession, current_tenant_id(), session_id)
    if FlaskForm().validate_on_submit():
        if sessions.logout(row.id, "supervisor", ip=_ip()):
            flash(_("%(name)s is logged out.", name=row.user.username), "success")
    return redirect(url_for("agent_setup.agents"))


@bp.route("/agents/<int:session_id>/state", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def set_agent_state(session_id: int):
    """A supervisor makes an agent ready or pauses them (never during a call: the move is
    refused then, as the agent's own would be)."""
    tid = current_tenant_id()
    row = get_scoped(AgentSession, tid, session_id)
    to = request.form.get("state", "")
    if FlaskForm().validate_on_submit() and to in ("ready", "paused"):
        try:
            moved = states.set_state(row.id, to, pause_reason_id=parse_id(
                request.form.get("pause_reason_id")) if to == "paused" else None)
        except AgentError as exc:
            _fail(exc)
        else:
            if moved:
                audit.record("agent.state", tenant_id=tid, user=current_user,
                             object_type="agent_session", object_id=row.id,
                             detail=f"{row.user.username} -> {to} (supervisor)", ip=_ip())
                flash(_("%(name)s is %(state)s now.", name=row.user.username,
                        state=STATE_LABELS[to]), "success")
            else:
                flash(_("%(name)s cannot be changed now (%(state)s).", name=row.user.username,
                        state=STATE_LABELS.get(row.state, row.state)), "error")
    return redirect(url_for("agent_setup.agents"))


# -- pause reasons --------------------------------------------------------------------------

@bp.route("/pause-reasons/", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def pause_reason_list():
    tid = current_tenant_id()
    form = PauseReasonForm()
    status = 200
    if form.validate_on_submit():
        try:
            row = pause_reasons.create(tid, form.name.data, active=form.active.data,
                                       actor=current_user, ip=_ip())
        except AgentError as exc:
            form.name.errors = [tr(exc)]
            status = 400
        else:
            flash(_("Pause reason '%(name)s' added.", name=row.name), "success")
            return redirect(url_for("agent_setup.pause_reason_list"))
    elif form.is_submitted():
        status = 400
    q = search_arg()
    page = Page.from_request(matching(pause_reasons.reasons_query(tid), q, PauseReason.name),
                             PER_PAGE)
    return render_template("agent_setup/pause_reasons.html", form=form, reasons=page.items,
                           page=page, q=q,
                           max_missed=current_tenant().agent_max_missed), status


@bp.route("/pause-reasons/missed", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def pause_after_missed():
    if FlaskForm().validate_on_submit():
        try:
            number = pause_reasons.set_max_missed(current_tenant_id(),
                                                  request.form.get("agent_max_missed"),
                                                  actor=current_user, ip=_ip())
        except AgentError as exc:
            _fail(exc)
        else:
            flash(_("Agents are paused after %(n)d unanswered calls in a row.", n=number)
                  if number else _("Agents are never paused for unanswered calls."), "success")
    return redirect(url_for("agent_setup.pause_reason_list"))


@bp.route("/pause-reasons/<int:reason_id>", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def pause_reason_update(reason_id: int):
    tid = current_tenant_id()
    row = get_scoped(PauseReason, tid, reason_id)
    form = PauseReasonForm()
    if form.validate_on_submit():
        try:
            pause_reasons.update(tid, row.id, name=form.name.data, active=form.active.data,
                                 actor=current_user, ip=_ip())
        except AgentError as exc:
            _fail(exc)
        else:
            flash(_("Pause reason '%(name)s' saved.", name=form.name.data.strip()), "success")
    else:
        flash(_("Enter a name of up to 60 characters."), "error")
    return redirect(url_for("agent_setup.pause_reason_list"))


@bp.route("/pause-reasons/<int:reason_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def pause_reason_delete(reason_id: int):
    tid = current_tenant_id()
    row = get_scoped(PauseReason, tid, reason_id)
    if FlaskForm().validate_on_submit():
        try:
            pause_reasons.delete(tid, row.id, actor=current_user, ip=_ip())
        except AgentError as exc:
            flash(_("Not deleted: %(why)s", why=tr(exc)), "error")
        else:
            flash(_("Pause reason '%(name)s' deleted.", name=row.name), "success")
    return redirect(url_for("agent_setup.pause_reason_list"))


# -- dispositions ---------------------------------------------------------------------------

@bp.route("/dispositions/", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def disposition_list():
    tid = current_tenant_id()
    form = DispositionForm()
    status = 200
    if form.validate_on_submit():
        try:
            row = dispositions.create(tid, form.name.data, form.kind.data, form.position.data or 0,
                                      active=form.active.data, actor=current_user, ip=_ip())
        except AgentError as exc:
            target = getattr(form, exc.field, None) if exc.field else None
            (target or form.name).errors = [tr(exc)]
            status = 400
        else:
            flash(_("Disposition '%(name)s' added.", name=row.name), "success")
            return redirect(url_for("agent_setup.disposition_list"))
    elif form.is_submitted():
        status = 400
    q = search_arg()
    page = Page.from_request(matching(dispositions.dispositions_query(tid), q,
                                      AgentDisposition.name), PER_PAGE)
    return render_template("agent_setup/dispositions.html", form=form, kinds=KIND_LABELS,
                           rows=page.items, page=page, q=q), status


@bp.route("/dispositions/<int:disposition_id>", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def disposition_update(disposition_id: int):
    tid = current_tenant_id()
    row = get_scoped(AgentDisposition, tid, disposition_id)
    form = DispositionForm()
    if form.validate_on_submit():
        try:
            dispositions.update(tid, row.id, name=form.name.data, kind=form.kind.data,
                                position=form.position.data or 0, active=form.active.data,
                                actor=current_user, ip=_ip())
        except AgentError as exc:
            _fail(exc)
        else:
            flash(_("Disposition '%(name)s' saved.", name=form.name.data.strip()), "success")
    else:
        flash(_("Enter a name, a kind and a position from 0 to 1000."), "error")
    return redirect(url_for("agent_setup.disposition_list"))


@bp.route("/dispositions/<int:disposition_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def disposition_delete(disposition_id: int):
    tid = current_tenant_id()
    row = get_scoped(AgentDisposition, tid, disposition_id)
    if FlaskForm().validate_on_submit():
        dispositions.delete(tid, row.id, actor=current_user, ip=_ip())
        flash(_("Disposition '%(name)s' deleted.", name=row.name), "success")
    return redirect(url_for("agent_setup.disposition_list"))
