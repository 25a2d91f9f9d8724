"""Do-not-call lists: the tenant's own at /dnc/ and the provider-wide one at /admin/dnc/
(provider admin only). Both pages work the same; voxcast.contacts.dnc does the work."""
from __future__ import annotations

import phonenumbers
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from models import Tenant
from voxcast.contacts import dnc as dnc_service
from voxcast.contacts.services import UploadError

from .auth import admin_required, current_tenant_id, tenant_required
from .paging import Page

bp = Blueprint("dnc", __name__)
PER_PAGE = 100


class AddForm(FlaskForm):
    phones = TextAreaField(_l("Numbers"), validators=[DataRequired(), Length(max=100000)],
                           description=_l("One or more, separated by new lines or commas."))


class UploadForm(FlaskForm):
    csv_file = FileField(_l("CSV or text file of numbers"),
                         validators=[FileRequired(_l("Choose a file."))])


def _regions() -> list[tuple[str, str]]:
    return sorted((r, f"{r} (+{phonenumbers.country_code_for_region(r)})")
                  for r in phonenumbers.SUPPORTED_REGIONS)


class AdminAddForm(AddForm):
    country = SelectField(_l("Numbers without + are of"), default="US")


class AdminUploadForm(UploadForm):
    country = SelectField(_l("Numbers without + are of"), default="US")


def _ip() -> str:
    return request.remote_addr or ""


def _split(text: str) -> list[str]:
    return [p for p in (x.strip() for x in text.replace(",", "\n").replace(";", "\n")
                        .splitlines()) if p]


def _page(tenant_id: int | None, add_form, upload_form, endpoint: str, report=None,
          status: int = 200):
    q = request.args.get("q", "").strip()
    page = Page.from_request(dnc_service.search(tenant_id, q), PER_PAGE)
    return render_template("dnc/list.html", page=page, q=q, add_form=add_form,
                           upload_form=upload_form, endpoint=endpoint, report=report,
                           provider=tenant_id is None), status


def _handle(tenant_id: int | None, country: str | None, add_form, upload_form, endpoint):
    """POST actions shared by both lists: add, upload, remove."""
    action = request.form.get("action")
    if action == "remove":
        phones = request.form.getlist("phones")
        n = dnc_service.remove(tenant_id, phones, actor=current_user, ip=_ip())
        flash(_("%(n)s numbers removed from the list.", n=n), "success")
        return redirect(url_for(endpoint))
    if action == "upload":
        if not upload_form.validate_on_submit():
            return _page(tenant_id, add_form, upload_form, endpoint, status=400)
        country = country or upload_form.country.data
        try:
            rows = dnc_service.parse_upload(upload_form.csv_file.data.read())
        except UploadError as exc:
            upload_form.csv_file.errors.append(str(exc))
            return _page(tenant_id, add_form, upload_form, endpoint, status=400)
        result = dnc_service.add(tenant_id, rows, "upload", country=country,
                                 actor=current_user, ip=_ip())
        return _page(tenant_id, add_form, upload_form, endpoint, report=result)
    if not add_form.validate_on_submit():
        return _page(tenant_id, add_form, upload_form, endpoint, status=400)
    country = country or add_form.country.data
    result = dnc_service.add(tenant_id, _split(add_form.phones.data), "manual", country=country,
                             actor=current_user, ip=_ip())
    if result.errors and not result.added:
        add_form.phones.errors.extend(e.reason for e in result.errors[:20])
        return _page(tenant_id, add_form, upload_form, endpoint, status=400)
    if not result.errors:
        flash(_("%(added)s numbers added; %(already)s were on the list already.",
                added=result.added, already=result.already), "success")
        return redirect(url_for(endpoint))
    add_form.phones.data = ""
    return _page(tenant_id, add_form, upload_form, endpoint, report=result)


@bp.route("/dnc/", methods=["GET", "POST"])
@tenant_required
def tenant_list():
    tid = current_tenant_id()
    action = request.form.get("action")
    add_form = AddForm() if action == "add" else AddForm(formdata=None)
    upload_form = UploadForm() if action == "upload" else UploadForm(formdata=None)
    if request.method == "GET":
        return _page(tid, add_form, upload_form, "dnc.tenant_list")
    return _handle(tid, Tenant.get_by_id(tid).country, add_form, upload_form,
                   "dnc.tenant_list")


@bp.route("/admin/dnc/", methods=["GET", "POST"])
@admin_required
def provider_list():
    action = request.form.get("action")
    add_form = AdminAddForm() if action == "add" else AdminAddForm(formdata=None)
    upload_form = AdminUploadForm() if action == "upload" else AdminUploadForm(formdata=None)
    for form in (add_form, upload_form):
        form.country.choices = _regions()
        if form.country.data is None:
            form.country.data = "US"
    if request.method == "GET":
        return _page(None, add_form, upload_form, "dnc.provider_list")
    return _handle(None, None, add_form, upload_form, "dnc.provider_list")
