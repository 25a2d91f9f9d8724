"""Extensions allocated to a tenant are real PJSIP endpoints in the running Asterisk: a phone
(sipp) registers with the extension's credentials and receives calls; deallocating removes it."""
from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.parse
import urllib.request

from models import Extension, Tenant
from voxcast.runtime import asterisk
from voxcast.runtime import pjsip_sync

from .conftest import wait_for
from .sipp import Sipp


def _register(settings, workdir, number: str, password: str, scenario: str, port: int) -> Sipp:
    phone = Sipp(scenario, workdir, [f"127.0.0.1:{settings.sip_port}", "-s", number,
                                     "-au", number, "-ap", password, "-p", str(port),
                                     "-m", "1", "-timeout", "20s"],
                 name=f"{scenario[:-4]}-{number}")
    phone.start()
    assert phone.wait(30) == 0, phone.diagnostics()
    return phone


def _contacts(settings) -> str:
    return asterisk.cli(settings, "pjsip show contacts")


def _endpoints(settings) -> str:
    return asterisk.cli(settings, "pjsip show endpoints")


def _call(settings, endpoint: str) -> dict:
    """Originate through ARI to `endpoint`; once answered it runs the extensions' context,
    which hands it to the Stasis app (or hangs up when none is attached)."""
    query = urllib.parse.urlencode({"endpoint": endpoint, "context": pjsip_sync.CONTEXT,
                                    "extension": "7000", "priority": 1, "timeout": 20})
    req = urllib.request.Request(f"{settings.ari_url}/channels?{query}", method="POST")
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password()}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _allocate(tenant: Tenant, number: str) -> Extension:
    return Extension.create(number=number, secret=secrets.token_urlsafe(12), tenant=tenant)


def test_given_allocated_extension_when_phone_registers_then_it_is_reachable(
        runtime, db, master, workdir):
    settings = runtime
    ext = _allocate(master, "7101")
    assert pjsip_sync.sync(settings) is True  # Asterisk is up: reloaded, no restart
    wait_for(lambda: re.search(r"Endpoint:\s+7101/", _endpoints(settings)), 10,
             message="endpoint 7101 after reload")

    port = settings.sip_port + 51
    phone = _register(settings, workdir, "7101", ext.secret, "uac_register.xml", port)
    seen = [m.method for m in phone.messages() if not m.sent]
    assert seen == ["401", "200"], seen
    wait_for(lambda: f"7101/sip:7101@127.0.0.1:{port}" in _contacts(settings), 10,
             message="registered contact listed")

    # The registered phone now answers on its contact address; a call to PJSIP/7101 reaches it.
    callee = Sipp.uas("uas_answer.xml", workdir, port, calls=1, timeout=30).start()
    try:
        wait_for(lambda: callee.proc.poll() is None and callee.stdout.exists(), 5,
                 message="sipp UAS started")
        channel = _call(settings, "PJSIP/7101")
        assert channel["name"].startswith("PJSIP/7101-"), channel
        assert callee.wait(30) == 0, callee.diagnostics()
    finally:
        callee.stop()
    received = [m.method for m in callee.messages() if not m.sent]
    assert received[0] == "INVITE" and "BYE" in received, received


def test_given_wrong_password_when_phone_registers_then_it_is_refused(
        runtime, db, master, workdir):
    settings = runtime
    _allocate(master, "7102")
    pjsip_sync.sync(settings)
    port = settings.sip_port + 52
    phone = _register(settings, workdir, "7102", "not-the-secret", "uac_register_refused.xml",
                      port)
    answers = [m.method for m in phone.messages() if not m.sent]
    assert answers[0] == "401" and answers[-1] in ("401", "403"), answers
    assert "200" not in answers
    assert "7102/sip:" not in _contacts(settings)


def test_given_deallocated_extension_when_synced_then_endpoint_is_gone(
        runtime, db, master, workdir):
    settings = runtime
    ext = _allocate(master, "7103")
    _allocate(master, "7104")
    pjsip_sync.sync(settings)
    wait_for(lambda: re.search(r"Endpoint:\s+7103/", _endpoints(settings)), 10,
             message="endpoint 7103")

    ext.tenant = None  # back to the provider's pool
    ext.save()
    pjsip_sync.sync(settings)
    wait_for(lambda: not re.search(r"Endpoint:\s+7103/", _endpoints(settings)), 10,
             message="endpoint 7103 removed")
    assert re.search(r"Endpoint:\s+7104/", _endpoints(settings))  # the others stay
    assert "[7103]" not in pjsip_sync.conf_path(settings).read_text()
