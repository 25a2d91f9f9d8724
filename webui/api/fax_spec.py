"""The OpenAPI part of /api/v1/fax-documents and /api/v1/faxes (webui/api/fax.py), merged
into the document by webui.api.spec.build()."""
from __future__ import annotations

from voxcast.messaging.fax.schemas import FAX_DOCUMENT_CREATE
from voxcast.schemas import DATETIME, ID, STRING, out

from .spec import ERRORS, PAGING, TENANT_FILTER, WRITE, json_content, op, page_of, path_id, ref


def schemas() -> dict:
    return {"FaxDocument": out({
        "id": ID, "tenant_id": ID, "name": STRING, "filename": STRING,
        "pages": {"type": "integer", "description": "pages of the fax TIFF sent"},
        "size_bytes": {"type": "integer", "description": "the fax TIFF and the preview PDF; "
                                                         "counted in the disk quota"},
        "in_use": {"type": "boolean", "description": "an unfinished campaign sends it"},
        "created_at": DATETIME})}


def _pdf(summary: str, tag: str) -> dict:
    pdf = {"description": "The PDF",
           "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
    return {"summary": summary, "tags": [tag], "parameters": [TENANT_FILTER],
            "responses": {"200": pdf, **{code: {"description": ERRORS[code],
                                                "content": json_content(ref("Error"))}
                                         for code in ("400", "401", "403", "404")}}}


def paths() -> dict:
    tag = "Fax"
    return {
        "/fax-documents": {
            "get": op("List the tenant's fax documents (what fax campaigns send: "
                      "fax_document_id)", "One page", page_of("FaxDocument"), tag=tag,
                      params=(*PAGING, TENANT_FILTER)),
            "post": op("Upload a PDF or TIFF (base64): converted to fax format (204 x 196 "
                       "dpi, fitted to the page) and its pages counted; refused when it is "
                       "not a PDF or TIFF, encrypted, damaged, too large or over the disk "
                       "quota", "Uploaded", ref("FaxDocument"), status="201",
                       request=FAX_DOCUMENT_CREATE, tag=tag, errors=WRITE,
                       extra={"413": {"description": "The file is larger than the limit.",
                                      "content": json_content(ref("Error"))}}),
        },
        "/fax-documents/{id}": {"parameters": [path_id()],
                                "get": op("One fax document", "The document",
                                          ref("FaxDocument"), tag=tag, params=(TENANT_FILTER,)),
                                "delete": op("Delete a document no unfinished campaign uses "
                                             "(409 otherwise)", "Deleted", status="204",
                                             tag=tag, errors=("400", "401", "403", "404",
                                                              "409"))},
        "/fax-documents/{id}/preview": {"parameters": [path_id()],
                                        "get": _pdf("The document as PDF (the preview)", tag)},
        "/faxes/{id}/pdf": {"parameters": [path_id()],
                            "get": _pdf("A received fax as PDF (the id of its inbound fax "
                                        "message in /messages)", tag)},
    }
