"""The agent console's browser phone (issue 17 item 7), without Asterisk: the endpoint rendered
for WebRTC only for flagged extensions, phone.json giving an agent their own browser phone's
registration and nothing else, the wss:// origin in connect-src on the console's pages only,
the tenant admin's phone-kind switch (tenant-scoped, logged), and the loopback certificate."""
from __future__ import annotations

import dataclasses
import subprocess

import pytest

from models import Extension, TenantLog
from voxcast.runtime import asterisk, pjsip_sync
from webui.security import CSP, wss_origin

from .agents_support import make_agent
from .conftest import CSRF_RE

JSON = {"Accept": "application/json"}


@pytest.fixture
def app(settings):
    from webui import create_app
    import models
    from .conftest import ADMIN_PASSWORD, MASTER_PASSWORD
    app = create_app(dataclasses.replace(settings, wss_port=18489), {"TESTING": True})
    models.bootstrap(admin_password=ADMIN_PASSWORD, master_password=MASTER_PASSWORD)
    models.database.close()
    yield app
    models.database.close()


def _login(client, username, password=None):
    html = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(html).group(1)
    resp = client.post("/login", data={"username": username,
                                       "password": password or f"pw-{username}",
                                       "csrf_token": token})
    assert resp.status_code == 302


def _ext(user) -> Extension:
    return Extension.get(Extension.user == user.id)


def test_given_extensions_when_rendered_then_only_browser_phones_are_webrtc_endpoints(
        app, make_tenant):
    tenant, _ = make_tenant("acme")
    sip, web = make_agent(tenant, "sipper"), make_agent(tenant, "webber")
    Extension.update(browser_phone=True).where(Extension.id == _ext(web).id).execute()
    text = pjsip_sync.render_text(pjsip_sync.allocated())
    blocks = {b.split("]")[0]: b for b in text.split("\n[") if "type = endpoint" in b}
    browser, phone = blocks[_ext(web).number], blocks[_ext(sip).number]
    for line in ("transport = transport-wss", "webrtc = yes", "dtmf_mode = rfc4733"):
        assert line in browser
    assert "transport = transport-udp" in phone and "webrtc" not in phone


def test_given_an_agent_when_asking_phone_json_then_only_their_own_browser_phone_is_given(
        app, client, make_tenant):
    tenant, _ = make_tenant("acme")
    other, _ = make_tenant("other")
    ann = make_agent(tenant, "ann")
    bob = make_agent(other, "bob")
    Extension.update(browser_phone=True).where(Extension.id == _ext(bob).id).execute()
    _login(client, "ann")
    page = client.get("/agent/").get_data(as_text=True)
    assert 'id="browser-phone"' in page and "agent_phone.js" in page
    assert 'aria-labelledby="phone-title" hidden' in page  # a SIP phone: no panel shown
    resp = client.get("/agent/phone.json", headers=JSON)
    assert resp.get_json() == {"enabled": False}
    assert _ext(bob).secret not in resp.get_data(as_text=True)

    Extension.update(browser_phone=True).where(Extension.id == _ext(ann).id).execute()
    page = client.get("/agent/").get_data(as_text=True)
    assert 'aria-labelledby="phone-title" hidden' not in page
    resp = client.get("/agent/phone.json", headers=JSON)
    body = resp.get_json()
    ext = _ext(ann)
    assert body == {"enabled": True, "ws_url": "wss://127.0.0.1:18489/ws",
                    "uri": f"sip:{ext.number}@127.0.0.1", "user": ext.number,
                    "password": ext.secret, "name": "ann", "number": ext.number}
    assert resp.headers["Cache-Control"] == "no-store"  # it carries the SIP secret


def test_given_webrtc_off_when_asking_phone_json_then_disabled(settings, make_tenant):
    from webui import create_app
    import models
    app = create_app(dataclasses.replace(settings, webrtc=False), {"TESTING": True})
    models.bootstrap(admin_password="a-1", master_password="m-1")
    tenant, _ = make_tenant("acme")
    ann = make_agent(tenant, "ann")
    Extension.update(browser_phone=True).where(Extension.id == _ext(ann).id).execute()
    client = app.test_client()
    _login(client, "ann")
    assert client.get("/agent/phone.json", headers=JSON).get_json() == {"enabled": False}
    assert client.get("/agent/").headers["Content-Security-Policy"] == CSP
    models.database.close()


def test_given_the_console_when_served_then_only_its_pages_may_open_the_phones_websocket(
        app, client, make_tenant):
    tenant, _ = make_tenant("acme")
    make_agent(tenant, "ann")
    assert client.get("/login").headers["Content-Security-Policy"] == CSP
    assert "wss:" not in CSP
    _login(client, "ann")
    for path in ("/agent/", "/agent/phone.json"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "connect-src 'self' wss://127.0.0.1:18489;" in policy
        assert policy.replace(" wss://127.0.0.1:18489", "") == CSP
    assert client.get("/account/").headers["Content-Security-Policy"] == CSP


def test_wss_origin_keeps_scheme_host_and_port_only():
    assert wss_origin("wss://pbx.example.com/ws") == "wss://pbx.example.com"
    assert wss_origin("wss://pbx.example.com:8089/ws?x=1") == "wss://pbx.example.com:8089"
    assert wss_origin("wss://[2001:db8::1]:8089/ws") == "wss://[2001:db8::1]:8089"
    assert wss_origin("https://pbx.example.com/ws") == ""
    assert wss_origin("wss://pbx.example.com; script-src *") == ""  # no host: refused


def test_given_a_tenant_admin_when_switching_an_extension_to_browser_phone_then_it_is_saved_and_logged(
        app, client, make_tenant):
    tenant, admin = make_tenant("acme")
    other, _ = make_tenant("other")
    ann = make_agent(tenant, "ann")
    bob = make_agent(other, "bob")
    _login(client, admin.username)
    html = client.get("/extensions/").get_data(as_text=True)
    assert "Browser phone (agent console)" in html
    token = CSRF_RE.search(html).group(1)
    resp = client.post(f"/extensions/{_ext(ann).id}/phone",
                       data={"kind": "browser", "csrf_token": token})
    assert resp.status_code == 302 and _ext(ann).browser_phone
    log = TenantLog.get(TenantLog.action == "extension.browser_phone")
    assert log.tenant_id == tenant.id and "browser phone" in log.detail
    resp = client.post(f"/extensions/{_ext(bob).id}/phone",
                       data={"kind": "browser", "csrf_token": token})
    assert resp.status_code == 404 and not _ext(bob).browser_phone  # another tenant's
    client.post(f"/extensions/{_ext(ann).id}/phone", data={"kind": "sip", "csrf_token": token})
    assert not _ext(ann).browser_phone


def test_given_no_certificate_when_provisioning_then_a_loopback_one_is_made_once(settings):
    cert, key = asterisk.wss_selfsigned(settings)
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "IP Address:127.0.0.1" in text and "DNS:localhost" in text
    assert key.stat().st_mode & 0o077 == 0
    before = cert.read_bytes()
    asterisk.wss_selfsigned(settings)
    assert cert.read_bytes() == before
