"""Provider admin: SMSC connections (/admin/smsc/): the SMPP accounts SMS campaigns send
through, with each one's bind status as `voxcast messaging` reports it."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from voxcast.messaging.sms import connections

from .auth import admin_required

bp = Blueprint("admin_smsc", __name__, url_prefix="/admin/smsc")


class SmscForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    host = StringField(_l("Host"), validators=[DataRequired(), Length(max=255)])
    port = IntegerField(_l("Port"), default=2775, validators=[NumberRange(1, 65535)])
    system_id = StringField(_l("System ID"), validators=[DataRequired(), Length(max=15)])
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=8)])
    system_type = StringField(_l("System type"), validators=[Optional(), Length(max=12)])
    source_addr = StringField(_l("Default sender (source address)"),
                              validators=[Optional(), Length(max=20)])
    source_ton = IntegerField(_l("Source TON"), default=1, validators=[NumberRange(0, 18)])
    source_npi = IntegerField(_l("Source NPI"), default=1, validators=[NumberRange(0, 18)])
    dest_ton = IntegerField(_l("Destination TON"), default=1, validators=[NumberRange(0, 18)])
    dest_npi = IntegerField(_l("Destination NPI"), default=1, validators=[NumberRange(0, 18)])
    throughput = IntegerField(_l("Throughput (submits per second, 0: no limit)"), default=10,
                              validators=[NumberRange(0, 100000)])
    enabled = BooleanField(_l("Enabled"), default=True)
    is_default = BooleanField(_l("Default connection (campaigns that choose none)"))


class ToggleForm(FlaskForm):
    """No fields: the CSRF token of the enable/disable button."""


STATE_LABELS = {"bound": _l("bound"), "connecting": _l("connecting"), "down": _l("down"),
                "disabled": _l("disabled"), "": _l("not reported")}


def _values(form: SmscForm) -> dict:
    return {name: getattr(form, name).data for name in connections.FIELDS}


@bp.route("/")
@admin_required
def index():
    return render_template("admin/smsc.html", rows=connections.listing(), labels=STATE_LABELS,
                           toggle=ToggleForm())


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def create():
    form = SmscForm()
    if form.validate_on_submit():
        try:
            row = connections.create(_values(form), actor=current_user,
                                     ip=request.remote_addr or "")
        except connections.SmscError as exc:
            getattr(form, exc.field, form.name).errors.append(str(exc))
        else:
            flash(_("SMSC connection %(name)s created.", name=row.name), "success")
            return redirect(url_for("admin_smsc.index"))
    return render_template("admin/smsc_form.html", form=form, row=None)


@bp.route("/<int:smsc_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(smsc_id: int):
    try:
        row = connections.get(smsc_id)
    except connections.NoSuchSmsc:
        abort(404)
    form = SmscForm(obj=row)
    if request.method == "GET":
        form.password.data = ""
    if form.validate_on_submit():
        try:
            connections.update(smsc_id, _values(form), actor=current_user,
                               ip=request.remote_addr or "")
        except connections.SmscError as exc:
            getattr(form, exc.field, form.name).errors.append(str(exc))
        else:
            flash(_("SMSC connection %(name)s saved.", name=form.name.data), "success")
            return redirect(url_for("admin_smsc.index"))
    return render_template("admin/smsc_form.html", form=form, row=row,
                           status=connections.bind_status(row.id), labels=STATE_LABELS)


@bp.route("/<int:smsc_id>/toggle", methods=["POST"])
@admin_required
def toggle(smsc_id: int):
    if not ToggleForm().validate_on_submit():
        abort(400)
    try:
        row = connections.get(smsc_id)
    except connections.NoSuchSmsc:
        abort(404)
    row = connections.set_enabled(smsc_id, not row.enabled, actor=current_user,
                                  ip=request.remote_addr or "")
    flash(_("SMSC connection %(name)s enabled.", name=row.name) if row.enabled
          else _("SMSC connection %(name)s disabled.", name=row.name), "success")
    return redirect(url_for("admin_smsc.index"))
