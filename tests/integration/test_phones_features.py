"""Agent feature codes from a registered phone, through the real Asterisk and the FastAGI
server: *50 asks for the PIN (keyed as RFC 4733 events) and logs the agent in, a wrong PIN
does not; *52 pauses with the tenant's first reason, *53 makes the agent ready, *51 logs out.
Every code answers, plays its outcome and hangs up."""
from __future__ import annotations

from voxcast.accounts.passwords import hash_password

from models import Extension, User
from models.entities import AgentSession, PauseReason

from .conftest import wait_for
from .dtmf import write_pcap
from .phones import dial, log_since, register, tenant_with_phones, with_keys


def _agent(settings, number: str, pin: str):
    tenant, pw = tenant_with_phones(settings, [number])
    user = User.create(tenant=tenant, username=f"agent-{number}", role="agent",
                       password_hash=hash_password("x"), pin=hash_password(pin))
    Extension.update(user=user).where(Extension.number == number).execute()
    return tenant, user, pw[number]


def _code(settings, workdir, number, password, code, port, keys=None):
    scenario = "uac_phone_dial_until_bye.xml"
    if keys:
        pcap = write_pcap(workdir / f"keys-{number}-{keys.replace('#', 'h')}.pcap",
                          [(1.0 + 0.4 * i, k) for i, k in enumerate(keys)])
        scenario = with_keys(workdir, pcap)
    phone = dial(settings, workdir, number, password, code, port, scenario=scenario)
    assert phone.wait(40) == 0, phone.diagnostics()
    return phone


def _session(user):
    return AgentSession.get_or_none(AgentSession.user == user.id, AgentSession.ended_at.is_null())


def test_given_an_agent_when_feature_codes_are_dialled_then_login_pause_ready_logout(
        stasis_app, agi_server, settings, workdir):
    tenant, user, password = _agent(settings, "8701", "4321")
    PauseReason.create(tenant=tenant, name="Break")
    port = settings.sip_port + 71
    seen = agi_server.logfile.stat().st_size
    register(settings, workdir, "8701", password, port)

    _code(settings, workdir, "8701", password, "*50", port, keys="1111#")
    assert _session(user) is None, agi_server.log_tail()
    assert "feature login at 8701: vx-pin-invalid" in log_since(agi_server, seen)

    _code(settings, workdir, "8701", password, "*50", port, keys="4321#")
    session = wait_for(lambda: _session(user), 5, message="agent session")
    assert session.via == "phone" and session.state == "ready"

    _code(settings, workdir, "8701", password, "*52", port)
    session = _session(user)
    assert session.state == "paused" and session.pause_reason.name == "Break"

    _code(settings, workdir, "8701", password, "*53", port)
    assert _session(user).state == "ready"

    _code(settings, workdir, "8701", password, "*51", port)
    assert _session(user) is None
    ended = AgentSession.get_by_id(session.id)
    assert ended.end_reason == "logout"


def test_given_a_phone_without_an_agent_when_it_dials_a_feature_code_then_told_not_allowed(
        stasis_app, agi_server, settings, workdir):
    _, pw = tenant_with_phones(settings, ["8711"])
    seen = agi_server.logfile.stat().st_size
    _code(settings, workdir, "8711", pw["8711"], "*52", settings.sip_port + 72)
    assert "feature pause at 8711: vx-not-allowed" in log_since(agi_server, seen)
