"""A tenant's fax documents: upload (converted by voxcast.messaging.fax.convert, counted in
its disk quota), list, the campaign form's choices, preview, delete while no campaign that may
still send uses it. The files are <faxes_dir>/t<tenant>-doc-<token>.tif / .pdf; a failed upload
leaves nothing behind (converted in a work dir under faxes_dir, moved in place at the end)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from models import Campaign, Tenant
from models.entities import FaxDocument
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.config import Settings
from voxcast.i18n import N_
from voxcast.messaging.fax import convert
from voxcast.messaging.fax.errors import (FaxDocumentError, FaxDocumentInUse,
                                          FaxDocumentNotFound)
from voxcast.tenants import quotas

# Campaigns in these states will not send again: their document may go.
DONE_STATUSES = ("completed", "stopped")


def fax_dir(settings: Settings) -> Path:
    """faxes_dir, created so that Asterisk (user asterisk in its filesystem) reads the
    documents and writes received faxes there."""
    path = settings.faxes_dir
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        try:
            from voxcast.runtime.asterisk import _asterisk_ids
            if os.geteuid() == 0:
                uid, gid = _asterisk_ids(settings)
                os.chown(path, uid, gid)
        except Exception:  # not a chroot we provisioned: a plain directory will do
            pass
        path.chmod(0o2775)
    return path


def tenant_files(tenant_id: int, faxes_dir: Path) -> list[Path]:
    """Every fax file of the tenant (documents, received faxes and their PDFs): the quota's."""
    return list(faxes_dir.glob(f"t{int(tenant_id)}-*")) if faxes_dir.is_dir() else []


def upload(tenant_id: int, name: str, filename: str, data: bytes, settings: Settings,
           max_bytes: int = convert.MAX_BYTES) -> FaxDocument:
    """Convert and store an upload; FaxDocumentError (or quotas.QuotaExceeded) says why not."""
    name = (name or "").strip() or Path(filename or "").stem or "fax"
    convert.check_upload(data, max_bytes)  # the cheap refusals before any work
    tenant = Tenant.get_by_id(tenant_id)
    quotas.check(tenant, "disk_mb", len(data) / (1024 * 1024), settings.sounds_dir)
    folder = fax_dir(settings)
    work = folder / f".upload-{uuid.uuid4().hex}"
    token = uuid.uuid4().hex[:16]
    tiff = folder / f"t{tenant_id}-doc-{token}.tif"
    pdf = folder / f"t{tenant_id}-doc-{token}.pdf"
    try:
        done = convert.convert(data, work, max_bytes)
        size = done.tiff.stat().st_size + done.pdf.stat().st_size
        quotas.check(tenant, "disk_mb", size / (1024 * 1024), settings.sounds_dir)
        for path in (done.tiff, done.pdf):
            path.chmod(0o644)
        os.replace(done.tiff, tiff)
        os.replace(done.pdf, pdf)
        return FaxDocument.create(tenant=tenant_id, name=name[:255],
                                  filename=(filename or "")[:255], tiff=tiff.name,
                                  pdf=pdf.name, pages=done.pages, size_bytes=size)
    except BaseException:
        tiff.unlink(missing_ok=True)
        pdf.unlink(missing_ok=True)
        raise
    finally:
        convert.remove_tree(work)


def documents(tenant_id: int) -> list[FaxDocument]:
    return list(scoped(FaxDocument, tenant_id).order_by(FaxDocument.created_at.desc(),
                                                        FaxDocument.id.desc()))


def choices(tenant_id: int) -> list[tuple[int, str]]:
    """For the campaign form's fax_document select: (id, "name (N pages)"), newest first."""
    return [(d.id, f"{d.name} ({d.pages} p.)") for d in documents(tenant_id)]


def get(tenant_id: int, document_id) -> FaxDocument:
    try:
        return get_scoped(FaxDocument, tenant_id, document_id)
    except TenantScopeError:
        raise FaxDocumentNotFound(N_("No such fax document.")) from None


def users(doc: FaxDocument) -> list[Campaign]:
    """Campaigns that may still send this document."""
    return list(Campaign.select().where(Campaign.fax_document == doc.id,
                                        Campaign.tenant == doc.tenant_id,
                                        Campaign.status.not_in(DONE_STATUSES)))


def in_use(doc: FaxDocument) -> bool:
    return bool(users(doc))


def preview_path(settings: Settings, doc: FaxDocument) -> Path | None:
    path = settings.faxes_dir / doc.pdf if doc.pdf else None
    return path if path is not None and path.is_file() else None


def delete(tenant_id: int, document_id, settings: Settings) -> None:
    doc = get(tenant_id, document_id)
    if in_use(doc):
        raise FaxDocumentInUse(N_("The document is used by a campaign that has not finished."))
    doc.delete_instance()
    for name in (doc.tiff, doc.pdf):
        if name:
            (settings.faxes_dir / name).unlink(missing_ok=True)


def check_sendable(tenant_id: int, document_id) -> FaxDocument:
    """For starting a fax campaign: the document exists, is the tenant's and has pages."""
    if document_id is None:
        raise FaxDocumentError(N_("Choose the document to fax."), "fax-document-missing")
    doc = get(tenant_id, document_id)
    if doc.pages <= 0 or not doc.tiff:
        raise FaxDocumentError(N_("The fax document has no pages."), "fax-document-empty")
    return doc
