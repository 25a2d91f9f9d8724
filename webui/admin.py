"""Provider admin: tenants overview and the DID pool. The full portal is a later issue."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from models import Did, RatePlan, Tenant

from .auth import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


class DidForm(FlaskForm):
    number = StringField("DID number", validators=[
        DataRequired(), Regexp(r"^\+?[0-9]{3,20}$", message="Digits only, optionally starting with +.")])


class AssignForm(FlaskForm):
    tenant = SelectField("Tenant", coerce=int)
    greeting_text = TextAreaField("Greeting text", validators=[Optional(), Length(max=2000)])


def _tenant_choices():
    return [(0, "— pool (unassigned) —")] + [
        (t.id, t.name) for t in Tenant.select().order_by(Tenant.name)]


@bp.route("/tenants")
@admin_required
def tenants():
    rows = (Tenant.select(Tenant, RatePlan)
            .join(RatePlan, JOIN.LEFT_OUTER).order_by(Tenant.name))
    return render_template("admin/tenants.html", tenants=rows)


def _render_dids(form=None, status=200):
    dids = list(Did.select(Did, Tenant).join(Tenant, JOIN.LEFT_OUTER).order_by(Did.number))
    forms = {}
    for did in dids:
        f = AssignForm(formdata=None, prefix=f"d{did.id}", tenant=did.tenant_id or 0,
                       greeting_text=did.greeting_text)
        f.tenant.choices = _tenant_choices()
        forms[did.id] = f
    return render_template("admin/dids.html", dids=dids, forms=forms,
                           form=form or DidForm(formdata=None)), status


@bp.route("/dids", methods=["GET", "POST"])
@admin_required
def dids():
    form = DidForm()
    if form.validate_on_submit():
        number = form.number.data.strip()
        if Did.select().where(Did.number == number).exists():
            form.number.errors.append(f"{number} is already in the pool.")
        else:
            Did.create(number=number)
            flash(f"DID {number} added to the pool.", "success")
            return redirect(url_for("admin.dids"))
    return _render_dids(form, 400 if form.is_submitted() else 200)


@bp.route("/dids/<int:did_id>/assign", methods=["POST"])
@admin_required
def assign(did_id: int):
    did = Did.get_or_none(Did.id == did_id)
    if did is None:
        abort(404)
    form = AssignForm(prefix=f"d{did.id}")
    form.tenant.choices = _tenant_choices()
    if not form.validate_on_submit():
        flash("Choose a tenant from the list.", "error")
        return redirect(url_for("admin.dids"))
    did.tenant = form.tenant.data or None
    did.greeting_text = (form.greeting_text.data or "").strip()
    if did.tenant is None:
        did.campaign = None
    did.save()
    flash(f"DID {did.number} " + (f"assigned to {did.tenant.name}." if did.tenant_id
                                   else "returned to the pool."), "success")
    return redirect(url_for("admin.dids"))
