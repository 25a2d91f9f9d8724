"""Contact groups and contacts: add/edit/move/delete, search, and the CSV import in three
steps (upload, map the columns, import). The work is done by voxcast.contacts.services."""
from __future__ import annotations

from flask import (Blueprint, current_app, flash, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from peewee import JOIN, fn
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from models import Contact, ContactGroup, Tenant
from models.tenancy import get_scoped, scoped
from voxcast.ivr import services as flow_service
from voxcast.contacts import dnc as dnc_service
from voxcast.contacts import services as contact_service
from voxcast.contacts.services import CUSTOM_FIELDS, ContactError, UploadError

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .params import parse_id

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
PER_PAGE = 100
TARGET_LABELS = {
    "phone": _l("Phone"), "first_name": _l("First name"), "last_name": _l("Last name"),
    "email": _l("E-mail"), "ignore": _l("— ignore —"),
    **{name: _l("Custom value %(n)s", n=name[6:]) for name in CUSTOM_FIELDS},
}


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=100)])


class ContactForm(FlaskForm):
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=40)])
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    custom1 = StringField(_l("Custom value 1"), validators=[Optional(), Length(max=255)])
    custom2 = StringField(_l("Custom value 2"), validators=[Optional(), Length(max=255)])
    custom3 = StringField(_l("Custom value 3"), validators=[Optional(), Length(max=255)])
    custom4 = StringField(_l("Custom value 4"), validators=[Optional(), Length(max=255)])
    custom5 = StringField(_l("Custom value 5"), validators=[Optional(), Length(max=255)])
    custom6 = StringField(_l("Custom value 6"), validators=[Optional(), Length(max=255)])
    custom7 = StringField(_l("Custom value 7"), validators=[Optional(), Length(max=255)])
    custom8 = StringField(_l("Custom value 8"), validators=[Optional(), Length(max=255)])

    def values(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in contact_service.FIELDS}


class EditContactForm(ContactForm):
    group = SelectField(_l("Group"), coerce=int)


class ImportForm(FlaskForm):
    csv_file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file."))])


class MappingForm(FlaskForm):
    """The column selects (col_0, col_1, ...) are read from the request: their number
    depends on the file."""
    has_header = BooleanField(_l("The first row holds column names"))


def _ip() -> str:
    return request.remote_addr or ""


def _country(tid: int) -> str:
    return Tenant.get_by_id(tid).country


def _uploads_dir():
    return current_app.config["VOXCAST_SETTINGS"].state_dir / "uploads"


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
    if form.validate_on_submit():
        try:
            group = contact_service.create_group(tid, form.name.data, actor=current_user, ip=_ip())
        except ContactError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(_("Group '%(name)s' created.", name=group.name), "success")
            return redirect(url_for("contacts.group", group_id=group.id))
    status = 400 if form.is_submitted() else 200
    q = search_arg()
    page = Page.from_request(matching(_groups(tid), q, ContactGroup.name), PER_PAGE)
    return render_template("contacts/groups.html", groups=page.items, page=page, q=q,
                           form=form), status


def _render_group(group: ContactGroup, contact_form=None, import_form=None, rename_form=None,
                  report=None, status=200):
    q = request.args.get("q", "").strip()
    page = Page.from_request(contact_service.search(group.tenant_id, group, q), PER_PAGE)
    blocked = dnc_service.blocked_set(group.tenant_id, [c.phone for c in page.items])
    others = scoped(ContactGroup, group.tenant_id).where(ContactGroup.id != group.id) \
        .order_by(ContactGroup.name)
    return render_template(
        "contacts/group.html", group=group, page=page, q=q, blocked=blocked,
        other_groups=list(others), dnc_total=contact_service.dnc_count(group),
        contact_form=contact_form or ContactForm(formdata=None),
        import_form=import_form or ImportForm(formdata=None),
        rename_form=rename_form or GroupForm(formdata=None, obj=group),
        report=report), status


@bp.route("/groups/<int:group_id>")
@tenant_required
def group(group_id: int):
    return _render_group(get_scoped(ContactGroup, current_tenant_id(), group_id))


