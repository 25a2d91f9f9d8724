"""The tenant's IVRs: a JSON tree edited in a textarea, checked on the server before anything
is saved (voxcast.ivr.tree), shown as a readable node list; used by IVR campaigns and by DIDs."""
from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from models.entities import Ivr, Queue
from models.tenancy import get_scoped, scoped
from voxcast.ivr import services as flow_service
from voxcast.ivr import tree as ivr

from .auth import current_tenant_id, tenant_required
from .permissions import feature_required

bp = Blueprint("ivrs", __name__, url_prefix="/ivrs")

EXAMPLE = {
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "say", "text": "Welcome to Acme.", "next": "menu"},
        "menu": {"type": "menu", "text": "For sales press 1. To leave a message press 2.",
                 "options": {"1": "sales", "2": "message"}, "timeout": 5, "retries": 2},
        "sales": {"type": "transfer", "target": {"kind": "extension", "value": "101"},
                  "failed": "message"},
        "message": {"type": "record", "text": "Please speak after the tone.", "max_seconds": 60,
                    "next": "bye"},
        "bye": {"type": "hangup", "text": "Thank you. Goodbye."},
    },
}


class IvrForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    number = StringField(_l("Number (dialled by your phones; empty: none)"),
                         validators=[Length(max=6)])
    tree = TextAreaField("Tree (JSON)", validators=[DataRequired(), Length(max=100000)])


def _render(form: IvrForm, row: Ivr | None, errors: list[str] = (), status: int = 200):
    nodes = []
    if row is not None:
        try:
            nodes = ivr.describe(json.loads(row.tree))
        except ValueError:
            nodes = []
    queues = [f"{q.name} ({q.id})" for q in scoped(Queue, current_tenant_id()).order_by(Queue.name)]
    return render_template("ivrs/form.html", form=form, ivr=row, errors=list(errors),
                           nodes=nodes, node_types=ivr.NODE_TYPES, queues=queues,
                           users=flow_service.ivr_users(row) if row else []), status


@bp.route("/")
@tenant_required
@feature_required("voice_ivr")
def index():
    rows = list(scoped(Ivr, current_tenant_id()).order_by(Ivr.name))
    return render_template("ivrs/list.html", ivrs=rows,
                           sizes={r.id: len(json.loads(r.tree or "{}").get("nodes", {})) for r in rows})


@bp.route("/new", methods=["GET", "POST"])
@tenant_required
@feature_required("voice_ivr")
def create():
    form = IvrForm()
    if request.method == "GET":
        form.tree.data = ivr.dumps(EXAMPLE)
    if form.validate_on_submit():
        try:
            row = flow_service.save_ivr(current_tenant_id(), form.name.data, form.tree.data,
                                        number=form.number.data or "", actor=current_user,
                                        ip=request.remote_addr or "")
        except flow_service.FlowServiceError as exc:
            return _render(form, None, exc.errors, 400)
        flash(_("IVR '%(name)s' saved.", name=row.name), "success")
        return redirect(url_for("ivrs.edit", ivr_id=row.id))
    return _render(form, None, status=400 if form.is_submitted() else 200)


@bp.route("/<int:ivr_id>", methods=["GET", "POST"])
@tenant_required
@feature_required("voice_ivr")
def edit(ivr_id: int):
    row = get_scoped(Ivr, current_tenant_id(), ivr_id)
    form = IvrForm(obj=row)
    if form.validate_on_submit():
        try:
            flow_service.save_ivr(row.tenant_id, form.name.data, form.tree.data, row=row,
                                  number=form.number.data or "", actor=current_user,
                                  ip=request.remote_addr or "")
        except flow_service.FlowServiceError as exc:
            return _render(form, get_scoped(Ivr, current_tenant_id(), ivr_id), exc.errors, 400)
        flash(_("IVR '%(name)s' saved.", name=row.name), "success")
        return redirect(url_for("ivrs.edit", ivr_id=row.id))
    return _render(form, row, status=400 if form.is_submitted() else 200)


@bp.route("/<int:ivr_id>/delete", methods=["POST"])
@tenant_required
@feature_required("voice_ivr")
def delete(ivr_id: int):
    row = get_scoped(Ivr, current_tenant_id(), ivr_id)
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            flow_service.delete_ivr(row, actor=current_user, ip=request.remote_addr or "")
        except flow_service.FlowServiceError as exc:
            flash(_("Not deleted: %(why)s", why=exc), "error")
            return redirect(url_for("ivrs.edit", ivr_id=row.id))
        flash(_("IVR '%(name)s' deleted.", name=row.name), "success")
    return redirect(url_for("ivrs.index"))
