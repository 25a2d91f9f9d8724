"""Fax documents: PDF and TIFF uploads converted with the real Ghostscript and libtiff tools
to fax TIFF (204 x 196 dpi, 1728 pixels wide), pages counted, a preview PDF kept, counted in
the tenant's disk quota; every refusal is a FaxDocumentError with its own code and leaves no
file behind."""
from __future__ import annotations

import subprocess

import pytest

from models import Campaign, Tenant
from models.entities import FaxDocument
from voxcast.messaging.fax import convert, documents
from voxcast.messaging.fax.errors import (FaxDocumentError, FaxDocumentInUse,
                                          FaxDocumentNotFound, FaxDocumentTooLarge)
from voxcast.tenants import quotas
from voxcast.tenants.quotas import QuotaExceeded

from tests.integration.fax_support import make_pdf


def _gs(args: list[str]) -> None:
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", *args], check=True,
                   timeout=60)


@pytest.fixture
def tenant(db):
    return Tenant.create(name="faxer", slug="faxer", disk_quota_mb=50)


def _left(settings) -> list[str]:
    folder = settings.faxes_dir
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _tiffinfo(path) -> str:
    return subprocess.run(["tiffinfo", str(path)], capture_output=True, text=True).stdout


def test_given_a_two_page_pdf_when_uploaded_then_a_fax_tiff_at_fax_resolution_and_a_preview(
        tenant, settings, tmp_path):
    doc = documents.upload(tenant.id, "", "Price list.pdf",
                           make_pdf(tmp_path / "two.pdf", 2).read_bytes(), settings)
    assert (doc.name, doc.filename, doc.pages) == ("Price list", "Price list.pdf", 2)
    tiff, pdf = settings.faxes_dir / doc.tiff, settings.faxes_dir / doc.pdf
    assert doc.tiff.startswith(f"t{tenant.id}-doc-") and tiff.is_file()
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert doc.size_bytes == tiff.stat().st_size + pdf.stat().st_size
    info = _tiffinfo(tiff)
    assert info.count("TIFF Directory at offset") == 2
    assert "Image Width: 1728" in info
    assert "Resolution: 204, 196 pixels/inch" in info
    assert "CCITT Group 4" in info
    assert documents.choices(tenant.id) == [(doc.id, "Price list (2 p.)")]
    assert documents.preview_path(settings, doc) == pdf


def test_given_a_letter_size_pdf_when_uploaded_then_it_is_fitted_to_the_fax_page(
        tenant, settings, tmp_path):
    src = tmp_path / "letter.ps"
    src.write_text("%!PS\n<< /PageSize [612 792] >> setpagedevice\n"
                   "/Helvetica findfont 40 scalefont setfont 72 700 moveto (Letter) show "
                   "showpage\n")
    _gs(["-sDEVICE=pdfwrite", f"-sOutputFile={tmp_path / 'letter.pdf'}", str(src)])
    doc = documents.upload(tenant.id, "letter", "letter.pdf",
                           (tmp_path / "letter.pdf").read_bytes(), settings)
    info = _tiffinfo(settings.faxes_dir / doc.tiff)
    assert doc.pages == 1 and "Image Width: 1728 Image Length: 2292" in info


def test_given_a_multipage_tiff_when_uploaded_then_its_pages_are_counted_and_a_pdf_made(
        tenant, settings, tmp_path):
    pdf = make_pdf(tmp_path / "three.pdf", 3)
    scan = tmp_path / "scan.tif"
    _gs(["-sDEVICE=tiffg3", "-r200x200", f"-sOutputFile={scan}", str(pdf)])
    doc = documents.upload(tenant.id, "scan", "scan.tif", scan.read_bytes(), settings)
    assert doc.pages == 3
    assert (settings.faxes_dir / doc.pdf).read_bytes().startswith(b"%PDF-")
    assert "Image Width: 1728" in _tiffinfo(settings.faxes_dir / doc.tiff)


