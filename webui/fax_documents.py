"""The tenant's fax documents (/fax/documents/): upload a PDF or TIFF (converted to fax TIFF,
its pages counted, counted in the disk quota), the list with pages and size, the preview PDF,
delete while no unfinished campaign uses it. voxcast.messaging.fax.documents does the work;
the campaign form picks a document with documents.choices(tenant_id)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import Length, Optional

from models.entities import FaxDocument
from models.tenancy import scoped
from voxcast.errors import ServiceError
from voxcast.messaging.fax import convert, documents

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .permissions import feature_required
from .file_pages import (add_field_error, flash_outcome, owned_or_404, posted_file,
                         refusal_status, send_or_404)
from .users import MANAGERS

bp = Blueprint("fax_documents", __name__, url_prefix="/fax/documents")
EDITORS = MANAGERS + ("supervisor", "user")  # who may upload and delete: the campaign roles


class UploadForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)],
                       description=_l("Empty: the file's name."))
    document = FileField(_l("PDF or TIFF file"), validators=[FileRequired(_l("Choose a file."))])


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


def _page(form, status: int = 200):
    tid = current_tenant_id()
    q = search_arg()
    page = Page.from_request(
        matching(scoped(FaxDocument, tid), q, FaxDocument.name, FaxDocument.filename)
        .order_by(FaxDocument.created_at.desc(), FaxDocument.id.desc()), 50)
    docs = page.items
    used = {d.id for d in docs if documents.in_use(d)}
    return render_template("fax/documents.html", form=form, docs=docs, page=page, q=q,
                           used=used,
                           max_mb=convert.MAX_BYTES // (1024 * 1024),
                           max_pages=convert.MAX_PAGES), status


@bp.route("/", methods=["GET", "POST"])
@tenant_required
@feature_required("fax")
def index():
    form = UploadForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, 400)
    filename, data = posted_file(form.document, convert.MAX_BYTES)
    try:
        doc = documents.upload(current_tenant_id(), form.name.data or "", filename, data,
                               _settings())
    except ServiceError as exc:
        add_field_error(form.document, _(str(exc)))
        return _page(form, refusal_status(exc))
    flash(_("%(name)s uploaded: %(pages)s pages.", name=doc.name, pages=doc.pages), "success")
    return redirect(url_for("fax_documents.index"))


@bp.route("/<int:document_id>/preview.pdf")
@tenant_required
@feature_required("fax")
def preview(document_id: int):
    doc = owned_or_404(documents.get, current_tenant_id(), document_id)  # another tenant's too
    return send_or_404(documents.preview_path(_settings(), doc), mimetype="application/pdf",
                       download_name=f"fax-{doc.id}.pdf")


@bp.route("/<int:document_id>/delete", methods=["POST"])
@tenant_required
@feature_required("fax")
def delete(document_id: int):
    flash_outcome(lambda: documents.delete(current_tenant_id(), document_id, _settings()),
                  _("Document deleted."), lambda exc: _(str(exc)))
    return redirect(url_for("fax_documents.index"))
