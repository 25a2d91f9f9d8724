"""The tenant's inbound queues: settings (strategy, ring time, maximum wait, music on hold,
announcements, wrap-up, what happens when nobody answers) and the member agents with their
penalties. The checks are voxcast.queues.services'; this view only maps its field errors onto
the form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from models.entities import Ivr, Queue
from models.tenancy import get_scoped, scoped
from voxcast.queues import services as queue_service
from voxcast.queues import stats as queue_stats
from voxcast.queues.services import QueueError

from .agent_setup import MANAGERS, _today_start, live_signature, tr
from .paging import Page, matching, search_arg
from .auth import current_tenant_id, tenant_required
from .permissions import feature_required

bp = Blueprint("queues", __name__, url_prefix="/queues")

STRATEGY_LABELS = {"longest_idle": _l("Longest idle agent first"),
                   "round_robin": _l("Round robin"), "ring_all": _l("Ring all ready agents")}
FALLBACK_LABELS = {"message": _l("Say a message and hang up"), "queue": _l("Another queue"),
                   "ivr": _l("An IVR"), "voicemail": _l("Voicemail, e-mailed to you")}


class QueueForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=100)])
    number = StringField(_l("Number"), validators=[Length(max=6)],
                         description=_l("2 to 6 digits your phones dial to reach the queue; empty: none."))
    strategy = SelectField(_l("Strategy"), choices=list(STRATEGY_LABELS.items()))
    ring_seconds = StringField(_l("Ring each agent for (seconds)"))
    max_wait_seconds = StringField(_l("Maximum wait (seconds)"))
    music_class = StringField(_l("Music on hold class"), validators=[Length(max=40)])
    announce_every_seconds = StringField(_l("Announce every (seconds)"),
                                         description=_l("0: no announcements."))
    announce_position = BooleanField(_l("Announce the caller's position"))
    announce_wait = BooleanField(_l("Announce the expected wait"))
    wrapup_seconds = StringField(_l("Wrap-up after each call (seconds)"))
    service_level_seconds = StringField(
        _l("Service level target (seconds)"),
        description=_l("The service level is the share of calls answered within this time "
                       "(1 to 600 seconds; 20 is usual)."))
    fallback = SelectField(_l("When nobody answers in time, or no agent is logged in"),
                           choices=list(FALLBACK_LABELS.items()))
    fallback_queue_id = SelectField(_l("Queue"), validate_choice=False)
    fallback_ivr_id = SelectField(_l("IVR"), validate_choice=False)
    fallback_text = TextAreaField(_l("Message"), validators=[Length(max=1000)],
                                  description=_l("Empty: “No agent is available to take your call.”"))


def _form(row: Queue | None) -> QueueForm:
    tid = current_tenant_id()
    if request.method == "GET":
        values = queue_service.values_of(row)
        form = QueueForm(data={k: ("" if v is None else v) for k, v in values.items()})
    else:
        form = QueueForm()
    others = [q for q in queue_service.list_queues(tid) if row is None or q.id != row.id]
    form.fallback_queue_id.choices = [("", "—")] + [(str(q.id), q.name) for q in others]
    form.fallback_ivr_id.choices = [("", "—")] + [
        (str(i.id), i.name) for i in scoped(Ivr, tid).order_by(Ivr.name)]
    if request.method == "GET" and row is not None:
        form.fallback_queue_id.data = str(row.fallback_queue_id or "")
        form.fallback_ivr_id.data = str(row.fallback_ivr_id or "")
    return form


def _posted_members() -> list[tuple[str, str]]:
    return [(uid, request.form.get(f"penalty_{uid}", "0"))
            for uid in request.form.getlist("member")]


def _render(form: QueueForm, row: Queue | None, status: int = 200, errors: dict | None = None):
    tid = current_tenant_id()
    if request.method == "POST":
        chosen = {str(uid): pen for uid, pen in _posted_members()}
    else:
        chosen = {str(m.user_id): m.penalty for m in queue_service.members(row)} if row else {}
    errors = {name: tr(message) for name, message in (errors or {}).items()}
    for name, message in errors.items():
        if name and name in form:
            form[name].errors = [message]
    return render_template("queues/form.html", form=form, queue=row,
                           agents=queue_service.agent_choices(tid), chosen=chosen,
                           member_error=errors.get("members", ""),
                           general_error=errors.get("", ""),
                           used_by=[tr(u) for u in queue_service.used_by(row)] if row else [],
                           waiting=queue_stats.waiting(row) if row else []), status


def _data(form: QueueForm) -> dict:
    return {name: form[name].data for name in queue_service.FIELDS}


@bp.route("/")
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def index():
    tid = current_tenant_id()
    q = search_arg()
    page = Page.from_request(matching(queue_service.query(tid), q, Queue.name, Queue.number), 50)
    return render_template("queues/list.html", queues=page.items, page=page, q=q,
                           strategies=STRATEGY_LABELS,
                           counts=queue_service.member_counts(tid),
                           figures=queue_stats.figures(tid, _today_start()),
                           signature=live_signature(tid))


@bp.route("/new", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def create():
    form = _form(None)
    if form.validate_on_submit():
        try:
            row = queue_service.create(current_tenant_id(), _data(form), _posted_members(),
                                       actor=current_user, ip=request.remote_addr or "")
        except QueueError as exc:
            return _render(form, None, 400, exc.errors)
        flash(_("Queue '%(name)s' saved.", name=row.name), "success")
        return redirect(url_for("queues.edit", queue_id=row.id))
    return _render(form, None, 400 if form.is_submitted() else 200)


@bp.route("/<int:queue_id>", methods=["GET", "POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def edit(queue_id: int):
    row = get_scoped(Queue, current_tenant_id(), queue_id)
    form = _form(row)
    if form.validate_on_submit():
        try:
            row = queue_service.update(row.tenant_id, row.id, _data(form), _posted_members(),
                                       actor=current_user, ip=request.remote_addr or "")
        except QueueError as exc:
            return _render(form, row, 400, exc.errors)
        flash(_("Queue '%(name)s' saved.", name=row.name), "success")
        return redirect(url_for("queues.edit", queue_id=row.id))
    return _render(form, row, 400 if form.is_submitted() else 200)


@bp.route("/<int:queue_id>/delete", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def delete(queue_id: int):
    row = get_scoped(Queue, current_tenant_id(), queue_id)
    if FlaskForm().validate_on_submit():
        try:
            queue_service.delete(row.tenant_id, row.id, actor=current_user,
                                 ip=request.remote_addr or "")
        except QueueError as exc:
            flash(_("Not deleted: %(why)s", why=tr(exc.errors.get("", exc))), "error")
            return redirect(url_for("queues.edit", queue_id=row.id))
        flash(_("Queue '%(name)s' deleted.", name=row.name), "success")
    return redirect(url_for("queues.index"))
