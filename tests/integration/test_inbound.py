"""Inbound calls from the PSTN (a sipp UAC) to DIDs."""
from __future__ import annotations

import os
import signal
import time

from models import Call, Did
from voxcast.audio import sounds

from .conftest import wait_for
from .sipp import Sipp

GREETING = "Welcome to the master tenant. Goodbye."


def test_given_did_of_tenant_when_caller_dials_it_then_greeting_plays_and_we_hang_up(
        stasis_app, settings, master, workdir):
    Did.create(number="15557770001", tenant=master, greeting_text=GREETING)
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", "15557770001",
                   port=settings.sip_port + 31).start()
    assert uac.wait(30) == 0, uac.diagnostics()

    call = wait_for(lambda: Call.get_or_none(Call.did == "15557770001", Call.ended_at.is_null(False)),
                    10, message="inbound CDR closed")
    assert call.tenant_id == master.id and call.direction == "inbound"
    assert call.number == "15550001000" and call.disposition == "ANSWERED"

    greeting_s = sounds.duration_seconds(settings.sounds_dir / f"{sounds.tts_name(GREETING)}.wav")
    msgs = uac.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)  # our answer
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)  # our hang-up
    assert greeting_s - 0.3 <= (bye.at - ok.at).total_seconds() <= greeting_s + 2.0
    assert abs(call.billsec - greeting_s) <= 1.5


def test_given_unassigned_did_when_caller_dials_it_then_call_is_rejected_without_cdr(
        stasis_app, settings, workdir):
    Did.create(number="15557770002")  # in the provider's pool, no tenant
    before = Call.select().count()
    for number in ("15557770002", "15557779999"):  # pooled, and unknown
        uac = Sipp.uac("uac_call_rejected.xml", workdir, f"127.0.0.1:{settings.sip_port}", number,
                       port=settings.sip_port + 32).start()
        assert uac.wait(30) == 0, uac.diagnostics()
        assert not any(m.method == "200" and not m.sent for m in uac.messages())
    assert Call.select().count() == before
    assert stasis_app.alive()


def test_given_app_behind_when_a_call_arrives_then_it_gets_busy_at_once_and_later_calls_work(
        stasis_app, settings, master, workdir):
    """Past its limit the app refuses new calls busy instead of taking them all late: a call
    whose StasisStart is over a second old when the app reads it (the app frozen meanwhile, as
    a saturated event loop is) is refused without a CDR; once caught up calls are answered."""
    Did.create(number="15557770003", tenant=master, greeting_text=GREETING)
    os.kill(stasis_app.proc.pid, signal.SIGSTOP)
    try:
        uac = Sipp.uac("uac_call_busy.xml", workdir, f"127.0.0.1:{settings.sip_port}",
                       "15557770003", port=settings.sip_port + 34).start()
        time.sleep(2.5)  # the StasisStart waits in the socket meanwhile
    finally:
        os.kill(stasis_app.proc.pid, signal.SIGCONT)
    assert uac.wait(30) == 0, uac.diagnostics()
    assert not Call.select().where(Call.did == "15557770003").exists()

    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", "15557770003",
                   port=settings.sip_port + 34).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    wait_for(lambda: Call.get_or_none(Call.did == "15557770003", Call.ended_at.is_null(False)),
             10, message="inbound CDR closed")