@bp.route("/groups/<int:group_id>/rename", methods=["POST"])
@tenant_required
def rename_group(group_id: int):
    group = get_scoped(ContactGroup, current_tenant_id(), group_id)
    form = GroupForm()
    if form.validate_on_submit():
        try:
            contact_service.rename_group(group, form.name.data, actor=current_user, ip=_ip())
        except ContactError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(_("Group renamed to '%(name)s'.", name=group.name), "success")
            return redirect(url_for("contacts.group", group_id=group.id))
    group = get_scoped(ContactGroup, group.tenant_id, group.id)  # the unchanged name
    return _render_group(group, rename_form=form, status=400)


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
@tenant_required
def delete_group(group_id: int):
    """A confirmation page first: the group's contacts go with it."""
    tid = current_tenant_id()
    group = get_scoped(ContactGroup, tid, group_id)
    size = scoped(Contact, tid).where(Contact.group == group.id).count()
    form = FlaskForm()
    error = None
    if form.validate_on_submit():
        if request.form.get("confirm") != "yes":
            error = _("Tick the box to confirm.")
        else:
            try:
                n = contact_service.delete_group(group, actor=current_user, ip=_ip())
            except ContactError as exc:
                error = str(exc)
            else:
                flash(_("Group '%(name)s' and its %(n)s contacts were deleted.",
                        name=group.name, n=n), "success")
                return redirect(url_for("contacts.index"))
    return render_template("contacts/delete_group.html", group=group, size=size, form=form,
                           error=error), 400 if form.is_submitted() else 200


@bp.route("/groups/<int:group_id>/contacts", methods=["POST"])
@tenant_required
def add_contact(group_id: int):
    tid = current_tenant_id()
    group = get_scoped(ContactGroup, tid, group_id)
    form = ContactForm()
    if form.validate_on_submit():
        values = form.values()
        try:
            contact = contact_service.add_contact(
                group, _country(tid), values.pop("phone"), actor=current_user, ip=_ip(),
                **values)
        except ContactError as exc:
            target = form.email if "e-mail" in str(exc) else form.phone
            target.errors.append(str(exc))
        else:
            flash(_("%(phone)s added.", phone=contact.phone), "success")
            return redirect(url_for("contacts.group", group_id=group.id))
    return _render_group(group, contact_form=form, status=400)


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@tenant_required
def edit_contact(contact_id: int):
    tid = current_tenant_id()
    contact = get_scoped(Contact, tid, contact_id)
    form = EditContactForm(obj=contact)
    form.group.choices = [(g.id, g.name) for g in
                          scoped(ContactGroup, tid).order_by(ContactGroup.name)]
    if request.method == "GET":
        form.group.data = contact.group_id
    if form.validate_on_submit():
        target = get_scoped(ContactGroup, tid, form.group.data)
        try:
            contact_service.update_contact(contact, _country(tid), form.values(), target,
                                           actor=current_user, ip=_ip())
        except ContactError as exc:
            target_field = form.email if "e-mail" in str(exc) else form.phone
            target_field.errors.append(str(exc))
        else:
            flash(_("%(phone)s saved.", phone=contact.phone), "success")
            return redirect(url_for("contacts.group", group_id=contact.group_id))
    blocked = dnc_service.is_blocked(tid, contact.phone)
    return render_template("contacts/edit.html", form=form, contact=contact, blocked=blocked,
                           delete_form=FlaskForm(),
                           outcomes=flow_service.contact_outcomes(contact)), \
        400 if form.is_submitted() else 200


@bp.route("/<int:contact_id>/delete", methods=["POST"])
@tenant_required
def delete_contact(contact_id: int):
    tid = current_tenant_id()
    contact = get_scoped(Contact, tid, contact_id)
    contact_service.delete_contacts(tid, [contact.id], actor=current_user, ip=_ip())
    flash(_("%(phone)s deleted.", phone=contact.phone), "success")
    return redirect(url_for("contacts.group", group_id=contact.group_id))


