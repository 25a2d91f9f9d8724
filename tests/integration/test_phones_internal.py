"""Registered phones (sipp) calling other extensions of their tenant through the real Asterisk,
the FastAGI server and the Stasis app (phone_internal): each call has its tenant-tagged CDR
(direction "internal", both extensions, answered and billed seconds, disposition), in the
tenant's call records and not another tenant's; it counts in the tenant's channel limit; the
called phone's busy and unregistered outcomes reach the caller, and a caller giving up stops
the called phone ringing."""
from __future__ import annotations

from models import Call
from models.tenancy import scoped

from .conftest import wait_for
from .phones import answers, dial, received_invites, register, tenant_with_phones
from .sipp import Sipp


def _port(settings, n: int) -> int:
    return settings.sip_port + 90 + n


def _closed(tenant_id: int, count: int = 1) -> list[Call]:
    wait_for(lambda: Call.select().where(Call.tenant == tenant_id,
                                         Call.ended_at.is_null(False)).count() == count, 15,
             message="CDR closed")
    return list(Call.select().where(Call.tenant == tenant_id).order_by(Call.id))


def test_given_an_internal_call_answered_then_its_cdr_has_both_extensions_and_billsec(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = tenant_with_phones(settings, ["8801", "8802"])
    other, _ = tenant_with_phones(settings, ["8891"])
    register(settings, workdir, "8802", pw["8802"], _port(settings, 1))
    callee = Sipp.uas("uas_answer.xml", workdir, _port(settings, 1), calls=1, timeout=30).start()
    try:
        phone = dial(settings, workdir, "8801", pw["8801"], "8802", _port(settings, 2),
                     hold_ms=2500)
        assert phone.wait(40) == 0, phone.diagnostics() + stasis_app.log_tail()
        assert callee.wait(20) == 0, callee.diagnostics()
    finally:
        callee.stop()
    assert answers(phone)[-1] == "200"
    invite = received_invites(callee)
    assert len(invite) == 1 and invite[0].startswith("INVITE sip:8802@")
    assert "<sip:8801@" in invite[0]  # the caller's extension as its caller ID
    [call] = _closed(tenant.id)
    assert (call.direction, call.number, call.did) == ("internal", "8801", "8802")
    assert call.disposition == "ANSWERED" and call.answered_at is not None
    assert 2 <= call.billsec <= 4 and call.duration >= call.billsec and call.cost is None
    # The tenant's call records (the query /cdrs/ shows) have it; another tenant's do not.
    assert [c.id for c in scoped(Call, tenant.id)] == [call.id]
    assert not scoped(Call, other.id).where(Call.id == call.id).exists()


def test_given_the_channel_limit_reached_when_a_phone_calls_another_then_refused(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = tenant_with_phones(settings, ["8811", "8812", "8813", "8814"], channel_limit=1)
    register(settings, workdir, "8812", pw["8812"], _port(settings, 3))
    register(settings, workdir, "8814", pw["8814"], _port(settings, 4))
    callee = Sipp.uas("uas_answer.xml", workdir, _port(settings, 3), calls=1, timeout=30).start()
    spare = Sipp("uas_answer.xml", workdir, ["-p", str(_port(settings, 4)), "-m", "1",
                                             "-timeout", "15s"], name="uas-spare").start()
    try:
        first = dial(settings, workdir, "8811", pw["8811"], "8812", _port(settings, 5),
                     hold_ms=5000)
        wait_for(lambda: "ACK" in [m.method for m in callee.messages() if not m.sent], 15,
                 message="the first internal call answered")
        second = dial(settings, workdir, "8813", pw["8813"], "8814", _port(settings, 6))
        assert second.wait(30) == 0, second.diagnostics()
        assert first.wait(30) == 0, first.diagnostics()
    finally:
        callee.stop()
        spare.stop()
    assert answers(second)[-1] == "503", answers(second)
    assert "183" in answers(second)  # the refusal prompt, as early media
    assert received_invites(spare) == []
    assert answers(first)[-1] == "200"
    [call] = _closed(tenant.id)
    assert (call.number, call.did, call.disposition) == ("8811", "8812", "ANSWERED")


def test_given_the_called_phone_busy_or_unregistered_then_the_caller_is_told_and_it_is_recorded(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = tenant_with_phones(settings, ["8821", "8822", "8823"])
    register(settings, workdir, "8822", pw["8822"], _port(settings, 7))
    busy = Sipp.uas("uas_busy.xml", workdir, _port(settings, 7), calls=1, timeout=20).start()
    try:
        phone = dial(settings, workdir, "8821", pw["8821"], "8822", _port(settings, 8))
        assert phone.wait(30) == 0, phone.diagnostics() + stasis_app.log_tail()
    finally:
        busy.stop()
    assert answers(phone)[-1] == "486", answers(phone)
    phone = dial(settings, workdir, "8821", pw["8821"], "8823", _port(settings, 8))
    assert phone.wait(30) == 0, phone.diagnostics()
    assert answers(phone)[-1] == "480", answers(phone)  # 8823 never registered
    ringing = Sipp.uas("uas_no_answer.xml", workdir, _port(settings, 7), calls=1,
                       timeout=20).start()
    try:  # the caller gives up while 8822 rings: 8822 stops ringing too
        phone = dial(settings, workdir, "8821", pw["8821"], "8822", _port(settings, 8),
                     hold_ms=1500, scenario="uac_phone_dial_cancel.xml")
        assert phone.wait(30) == 0, phone.diagnostics()
        assert ringing.wait(20) == 0, ringing.diagnostics()
    finally:
        ringing.stop()
    calls = _closed(tenant.id, 3)
    assert [(c.did, c.disposition, c.billsec) for c in calls] == [
        ("8822", "BUSY", 0), ("8823", "FAILED", 0), ("8822", "NO ANSWER", 0)], \
        [(c.did, c.disposition, c.cause_txt) for c in calls]
    assert calls[1].cause_txt == "not registered"
