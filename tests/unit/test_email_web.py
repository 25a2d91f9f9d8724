"""The e-mail pages and API on a real SQLite file through the Flask test client: the public
unsubscribe link (confirm form, RFC 8058 one-click without cookies, tampered tokens), the
tenant's e-mail DNC page and /api/v1/email-dnc, and the campaign preview's sandboxed HTML."""
from __future__ import annotations

import io

import pytest

from models import Campaign, Contact, ContactGroup, TenantLog
from models.entities import EmailDnc
from voxcast.messaging.email.tokens import Signer

from .api_support import Api, admin_api, tenant_key  # noqa: F401  (fixtures)


def _signer(app):
    return Signer(app.config["SECRET_KEY"])


def _dnc(tenant):
    return {(r.address, r.source) for r in EmailDnc.select().where(EmailDnc.tenant == tenant.id)}


def test_given_a_one_click_post_without_cookies_when_sent_then_the_address_is_on_the_dnc_once(
        app, client, make_tenant):
    acme, _ = make_tenant("acme")
    other, _ = make_tenant("other")
    token = _signer(app).unsubscribe_token(acme.id, "Ann@Example.com", None)
    for _ in range(2):  # idempotent
        client.delete_cookie("session")
        r = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 200, r.get_data(as_text=True)
        assert "Set-Cookie" not in r.headers
    assert _dnc(acme) == {("ann@example.com", "unsubscribe")}
    assert _dnc(other) == set()
    logs = TenantLog.select().where(TenantLog.tenant == acme.id, TenantLog.action == "email_dnc.add")
    assert logs.count() == 1 and "one-click" in logs.get().detail


