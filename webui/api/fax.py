"""/api/v1/fax-documents: the tenant's fax documents (upload as base64 JSON, list, one, the
preview PDF, delete while unused) and /api/v1/faxes/{id}/pdf: a received fax's PDF (the fax
records themselves are in /api/v1/messages). Through voxcast.messaging.fax.documents, like the
web pages."""
from __future__ import annotations

import base64
import binascii

from flask import abort, current_app, jsonify, send_file

from models.entities import FaxDocument, Message
from models.tenancy import get_scoped, scoped
from voxcast.messaging.fax import documents
from voxcast.messaging.fax.schemas import FAX_DOCUMENT_CREATE

from . import ID, ApiError, body, bp, paginate, own_tenant_only, scope, target_tenant


def dump_fax_document(doc: FaxDocument) -> dict:
    return {"id": doc.id, "tenant_id": doc.tenant_id, "name": doc.name,
            "filename": doc.filename, "pages": doc.pages, "size_bytes": doc.size_bytes,
            "in_use": documents.in_use(doc),
            "created_at": doc.created_at.isoformat() + "Z"}


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


@bp.get("/fax-documents")
def fax_documents_list():
    query = scoped(FaxDocument, scope()).order_by(FaxDocument.created_at.desc(),
                                                  FaxDocument.id.desc())
    return paginate(query, dump_fax_document)


@bp.post("/fax-documents")
def fax_documents_create():
    data = body(FAX_DOCUMENT_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    try:
        content = base64.b64decode(data["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "validation", "content_base64 is not base64.",
                       {"content_base64": "is not base64"}) from None
    doc = documents.upload(tenant.id, data.get("name", ""), data.get("filename", ""), content,
                           _settings())
    return jsonify(dump_fax_document(doc)), 201


@bp.get(f"/fax-documents/<{ID}:document_id>")
def fax_documents_get(document_id: int):
    return jsonify(dump_fax_document(get_scoped(FaxDocument, scope(), document_id)))


@bp.get(f"/fax-documents/<{ID}:document_id>/preview")
def fax_documents_preview(document_id: int):
    doc = get_scoped(FaxDocument, scope(), document_id)
    path = documents.preview_path(_settings(), doc)
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/pdf", download_name=f"fax-{doc.id}.pdf")


@bp.delete(f"/fax-documents/<{ID}:document_id>")
def fax_documents_delete(document_id: int):
    doc = get_scoped(FaxDocument, scope(), document_id)
    documents.delete(doc.tenant_id, doc.id, _settings())
    return "", 204


@bp.get(f"/faxes/<{ID}:fax_id>/pdf")
def fax_received_pdf(fax_id: int):
    msg = get_scoped(Message, scope(), fax_id)
    if msg.channel != "fax" or msg.direction != "inbound" or not msg.document:
        abort(404)
    path = _settings().faxes_dir / msg.document
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/pdf", download_name=f"fax-{msg.id}.pdf")
