"""The tenant's e-mail do-not-contact list (/email-dnc/): list, search, add, upload, remove.
Addresses here get no mail from the tenant's e-mail campaigns: unsubscribed, hard-bounced or
put here by hand. voxcast.messaging.email.dnc does the work, as for the API."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from voxcast.contacts.services import UploadError
from voxcast.messaging.email import dnc as email_dnc

from .auth import current_tenant_id, tenant_required
from .paging import Page
from .permissions import feature_required

bp = Blueprint("email_dnc", __name__)
PER_PAGE = 100


class AddForm(FlaskForm):
    addresses = TextAreaField(_l("E-mail addresses"),
                              validators=[DataRequired(), Length(max=100000)],
                              description=_l("One or more, separated by new lines or commas."))


class UploadForm(FlaskForm):
    csv_file = FileField(_l("CSV or text file of addresses"),
                         validators=[FileRequired(_l("Choose a file."))])


def _split(text: str) -> list[str]:
    return [p for p in (x.strip() for x in text.replace(",", "\n").replace(";", "\n")
                        .splitlines()) if p]


def _page(tid: int, add_form, upload_form, report=None, status: int = 200):
    q = request.args.get("q", "").strip()
    page = Page.from_request(email_dnc.search(tid, q), PER_PAGE)
    return render_template("email/dnc.html", page=page, q=q, add_form=add_form,
                           upload_form=upload_form, report=report), status


@bp.route("/email-dnc/", methods=["GET", "POST"])
@tenant_required
@feature_required("email")
def index():
    tid = current_tenant_id()
    action = request.form.get("action")
    add_form = AddForm() if action == "add" else AddForm(formdata=None)
    upload_form = UploadForm() if action == "upload" else UploadForm(formdata=None)
    if request.method == "GET":
        return _page(tid, add_form, upload_form)
    ip = request.remote_addr or ""
    if action == "remove":
        n = email_dnc.remove(tid, request.form.getlist("addresses"), actor=current_user, ip=ip)
        flash(_("%(n)s addresses removed from the list.", n=n), "success")
        return redirect(url_for("email_dnc.index"))
    if action == "upload":
        if not upload_form.validate_on_submit():
            return _page(tid, add_form, upload_form, status=400)
        try:
            rows = email_dnc.parse_upload(upload_form.csv_file.data.read())
        except UploadError as exc:
            upload_form.csv_file.errors.append(str(exc))
            return _page(tid, add_form, upload_form, status=400)
        result = email_dnc.add(tid, rows, "upload", actor=current_user, ip=ip)
        return _page(tid, add_form, upload_form, report=result)
    if not add_form.validate_on_submit():
        return _page(tid, add_form, upload_form, status=400)
    result = email_dnc.add(tid, _split(add_form.addresses.data), "manual", actor=current_user,
                           ip=ip)
    if result.errors and not result.added:
        add_form.addresses.errors.extend(e.reason for e in result.errors[:20])
        return _page(tid, add_form, upload_form, status=400)
    if not result.errors:
        flash(_("%(added)s addresses added; %(already)s were on the list already.",
                added=result.added, already=result.already), "success")
        return redirect(url_for("email_dnc.index"))
    add_form.addresses.data = ""
    return _page(tid, add_form, upload_form, report=result)
