"""The fax pages through the Flask test client on a real SQLite file, with the real
Ghostscript: upload (and a refused upload saying why), the list with pages and size, the
preview PDF, delete (refused while a running campaign uses it), the received faxes and their
PDF; another tenant's document or fax is not found."""
from __future__ import annotations

import io

from models import Campaign
from models.entities import FaxDocument, Message

from tests.integration.fax_support import make_pdf


def _login(auth, user):
    r = auth.login(user.username, f"pw-{user.username}")
    assert r.status_code in (302, 303), r.get_data(as_text=True)


def test_given_a_pdf_when_uploaded_on_the_page_then_listed_previewed_and_deleted(
        app, client, auth, make_tenant, tmp_path):
    acme, user = make_tenant("acme")
    _login(auth, user)
    pdf = make_pdf(tmp_path / "offer.pdf", 2).read_bytes()
    r = auth.post("/fax/documents/", data={"name": "Offer",
                                           "document": (io.BytesIO(pdf), "offer.pdf")},
                  content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    doc = FaxDocument.get(FaxDocument.tenant == acme.id)
    html = client.get("/fax/documents/").get_data(as_text=True)
    assert "Offer" in html and "offer.pdf" in html and f'data-id="{doc.id}"' in html
    preview = client.get(f"/fax/documents/{doc.id}/preview.pdf")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert preview.get_data() == pdf

    campaign = Campaign.create(tenant=acme, name="fax", type="fax", fax_document=doc,
                               status="running")
    r = auth.post(f"/fax/documents/{doc.id}/delete", follow_redirects=True)
    assert "used by a campaign" in r.get_data(as_text=True)
    assert FaxDocument.select().count() == 1
    Campaign.update(status="stopped").where(Campaign.id == campaign.id).execute()
    auth.post(f"/fax/documents/{doc.id}/delete")
    assert FaxDocument.select().count() == 0


def test_given_a_text_file_when_uploaded_then_the_page_says_why_and_stores_nothing(
        client, auth, make_tenant):
    _acme, user = make_tenant("acme")
    _login(auth, user)
    r = auth.post("/fax/documents/", data={"document": (io.BytesIO(b"just text"), "a.pdf")},
                  content_type="multipart/form-data")
    assert r.status_code == 400
    assert "Only PDF and TIFF files can be faxed." in r.get_data(as_text=True)
    assert FaxDocument.select().count() == 0


def test_given_another_tenants_document_and_fax_when_asked_for_then_not_found(
        app, client, auth, make_tenant, tmp_path):
    acme, user = make_tenant("acme")
    other, _ = make_tenant("other")
    settings = app.config["VOXCAST_SETTINGS"]
    settings.faxes_dir.mkdir(parents=True, exist_ok=True)
    (settings.faxes_dir / f"t{other.id}-rx-1.pdf").write_bytes(b"%PDF-1.4 B-secret")
    (settings.faxes_dir / f"t{acme.id}-rx-2.pdf").write_bytes(b"%PDF-1.4 mine")
    theirs = FaxDocument.create(tenant=other, name="B-secret", tiff="x.tif",
                                pdf=f"t{other.id}-rx-1.pdf", pages=1)
    their_fax = Message.create(tenant=other, channel="fax", direction="inbound",
                               address="+4930999", sender="4930111", units=1,
                               state="received", document=f"t{other.id}-rx-1.pdf")
    mine = Message.create(tenant=acme, channel="fax", direction="inbound", address="+4930555",
                          sender="4930222", units=3, state="received",
                          document=f"t{acme.id}-rx-2.pdf", external_id="ACME STATION")
    _login(auth, user)
    assert client.get(f"/fax/documents/{theirs.id}/preview.pdf").status_code == 404
    auth.post(f"/fax/documents/{theirs.id}/delete")
    assert FaxDocument.get_or_none(FaxDocument.id == theirs.id) is not None
    assert client.get(f"/fax/inbox/{their_fax.id}/fax.pdf").status_code == 404
    inbox = client.get("/fax/inbox/").get_data(as_text=True)
    assert "+4930555" in inbox and "ACME STATION" in inbox and "+4930999" not in inbox
    got = client.get(f"/fax/inbox/{mine.id}/fax.pdf?download=1")
    assert got.status_code == 200 and got.get_data() == b"%PDF-1.4 mine"
    assert "attachment" in got.headers["Content-Disposition"]


def test_given_the_did_page_when_routed_to_fax_then_saved_with_detection_and_addresses(
        client, auth, make_tenant):
    from models import Did
    acme, user = make_tenant("acme")
    did = Did.create(number="4930777001", tenant=acme)
    _login(auth, user)
    html = client.get("/dids/").get_data(as_text=True)
    assert 'value="fax"' in html and 'name="fax_emails"' in html
    r = auth.post(f"/dids/{did.id}", data={"destination": "fax", "closed": "",
                                          "fax_emails": "a@acme.test, b@acme.test"})
    assert r.status_code == 302
    did = Did.get_by_id(did.id)
    assert (did.route, did.fax_detect, did.fax_emails) == ("fax", False, "a@acme.test\nb@acme.test")
    assert 'value="fax" selected' in client.get("/dids/").get_data(as_text=True)
    auth.post(f"/dids/{did.id}", data={"destination": "greeting", "closed": "",
                                      "fax_detect": "1", "fax_emails": "a@acme.test"})
    did = Did.get_by_id(did.id)
    assert (did.route, did.fax_detect, did.fax_emails) == ("greeting", True, "a@acme.test")
    r = auth.post(f"/dids/{did.id}", data={"destination": "greeting", "closed": "",
                                          "fax_emails": "not-an-address"},
                  follow_redirects=True)
    assert "Not an e-mail address: not-an-address" in r.get_data(as_text=True)
    assert Did.get_by_id(did.id).fax_emails == "a@acme.test"
