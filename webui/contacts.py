"""Contact groups, single contacts and CSV import."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from peewee import JOIN, IntegrityError, fn
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from models import Contact, ContactGroup, Tenant
from models.tenancy import get_scoped, scoped
from voxcast import contact_service
from voxcast.contact_service import ContactError

from .auth import current_tenant_id, tenant_required
from .paging import Page

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
PER_PAGE = 100


class GroupForm(FlaskForm):
    name = StringField("New group", validators=[DataRequired(), Length(max=100)])


class ContactForm(FlaskForm):
    phone = StringField("Phone", validators=[DataRequired(), Length(max=40)])
    first_name = StringField("First name", validators=[Optional(), Length(max=100)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=100)])
    email = StringField("E-mail", validators=[
        Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Not an e-mail address."),
        Length(max=200)])


class ImportForm(FlaskForm):
    csv_file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")])


def _groups(tid: int):
    return (scoped(ContactGroup, tid)
            .select_extend(fn.COUNT(Contact.id).alias("size"))
            .join(Contact, JOIN.LEFT_OUTER, on=(Contact.group == ContactGroup.id))
            .group_by(ContactGroup.id)
            .order_by(ContactGroup.name))


@bp.route("/", methods=["GET", "POST"])
@tenant_required
def index():
    tid = current_tenant_id()
    form = GroupForm()
    status = 200
    if form.validate_on_submit():
        name = form.name.data.strip()
        if scoped(ContactGroup, tid).where(ContactGroup.name == name).exists():
            form.name.errors.append(f"A group named '{name}' already exists.")
        else:
            try:
                group = ContactGroup.create(tenant=tid, name=name)
            except IntegrityError:
                form.name.errors.append(f"A group named '{name}' already exists.")
            else:
                flash(f"Group '{name}' created.", "success")
                return redirect(url_for("contacts.group", group_id=group.id))
    if form.is_submitted():
        status = 400
    return render_template("contacts/groups.html", groups=list(_groups(tid)), form=form), status


def _render_group(group: ContactGroup, contact_form=None, import_form=None, report=None,
                  status=200):
    page = Page.from_request(
        scoped(Contact, group.tenant_id).where(Contact.group == group).order_by(Contact.id),
        PER_PAGE)
    return render_template("contacts/group.html", group=group, page=page,
                           contact_form=contact_form or ContactForm(formdata=None),
                           import_form=import_form or ImportForm(formdata=None),
                           report=report), status


@bp.route("/groups/<int:group_id>")
@tenant_required
def group(group_id: int):
    return _render_group(get_scoped(ContactGroup, current_tenant_id(), group_id))


@bp.route("/groups/<int:group_id>/contacts", methods=["POST"])
@tenant_required
def add_contact(group_id: int):
    tid = current_tenant_id()
    group = get_scoped(ContactGroup, tid, group_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = contact_service.add_contact(
                group, Tenant.get_by_id(tid).country, form.phone.data,
                form.first_name.data or "", form.last_name.data or "", form.email.data or "")
        except ContactError as exc:
            form.phone.errors.append(str(exc))
        else:
            flash(f"{contact.phone} added.", "success")
            return redirect(url_for("contacts.group", group_id=group.id))
    return _render_group(group, contact_form=form, status=400)


@bp.route("/groups/<int:group_id>/import", methods=["POST"])
@tenant_required
def import_csv(group_id: int):
    tid = current_tenant_id()
    group = get_scoped(ContactGroup, tid, group_id)
    form = ImportForm()
    if not form.validate_on_submit():
        return _render_group(group, import_form=form, status=400)
    result = contact_service.import_csv(group, Tenant.get_by_id(tid).country,
                                        form.csv_file.data.read())
    # The report can be long, so it is rendered here rather than flashed through the cookie.
    return _render_group(group, report=result, status=400 if result.fatal else 200)
