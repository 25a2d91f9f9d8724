"""Typed errors of the fax documents (voxcast.errors.ServiceError: stable code, HTTP status)."""
from __future__ import annotations

from voxcast.errors import ServiceError


class FaxDocumentError(ServiceError):
    """An upload that cannot be faxed: the message says why, in the user's words."""
    code = "fax-document-invalid"
    status = 400
    field = "file"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class FaxDocumentTooLarge(FaxDocumentError):
    code = "fax-document-too-large"
    status = 413


class FaxDocumentInUse(ServiceError):
    code = "fax-document-in-use"
    status = 409


class FaxDocumentNotFound(ServiceError):
    code = "no-such-fax-document"
    status = 404
