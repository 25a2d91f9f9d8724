"""Fax in the tenant's portal, in Debian's Chromium: the tenant's admin uploads a 2-page PDF
(and a password-protected one, refused on the form), routes a DID to receive faxes with an
address; a fax campaign sends the uploaded document to that DID through the real Asterisk
(trunk looped back) and the received fax is listed on the inbox page with its PDF."""
from __future__ import annotations

import subprocess

from voxcast.accounts.passwords import hash_password

from models import Did, User
from models.entities import FaxDocument

from .factories import unique_phones
from .fax_support import fax_looped_back, make_pdf
from .test_fax_send import _campaign, _tenant


FETCH = """async (url) => {
  const r = await fetch(url);
  const b = new Uint8Array(await r.arrayBuffer());
  return [r.status, r.headers.get("content-type"), b.length,
          String.fromCharCode(...b.slice(0, 5))];
}"""


def _fetch(page, url: str) -> list:
    """Fetched by the page itself (its cookies, its host mapping): status, type, size, start."""
    return page.evaluate(FETCH, url)


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def test_given_the_portal_when_a_document_is_uploaded_and_faxed_then_the_inbox_shows_it(
        page, web, stasis_app, settings, workdir):
    tenant = _tenant()
    User.create(tenant=tenant, username=f"fax-admin-{tenant.id}", role="tenant",
                password_hash=hash_password("Fax-Admin-Pass-1"))
    (phone,) = unique_phones(1)
    did = Did.create(number=phone.lstrip("+"), tenant=tenant)
    two = make_pdf(workdir / "two.pdf", 2)
    locked = workdir / "locked.pdf"
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
                    "-sOwnerPassword=o", "-sUserPassword=u", f"-sOutputFile={locked}",
                    str(two)], check=True, timeout=60)

    base = web.tenant_url(tenant.slug)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", f"fax-admin-{tenant.id}")
    page.fill("input[name=password]", "Fax-Admin-Pass-1")
    _submit(page, "form:has(input[name=password])")

    page.goto(f"{base}/fax/documents/")
    page.set_input_files("input[name=document]", str(locked))
    _submit(page, "form:has(input[name=document])")
    assert "encrypted or password protected" in page.content()
    page.fill("input[name=name]", "Price list")
    page.set_input_files("input[name=document]", str(two))
    _submit(page, "form:has(input[name=document])")
    row = page.locator("#fax-documents tr", has_text="Price list")
    assert row.locator("td.num").first.inner_text().strip() == "2"
    doc = FaxDocument.get(FaxDocument.tenant == tenant.id)
    assert _fetch(page, f"/fax/documents/{doc.id}/preview.pdf") == [
        200, "application/pdf", len(two.read_bytes()), "%PDF-"]

    page.goto(f"{base}/dids/")
    did_row = page.locator(f"tr[data-id='{did.id}']")
    did_row.locator("select[name=destination]").select_option("fax")
    did_row.locator("textarea[name=fax_emails]").fill("office@example.test")
    did_row.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    did = Did.get_by_id(did.id)
    assert (did.route, did.fax_emails) == ("fax", "office@example.test")

    campaign = _campaign(tenant, settings, [phone], doc, retry_failed=0)
    received = fax_looped_back(campaign, settings)
    page.goto(f"{base}/fax/inbox/")
    inbox_row = page.locator(f"#fax-inbox tr[data-id='{received.id}']")
    assert inbox_row.locator("td.num").inner_text().strip() == "2"
    size = (settings.faxes_dir / received.document).stat().st_size
    assert _fetch(page, f"/fax/inbox/{received.id}/fax.pdf") == [
        200, "application/pdf", size, "%PDF-"]
