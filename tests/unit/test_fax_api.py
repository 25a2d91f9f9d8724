"""/api/v1/fax-documents and /api/v1/faxes/{id}/pdf through the Flask test client with the
real Ghostscript: upload as base64, the refusals with their codes, list, one, preview, delete
(409 while used), the provider's key naming the tenant, another tenant's ids not found."""
from __future__ import annotations

import base64

from models import Campaign
from models.entities import FaxDocument, Message

from tests.integration.fax_support import make_pdf

from .api_support import Api, admin_api, tenant_key  # noqa: F401  (fixtures)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_given_a_pdf_when_posted_then_a_document_listed_previewed_and_deleted(
        app, client, tenant_key, admin_api, tmp_path):  # noqa: F811
    acme, secret = tenant_key("acme")
    other, other_secret = tenant_key("other")
    api = Api(client, secret)
    pdf = make_pdf(tmp_path / "offer.pdf", 2).read_bytes()
    r = api.post("/api/v1/fax-documents", json={"name": "Offer", "filename": "offer.pdf",
                                                "content_base64": _b64(pdf)})
    assert r.status_code == 201, r.json
    doc = r.json
    assert (doc["name"], doc["pages"], doc["tenant_id"], doc["in_use"]) == ("Offer", 2, acme.id,
                                                                             False)
    assert api.get("/api/v1/fax-documents").json["total"] == 1
    assert api.get(f"/api/v1/fax-documents/{doc['id']}").json["size_bytes"] > 0
    preview = api.get(f"/api/v1/fax-documents/{doc['id']}/preview")
    assert preview.status_code == 200 and preview.get_data() == pdf

    theirs = Api(client, other_secret)
    assert theirs.get("/api/v1/fax-documents").json["total"] == 0
    assert theirs.get(f"/api/v1/fax-documents/{doc['id']}").status_code == 404
    assert theirs.delete(f"/api/v1/fax-documents/{doc['id']}").status_code == 404

    Campaign.create(tenant=acme, name="fax", type="fax", fax_document=doc["id"],
                    status="running")
    r = api.delete(f"/api/v1/fax-documents/{doc['id']}")
    assert r.status_code == 409 and r.json["error"]["code"] == "fax-document-in-use"
    Campaign.update(status="completed").execute()
    assert api.delete(f"/api/v1/fax-documents/{doc['id']}").status_code == 204
    assert FaxDocument.select().count() == 0

    r = admin_api.post("/api/v1/fax-documents", json={"content_base64": _b64(pdf),
                                                      "filename": "x.pdf",
                                                      "tenant_id": other.id})
    assert r.status_code == 201 and r.json["tenant_id"] == other.id and r.json["name"] == "x"


def test_given_bad_uploads_when_posted_then_refused_with_their_codes(
        app, client, tenant_key):  # noqa: F811
    _acme, secret = tenant_key("acme")
    api = Api(client, secret)
    for content, status, code in (("not base64!", 422, "validation"),
                                  (_b64(b"plain text"), 400, "fax-document-type"),
                                  (_b64(b"%PDF-1.4 garbage"), 400, "fax-document-broken")):
        r = api.post("/api/v1/fax-documents", json={"content_base64": content})
        assert (r.status_code, r.json["error"]["code"]) == (status, code), r.json
    assert api.post("/api/v1/fax-documents", json={}).status_code == 422
    assert FaxDocument.select().count() == 0


def test_given_a_received_fax_when_its_pdf_is_asked_for_then_only_its_tenant_gets_it(
        app, client, tenant_key):  # noqa: F811
    acme, secret = tenant_key("acme")
    _other, other_secret = tenant_key("other")
    folder = app.config["VOXCAST_SETTINGS"].faxes_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"t{acme.id}-rx-9.pdf").write_bytes(b"%PDF-1.4 fax")
    msg = Message.create(tenant=acme, channel="fax", direction="inbound", address="+4930",
                         units=1, state="received", document=f"t{acme.id}-rx-9.pdf")
    got = Api(client, secret).get(f"/api/v1/faxes/{msg.id}/pdf")
    assert got.status_code == 200 and got.get_data() == b"%PDF-1.4 fax"
    assert Api(client, other_secret).get(f"/api/v1/faxes/{msg.id}/pdf").status_code == 404


def test_given_a_did_when_patched_to_fax_then_route_detection_and_addresses_are_kept(
        app, client, tenant_key):  # noqa: F811
    from models import Did
    acme, secret = tenant_key("acme")
    did = Did.create(number="4930777002", tenant=acme)
    api = Api(client, secret)
    r = api.patch(f"/api/v1/dids/{did.id}", json={"route": "fax",
                                                  "fax_emails": "in@acme.test"})
    assert r.status_code == 200, r.json
    assert (r.json["route"], r.json["fax_detect"], r.json["fax_emails"]) == (
        "fax", False, "in@acme.test")
    r = api.patch(f"/api/v1/dids/{did.id}", json={"route": "greeting", "fax_detect": True})
    assert (r.json["route"], r.json["fax_detect"]) == ("greeting", True)
    r = api.patch(f"/api/v1/dids/{did.id}", json={"fax_emails": "nope"})
    assert r.status_code == 422 and "fax_emails" in r.json["error"]["fields"]
