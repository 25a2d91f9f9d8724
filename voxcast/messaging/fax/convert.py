"""PDF or TIFF in, fax TIFF out: Ghostscript renders each page at fax resolution (204 x 196
dpi, 1728 pixels wide: the T.4 width SendFAX needs), fitted onto the page whatever its size
(A4, letter, ...), G4-compressed (spandsp re-encodes to what the far end negotiates). A TIFF is
turned into a PDF first (tiff2pdf), which is also the preview; an uploaded PDF is its own
preview. Pages are counted on the result (tiffinfo). Pure file work, no database: the caller
(voxcast.messaging.fax.documents) decides names and where the files go."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from voxcast.i18n import N_
from voxcast.messaging.fax.errors import FaxDocumentError, FaxDocumentTooLarge

MAX_BYTES = 10 * 1024 * 1024  # an upload larger than this is refused before any conversion
MAX_PAGES = 50
FAX_WIDTH_PX = 1728  # 8.47 in at 204 dpi: the standard T.4 line
FAX_HEIGHT_PX = 2292  # 11.69 in (A4) at 196 dpi; letter (11 in) fits in it
TOOL_TIMEOUT_S = 120

PDF_MAGIC = b"%PDF-"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*")


@dataclass(frozen=True)
class Converted:
    tiff: Path
    pdf: Path
    pages: int


def kind_of(data: bytes) -> str:
    """'pdf', 'tiff' or '' (neither) by the file's first bytes, never by its name."""
    head = data[:1024]
    if PDF_MAGIC in head:
        return "pdf"
    if head[:4] in TIFF_MAGICS:
        return "tiff"
    return ""


def is_encrypted_pdf(data: bytes) -> bool:
    """A PDF with an /Encrypt dictionary (in the trailer or a cross-reference stream): even
    one that opens without a password may forbid printing; none is faxed."""
    return re.search(rb"/Encrypt\s*(\d+\s+\d+\s+R|<<)", data) is not None


def check_upload(data: bytes, max_bytes: int = MAX_BYTES) -> str:
    """The upload's kind, or FaxDocumentError saying why it cannot be faxed."""
    if not data:
        raise FaxDocumentError(N_("The file is empty."), "fax-document-empty")
    if len(data) > max_bytes:
        raise FaxDocumentTooLarge(N_("The file is too large to fax (at most %(mb)s MB).")
                                  % {"mb": max_bytes // (1024 * 1024)})
    kind = kind_of(data)
    if not kind:
        raise FaxDocumentError(N_("Only PDF and TIFF files can be faxed."),
                               "fax-document-type")
    if kind == "pdf" and is_encrypted_pdf(data):
        raise FaxDocumentError(N_("The PDF is encrypted or password protected; save it "
                                  "without protection and upload it again."),
                               "fax-document-encrypted")
    return kind


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=TOOL_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise RuntimeError(f"{cmd[0]} is not installed (Debian: ghostscript, libtiff-tools)")
    except subprocess.TimeoutExpired:
        raise FaxDocumentError(N_("The document took too long to convert."),
                               "fax-document-timeout") from None


def count_pages(tiff: Path) -> int:
    """Pages (TIFF directories) of a TIFF, 0 when tiffinfo cannot read it."""
    out = _run(["tiffinfo", str(tiff)])
    if out.returncode != 0:
        return 0
    return out.stdout.count(b"TIFF Directory at offset")


def pdf_to_fax_tiff(pdf: Path, tiff: Path) -> None:
    out = _run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOPROMPT",
                "-sDEVICE=tiffg4", "-r204x196", f"-g{FAX_WIDTH_PX}x{FAX_HEIGHT_PX}",
                "-dFIXEDMEDIA", "-dPDFFitPage", "-dPDFSTOPONERROR",
                f"-dLastPage={MAX_PAGES + 1}", "-sPDFPassword=",
                f"-sOutputFile={tiff}", str(pdf)])
    if out.returncode != 0 or not tiff.exists() or tiff.stat().st_size == 0:
        text = (out.stderr + out.stdout).decode(errors="replace")
        if "password" in text.lower():
            raise FaxDocumentError(N_("The PDF is encrypted or password protected; save it "
                                      "without protection and upload it again."),
                                   "fax-document-encrypted")
        raise FaxDocumentError(N_("The PDF cannot be read (damaged or not a PDF)."),
                               "fax-document-broken")


def tiff_to_pdf(tiff: Path, pdf: Path) -> None:
    out = _run(["tiff2pdf", "-o", str(pdf), str(tiff)])
    if out.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise FaxDocumentError(N_("The TIFF cannot be read (damaged or not a TIFF)."),
                               "fax-document-broken")


def convert(data: bytes, workdir: Path, max_bytes: int = MAX_BYTES) -> Converted:
    """Convert an upload inside `workdir` (created, emptied by the caller on failure): returns
    fax.tif and preview.pdf there with the page count; FaxDocumentError when it cannot be
    faxed (empty, too large, not PDF/TIFF, encrypted, damaged, no pages, too many pages)."""
    kind = check_upload(data, max_bytes)
    workdir.mkdir(parents=True, exist_ok=True)
    pdf, tiff = workdir / "preview.pdf", workdir / "fax.tif"
    if kind == "tiff":
        source = workdir / "upload.tif"
        source.write_bytes(data)
        tiff_to_pdf(source, pdf)
        source.unlink()
    else:
        pdf.write_bytes(data)
    pdf_to_fax_tiff(pdf, tiff)
    pages = count_pages(tiff)
    if pages == 0:
        raise FaxDocumentError(N_("The document has no pages to fax."), "fax-document-empty")
    if pages > MAX_PAGES:
        raise FaxDocumentError(N_("The document has more than %(max)s pages.")
                               % {"max": MAX_PAGES}, "fax-document-too-long")
    return Converted(tiff, pdf, pages)


def received_to_pdf(tiff: Path, pdf: Path) -> int:
    """A received fax TIFF as PDF (tiff2pdf); returns its pages (0: nothing readable)."""
    pages = count_pages(tiff)
    if pages:
        tiff_to_pdf(tiff, pdf)
    return pages


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