@pytest.mark.parametrize("data, code", [
    (b"", "fax-document-empty"),
    (b"Hello, this is a text file, not a document.\n", "fax-document-type"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "fax-document-type"),
    (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage garbage\n%%EOF\n", "fax-document-broken"),
    (b"II*\x00" + b"\x00" * 64, "fax-document-broken"),
])
def test_given_a_bad_upload_when_uploaded_then_a_clear_error_and_nothing_left_behind(
        tenant, settings, data, code):
    with pytest.raises(FaxDocumentError) as err:
        documents.upload(tenant.id, "bad", "bad.pdf", data, settings)
    assert err.value.code == code and err.value.status == 400 and str(err.value)
    assert err.value.fields == {"file": str(err.value)}
    assert _left(settings) == [] and FaxDocument.select().count() == 0


def test_given_an_encrypted_pdf_when_uploaded_then_refused_as_encrypted(
        tenant, settings, tmp_path):
    plain = make_pdf(tmp_path / "plain.pdf", 1)
    locked = tmp_path / "locked.pdf"
    _gs(["-sDEVICE=pdfwrite", "-sOwnerPassword=owner", "-sUserPassword=secret",
         f"-sOutputFile={locked}", str(plain)])
    with pytest.raises(FaxDocumentError) as err:
        documents.upload(tenant.id, "locked", "locked.pdf", locked.read_bytes(), settings)
    assert err.value.code == "fax-document-encrypted"
    assert _left(settings) == [] and FaxDocument.select().count() == 0


def test_given_a_pdf_over_the_size_limit_when_uploaded_then_refused_before_converting(
        tenant, settings, tmp_path):
    data = make_pdf(tmp_path / "one.pdf", 1).read_bytes()
    with pytest.raises(FaxDocumentTooLarge) as err:
        documents.upload(tenant.id, "big", "big.pdf", data, settings, max_bytes=len(data) - 1)
    assert err.value.status == 413 and err.value.code == "fax-document-too-large"
    assert _left(settings) == []
    with pytest.raises(FaxDocumentTooLarge):
        convert.check_upload(b"%PDF-" + b"0" * convert.MAX_BYTES)


def test_given_documents_when_quota_is_measured_then_they_count_and_a_full_quota_refuses(
        tenant, settings, tmp_path):
    before = quotas.disk_bytes(tenant, settings.sounds_dir)
    doc = documents.upload(tenant.id, "one", "one.pdf",
                           make_pdf(tmp_path / "one.pdf", 1).read_bytes(), settings)
    assert quotas.disk_bytes(tenant, settings.sounds_dir) == before + doc.size_bytes
    other = Tenant.create(name="other", slug="other")
    assert quotas.disk_bytes(other, settings.sounds_dir) == 0  # t<id>- files are per tenant
    Tenant.update(disk_quota_mb=0).where(Tenant.id == tenant.id).execute()
    with pytest.raises(QuotaExceeded):
        documents.upload(tenant.id, "two", "two.pdf",
                         make_pdf(tmp_path / "two.pdf", 1).read_bytes(), settings)
    assert len(_left(settings)) == 2 and FaxDocument.select().count() == 1


def test_given_a_document_used_by_a_running_campaign_when_deleted_then_refused_until_it_ends(
        tenant, settings, tmp_path):
    doc = documents.upload(tenant.id, "one", "one.pdf",
                           make_pdf(tmp_path / "one.pdf", 1).read_bytes(), settings)
    campaign = Campaign.create(tenant=tenant, name="fax", type="fax", fax_document=doc,
                               status="running")
    with pytest.raises(FaxDocumentInUse):
        documents.delete(tenant.id, doc.id, settings)
    other = Tenant.create(name="other", slug="other")
    with pytest.raises(FaxDocumentNotFound):
        documents.delete(other.id, doc.id, settings)  # another tenant's: not found
    Campaign.update(status="completed").where(Campaign.id == campaign.id).execute()
    documents.delete(tenant.id, doc.id, settings)
    assert _left(settings) == [] and FaxDocument.select().count() == 0