def test_given_the_link_when_opened_then_a_confirm_form_unsubscribes_and_needs_its_csrf_token(
        app, client, make_tenant):
    acme, _ = make_tenant("acme")
    token = _signer(app).unsubscribe_token(acme.id, "bob@example.com", 4)
    page = client.get(f"/u/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "bob@example.com" in html and "<form" in html
    assert _dnc(acme) == set()  # opening the link (a mail scanner) unsubscribes no one
    assert client.post(f"/u/{token}", data={}).status_code == 400  # no CSRF token, not one-click
    assert _dnc(acme) == set()
    from .conftest import CSRF_RE
    csrf = CSRF_RE.search(html).group(1)
    done = client.post(f"/u/{token}", data={"csrf_token": csrf})
    assert done.status_code == 200 and "no more e-mails" in done.get_data(as_text=True)
    assert _dnc(acme) == {("bob@example.com", "unsubscribe")}


def test_given_a_tampered_or_foreign_token_when_used_then_it_is_refused_clearly(app, client,
                                                                                make_tenant):
    acme, _ = make_tenant("acme")
    token = _signer(app).unsubscribe_token(acme.id, "ann@example.com", None)
    forged = Signer("another-instance").unsubscribe_token(acme.id, "ann@example.com", None)
    for bad in (token[:-3] + "xyz", forged, "preview"):
        for method in ("get", "post"):
            r = getattr(client, method)(f"/u/{bad}", data={"List-Unsubscribe": "One-Click"})
            assert r.status_code == 400 and "not valid" in r.get_data(as_text=True)
    gone = _signer(app).unsubscribe_token(999999, "ann@example.com", None)  # no such tenant
    assert client.post(f"/u/{gone}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert EmailDnc.select().count() == 0


def test_given_the_email_dnc_page_when_adding_uploading_searching_removing_then_the_list_follows(
        client, auth, make_tenant):
    acme, user = make_tenant("acme")
    other, _ = make_tenant("other")
    EmailDnc.create(tenant=other, address="secret@example.org", source="manual")
    auth.login(user.username, f"pw-{user.username}")
    r = auth.post("/email-dnc/", {"action": "add", "addresses": "A@example.com, b@example.com\nnot-an-address"})
    assert r.status_code == 200 and "invalid" in r.get_data(as_text=True)
    csv = b"name;email\nCarl;carl@example.com\nDora;a@example.com\n"
    r = auth.post("/email-dnc/", {"action": "upload", "csv_file": (io.BytesIO(csv), "dnc.csv")},
                  content_type="multipart/form-data")
    assert r.status_code == 200
    assert _dnc(acme) == {("a@example.com", "manual"), ("b@example.com", "manual"), ("carl@example.com", "upload")}
    page = client.get("/email-dnc/?q=carl").get_data(as_text=True)
    assert "carl@example.com" in page and "b@example.com" not in page and "secret@example.org" not in page
    r = auth.post("/email-dnc/", {"action": "remove", "addresses": ["b@example.com", "secret@example.org"]})
    assert r.status_code == 302
    assert _dnc(acme) == {("a@example.com", "manual"), ("carl@example.com", "upload")}
    assert _dnc(other) == {("secret@example.org", "manual")}


def test_given_the_api_when_listing_adding_removing_then_only_the_tenants_own_list(
        app, client, tenant_key, admin_api):  # noqa: F811
    acme, secret = tenant_key("acme")
    other, other_secret = tenant_key("other")
    api = Api(client, secret)
    r = api.post("/api/v1/email-dnc", json={"address": "Ann@Example.org"})
    assert r.status_code == 201 and r.json["address"] == "ann@example.org" and r.json["source"] == "api"
    assert api.post("/api/v1/email-dnc", json={"address": "ann@example.org"}).status_code == 409
    assert api.post("/api/v1/email-dnc", json={"address": "nope"}).status_code == 422
    assert api.post("/api/v1/email-dnc", json={"address": "z@example.org",
                                               "tenant_id": other.id}).status_code == 422
    listed = api.get("/api/v1/email-dnc").json
    assert [i["address"] for i in listed["items"]] == ["ann@example.org"] and listed["total"] == 1
    mine = r.json["id"]
    assert Api(client, other_secret).delete(f"/api/v1/email-dnc/{mine}").status_code == 404
    assert Api(client, other_secret).get("/api/v1/email-dnc").json["total"] == 0
    r = admin_api.post("/api/v1/email-dnc", json={"address": "p@example.org", "tenant_id": other.id})
    assert r.status_code == 201 and r.json["tenant_id"] == other.id
    assert api.delete(f"/api/v1/email-dnc/{mine}").status_code == 204
    assert _dnc(acme) == set()
    spec = client.get("/api/v1/openapi.json").json
    assert "/email-dnc" in spec["paths"] and "EmailDnc" in spec["components"]["schemas"]


@pytest.fixture
def email_campaign(make_tenant):
    acme, user = make_tenant("acme")
    group = ContactGroup.create(tenant=acme, name="news")
    ann = Contact.create(tenant=acme, group=group, phone="+15550101", first_name="<b>Ann</b>",
                         email="ann@example.com")
    Contact.create(tenant=acme, group=group, phone="+15550102", first_name="Bob",
                   email="bob@example.com")
    campaign = Campaign.create(tenant=acme, name="Spring", type="email", group=group,
                               email_subject="Hello {{ first_name }}",
                               email_html="<p style='color:red'>Hi {{ first_name }}</p>"
                                          "<script>alert(1)</script>",
                               email_text="")
    return acme, user, campaign, ann


def test_given_an_email_campaign_when_previewed_then_the_html_is_framed_sandboxed_under_a_strict_csp(
        client, auth, email_campaign, make_tenant):
    acme, user, campaign, ann = email_campaign
    auth.login(user.username, f"pw-{user.username}")
    page = client.get(f"/campaigns/{campaign.id}/email-preview?contact={ann.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Hello &lt;b&gt;Ann&lt;/b&gt;" in html  # the subject, escaped on the page
    assert "<iframe" in html and " sandbox " in html and "alert(1)" not in html
    frame = client.get(f"/campaigns/{campaign.id}/email-preview/{ann.id}/html")
    csp = frame.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    assert "frame-ancestors 'self'" in csp and frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    body = frame.get_data(as_text=True)
    assert "Hi &lt;b&gt;Ann&lt;/b&gt;" in body and "/u/preview" in body
    bob_search = client.get(f"/campaigns/{campaign.id}/email-preview?q=bob").get_data(as_text=True)
    assert "bob@example.com" in bob_search and "ann@example.com" not in bob_search
    # another tenant's contact, or another tenant's campaign: not found
    other, other_user = make_tenant("other")
    stranger = Contact.create(tenant=other, group=ContactGroup.create(tenant=other, name="g"),
                              phone="+15550199", email="x@other.test")
    assert client.get(f"/campaigns/{campaign.id}/email-preview?contact={stranger.id}").status_code == 404
    auth.logout()
    auth.login(other_user.username, f"pw-{other_user.username}")
    assert client.get(f"/campaigns/{campaign.id}/email-preview").status_code == 404
    assert client.get(f"/campaigns/{campaign.id}/email-preview/{ann.id}/html").status_code == 404
