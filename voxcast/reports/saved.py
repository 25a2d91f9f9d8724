"""Saved reports: a tenant's report-builder definitions under a name, shared by the tenant's
managers (the owner is who saved it). The definition is validated before it is stored, so a
saved report always runs; the portal and the API both come through here."""
from __future__ import annotations

import json

from peewee import IntegrityError

from models.db import database
from models.entities import SavedReport, User, utcnow
from models.tenancy import get_scoped, scoped
from voxcast.errors import ServiceError
from voxcast.reports import builder

MAX_NAME = 100


class SavedReportError(ServiceError):
    code = "invalid"
    status = 422

    def __init__(self, message: str, field: str = "name", code: str | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status


def _name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise SavedReportError("A report needs a name.")
    if len(name) > MAX_NAME:
        raise SavedReportError(f"A report's name has at most {MAX_NAME} characters.")
    return name


def _taken(tenant_id: int, name: str, except_id: int | None = None) -> bool:
    query = scoped(SavedReport, tenant_id).where(SavedReport.name == name)
    if except_id is not None:
        query = query.where(SavedReport.id != except_id)
    return query.exists()


def _store(row: SavedReport) -> SavedReport:
    try:
        with database.atomic():
            row.save()
    except IntegrityError:  # another save of the same name won the race
        raise SavedReportError("A report of that name exists already.", code="name-taken",
                               status=409) from None
    return row


def list_reports(tenant_id: int) -> list[SavedReport]:
    return list(scoped(SavedReport, tenant_id).order_by(SavedReport.name))


def get(tenant_id: int, report_id: int) -> SavedReport:
    return get_scoped(SavedReport, tenant_id, report_id)


def definition_of(row: SavedReport) -> builder.Definition:
    return builder.validate(row.definition)


def create(tenant_id: int, owner: User | None, name, definition) -> SavedReport:
    name = _name(name)
    d = builder.validate(definition)
    if _taken(tenant_id, name):
        raise SavedReportError("A report of that name exists already.", code="name-taken",
                               status=409)
    now = utcnow()
    return _store(SavedReport(tenant=tenant_id, owner=owner.id if owner else None, name=name,
                              definition=json.dumps(d.as_json()), created_at=now,
                              updated_at=now))


def update(tenant_id: int, report_id: int, *, name=None, definition=None) -> SavedReport:
    """Rename and/or replace the definition (None: keep)."""
    row = get(tenant_id, report_id)
    if name is not None:
        row.name = _name(name)
        if _taken(tenant_id, row.name, row.id):
            raise SavedReportError("A report of that name exists already.", code="name-taken",
                                   status=409)
    if definition is not None:
        row.definition = json.dumps(builder.validate(definition).as_json())
    row.updated_at = utcnow()
    return _store(row)


def delete(tenant_id: int, report_id: int) -> None:
    row = get(tenant_id, report_id)
    row.delete_instance()


def dump(row: SavedReport) -> dict:
    return {"id": row.id, "tenant_id": row.tenant_id, "name": row.name,
            "owner_id": row.owner_id, "definition": json.loads(row.definition or "{}"),
            "created_at": row.created_at.isoformat() + "Z",
            "updated_at": row.updated_at.isoformat() + "Z"}
