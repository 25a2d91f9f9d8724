"""The FastAGI server as `voxcast agi` runs it, between the real Asterisk and a real phone:
garbage and dropped connections get a log line and leave it serving; with the server down
the dialplan refuses phone calls at once instead of leaving the channel waiting."""
from __future__ import annotations

import socket
import time

from .conftest import wait_for
from .phones import answers, dial, log_since as _log_since, register, tenant_with_phones
from .sipp import Sipp


def _internal_call(settings, workdir, pw, caller, callee, port_a, port_b) -> Sipp:
    register(settings, workdir, callee, pw[callee], port_b)
    ring = Sipp.uas("uas_answer.xml", workdir, port_b, calls=1, timeout=20).start()
    try:
        phone = dial(settings, workdir, caller, pw[caller], callee, port_a, hold_ms=500)
        assert phone.wait(30) == 0, phone.diagnostics()
    finally:
        ring.stop()
    return phone


def test_given_garbage_and_dropped_connections_then_logged_and_still_serving(
        stasis_app, agi_server, settings, workdir):
    seen = agi_server.logfile.stat().st_size
    for payload in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"agi_network: yes\nagi_netw",
                    b"\xff\xfe\x00garbage\n\n", b""):
        with socket.create_connection(("127.0.0.1", settings.agi_port), 2) as conn:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(8)
            assert conn.recv(100) == b""  # closed by the server, nothing routed
    wait_for(lambda: _log_since(agi_server, seen).count("not an AGI variable") >= 2, 10,
             message="log lines for the bad input")
    assert "connection closed" in _log_since(agi_server, seen)
    _, pw = tenant_with_phones(settings, ["8401", "8402"])
    phone = _internal_call(settings, workdir, pw, "8401", "8402", settings.sip_port + 91,
                           settings.sip_port + 92)
    assert answers(phone)[-1] == "200"
    assert "phone 8401 dials 8402: internal 8402" in _log_since(agi_server, seen)


def test_given_the_agi_server_down_when_a_phone_dials_then_refused_at_once(
        stasis_app, agi_server, settings, workdir):
    _, pw = tenant_with_phones(settings, ["8411", "8412"])
    register(settings, workdir, "8412", pw["8412"], settings.sip_port + 94)
    ring = Sipp.uas("uas_answer.xml", workdir, settings.sip_port + 94, calls=1, timeout=15).start()
    agi_server.stop()
    try:
        started = time.monotonic()
        phone = dial(settings, workdir, "8411", pw["8411"], "8412", settings.sip_port + 93)
        assert phone.wait(30) == 0, phone.diagnostics()
        assert time.monotonic() - started < 10
    finally:
        ring.stop()
        agi_server.start()
    assert answers(phone)[-1] == "403", answers(phone)
    assert "INVITE" not in [m.method for m in ring.messages() if not m.sent]


def test_given_the_caller_hangs_up_at_the_pin_prompt_then_the_conversation_just_ends(
        stasis_app, agi_server, settings, workdir):
    _, pw = tenant_with_phones(settings, ["8421"])
    seen = agi_server.logfile.stat().st_size
    phone = dial(settings, workdir, "8421", pw["8421"], "*50", settings.sip_port + 95,
                 hold_ms=800)
    assert phone.wait(30) == 0, phone.diagnostics()
    assert answers(phone)[-1] == "200"  # answered for the prompt, then the phone hung up
    wait_for(lambda: "AGI phone PJSIP/8421-" in _log_since(agi_server, seen), 10, message="the hang-up logged")
    log = _log_since(agi_server, seen)
    assert "hung up" in log and "Traceback" not in log
    assert "feature login at 8421" not in log  # no PIN was tried, no prompt played after