@bp.route("/groups/<int:group_id>/bulk", methods=["POST"])
@tenant_required
def bulk(group_id: int):
    """Move or delete the ticked contacts of a group."""
    tid = current_tenant_id()
    group = get_scoped(ContactGroup, tid, group_id)
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i is not None]
    action = request.form.get("action")
    if not ids:
        flash(_("Tick the contacts first."), "error")
    elif action == "delete":
        n = contact_service.delete_contacts(tid, ids, actor=current_user, ip=_ip())
        flash(_("%(n)s contacts deleted.", n=n), "success")
    elif action == "move":
        target = get_scoped(ContactGroup, tid, parse_id(request.form.get("target")) or 0)
        moved, skipped = contact_service.move_contacts(tid, ids, target, actor=current_user,
                                                       ip=_ip())
        msg = _("%(n)s contacts moved to '%(name)s'.", n=moved, name=target.name)
        if skipped:
            msg += " " + _("%(n)s were already there and stayed.", n=skipped)
        flash(msg, "success")
    else:
        flash(_("Choose what to do with the ticked contacts."), "error")
    return redirect(url_for("contacts.group", group_id=group.id))


# -- CSV import: upload, mapping, import -----------------------------------------------------

@bp.route("/groups/<int:group_id>/import", methods=["POST"])
@tenant_required
def import_csv(group_id: int):
    """Step 1: keep the file server-side and go on to the mapping page."""
    tid = current_tenant_id()
    group = get_scoped(ContactGroup, tid, group_id)
    form = ImportForm()
    if not form.validate_on_submit():
        return _render_group(group, import_form=form, status=400)
    try:
        upload = contact_service.store_upload(_uploads_dir(), tid, form.csv_file.data.read(),
                                              _country(tid))
    except UploadError as exc:
        form.csv_file.errors.append(str(exc))
        return _render_group(group, import_form=form, status=400)
    return redirect(url_for("contacts.mapping", group_id=group.id, token=upload.token))


def _render_mapping(group, upload, form, mapping, has_header, error=None, status=200):
    headers = upload.headers() if has_header else [
        _("Column %(n)s", n=i + 1) for i in range(upload.width)]
    rows = upload.preview if has_header else [upload.first_row] + upload.preview
    rows = [(r + [""] * upload.width)[:upload.width] for r in rows[:contact_service.PREVIEW_ROWS]]
    return render_template("contacts/mapping.html", group=group, upload=upload, form=form,
                           headers=headers, rows=rows, mapping=mapping, targets=TARGET_LABELS,
                           error=error), status


@bp.route("/groups/<int:group_id>/import/<token>", methods=["GET", "POST"])
@tenant_required
def mapping(group_id: int, token: str):
    """Step 2 (GET): show the headers and first rows with a field for each column.
    Step 3 (POST): import with the chosen mapping and show the report."""
    tid = current_tenant_id()
    group = get_scoped(ContactGroup, tid, group_id)
    country = _country(tid)
    try:
        upload = contact_service.open_upload(_uploads_dir(), tid, token, country)
    except UploadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("contacts.group", group_id=group.id))
    form = MappingForm()
    if request.method == "GET":
        form.has_header.data = upload.has_header
        headers = upload.headers() if upload.has_header else [""] * upload.width
        guess = contact_service.guess_mapping(headers, upload.sample_rows(), country)
        return _render_mapping(group, upload, form, guess, upload.has_header)
    if not form.validate_on_submit():
        return _render_mapping(group, upload, form, [], upload.has_header, status=400)
    chosen = [request.form.get(f"col_{i}", "ignore") for i in range(upload.width)]
    has_header = bool(form.has_header.data)
    try:
        contact_service.validate_mapping(chosen, upload.width)
    except UploadError as exc:
        return _render_mapping(group, upload, form, chosen, has_header, error=str(exc),
                               status=400)
    result = contact_service.import_upload(group, country, upload, chosen, has_header,
                                           actor=current_user, ip=_ip())
    if result.fatal:
        return _render_mapping(group, upload, form, chosen, has_header, error=result.fatal,
                               status=400)
    # The report can be long, so it is rendered here rather than flashed through the cookie.
    return _render_group(group, report=result)
