"""Suspension enforcement through the real Asterisk, the FastAGI server and the Stasis app:
a suspended tenant's call in progress is cut within a few seconds (its CDR says why), its
phones cannot dial out until it is enabled again, and calls to its DIDs are refused."""
from __future__ import annotations

import time

from models import Call, Did, Tenant
from voxcast.tenants import services as tenant_service

from ari_app.suspension import SUSPENDED_CAUSE

from .conftest import wait_for
from .phones import answers, dial, received_invites
from .sipp import Sipp
from .test_phones import _rated_tenant


def _port(settings, n: int) -> int:
    return settings.sip_port + 90 + n


def test_given_a_phone_call_in_progress_when_the_tenant_is_suspended_then_it_is_cut(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = _rated_tenant(settings, ["8471"], "5.00", "+15550410001")
    trunk = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=40).start()
    try:
        phone = dial(settings, workdir, "8471", pw["8471"], "15551240001", _port(settings, 1),
                     scenario="uac_phone_dial_until_bye.xml")
        wait_for(lambda: "ACK" in [m.method for m in trunk.messages() if not m.sent], 20,
                 message="the call answered on the trunk")
        time.sleep(1.0)
        suspended_at = time.monotonic()
        tenant_service.suspend(Tenant.get_by_id(tenant.id))
        assert phone.wait(30) == 0, phone.diagnostics() + stasis_app.log_tail()
        cut_after = time.monotonic() - suspended_at
        assert trunk.wait(20) == 0, trunk.diagnostics()
    finally:
        trunk.stop()
    assert "BYE" in [m.method for m in phone.messages() if not m.sent]  # we hung up the phone
    assert cut_after < 8, cut_after
    call = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id, Call.direction == "phone",
                                             Call.ended_at.is_null(False)), 15,
                    message="the CDR closed")
    assert call.cause_txt == SUSPENDED_CAUSE, call.cause_txt
    assert call.disposition == "ANSWERED" and call.billsec >= 1


def test_given_a_suspended_tenant_when_its_phone_dials_then_refused_until_enabled(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = _rated_tenant(settings, ["8472"], "5.00", "+15550420001")
    tenant_service.suspend(Tenant.get_by_id(tenant.id))
    trunk = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=40).start()
    try:
        refused = dial(settings, workdir, "8472", pw["8472"], "15551240002", _port(settings, 2))
        assert refused.wait(30) == 0, refused.diagnostics() + agi_server.log_tail()
        assert answers(refused)[-1] == "403", answers(refused)
        assert not Call.select().where(Call.tenant == tenant.id).exists()
        tenant_service.enable(Tenant.get_by_id(tenant.id))
        again = dial(settings, workdir, "8472", pw["8472"], "15551240003", _port(settings, 2))
        assert again.wait(40) == 0, again.diagnostics() + stasis_app.log_tail()
        assert trunk.wait(20) == 0, trunk.diagnostics()
    finally:
        trunk.stop()
    assert answers(again)[-1] == "200", answers(again)
    invites = received_invites(trunk)
    assert len(invites) == 1 and invites[0].startswith("INVITE sip:+15551240003@")


def test_given_a_suspended_tenant_when_its_did_is_called_then_the_call_is_refused(
        stasis_app, settings, workdir):
    tenant, _ = _rated_tenant(settings, [], "5.00", "15557740001")
    Did.update(greeting_text="Hello.").where(Did.number == "15557740001").execute()
    tenant_service.suspend(Tenant.get_by_id(tenant.id))
    uac = Sipp.uac("uac_call_refused.xml", workdir, f"127.0.0.1:{settings.sip_port}",
                   "15557740001", port=_port(settings, 3)).start()
    assert uac.wait(30) == 0, uac.diagnostics() + stasis_app.log_tail()
    assert not any(m.method == "200" and not m.sent for m in uac.messages())
    assert not Call.select().where(Call.tenant == tenant.id).exists()
    assert "refused: tenant" in stasis_app.log_tail()
