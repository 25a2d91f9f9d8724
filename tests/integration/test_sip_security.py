"""SIP-side security on the real Asterisk: RTP only on SIP's address, failed authentications
banned per source address (voxcast.runtime.sip_guard in the Stasis app, a PJSIP ACL), and PSTN
traffic accepted only from the trunk's addresses, with its credentials when configured.

Peers use other loopback addresses than the trunk's 127.0.0.1 (Linux answers all of 127/8)."""
from __future__ import annotations

import dataclasses
import re
import secrets
import subprocess

import pytest

from models import Call, Did, Extension
from models.entities import SipBan
from voxcast.runtime import asterisk
from voxcast.runtime import pjsip_sync
from voxcast.runtime import sip_guard

from .conftest import wait_for
from .sipp import Sipp

GREETING = "Welcome to the master tenant. Goodbye."


def _sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every UDP socket the process has open."""
    out = subprocess.run(["ss", "-Hulpn"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        local = line.split()[3]  # 127.0.0.1:18956 or [::]:51742
        address, _, port = local.rpartition(":")
        found.append((address.strip("[]"), int(port)))
    return found


def _asterisk_pid(settings) -> int:
    return int((settings.state_dir / "asterisk.pid").read_text())


def _reconfigure(settings, **changes) -> None:
    """Render the instance's configuration with other trunk settings and reload res_pjsip."""
    asterisk.render(dataclasses.replace(settings, **changes))
    assert "successfully" in asterisk.cli(settings, "module reload res_pjsip.so")


def _register(settings, workdir, scenario, number, password, local_ip, port) -> Sipp:
    phone = Sipp(scenario, workdir, [f"127.0.0.1:{settings.sip_port}", "-s", number,
                                     "-au", number, "-ap", password, "-p", str(port),
                                     "-m", "1", "-timeout", "15s"],
                 name=f"{scenario[:-4]}-{number}-{local_ip}", local_ip=local_ip)
    return phone.start()


# -- media ----------------------------------------------------------------------------------

def test_rtp_of_a_call_listens_on_the_sip_address_only(stasis_app, settings, master, workdir):
    Did.create(number="15557770301", tenant=master, greeting_text=GREETING)
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", "15557770301",
                   port=settings.sip_port + 61).start()
    pid = _asterisk_pid(settings)
    in_range = lambda: [s for s in _sockets(pid)  # noqa: E731
                        if settings.rtp_start <= s[1] <= settings.rtp_end]
    rtp = wait_for(in_range, 15, interval=0.1, message="RTP sockets of the call")
    assert uac.wait(30) == 0, uac.diagnostics()
    assert {address for address, _ in rtp} == {"127.0.0.1"}, rtp
    assert ("127.0.0.1", settings.sip_port) in _sockets(pid)


# -- failed authentication ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def extension(runtime, db):
    from models import Tenant
    ext = Extension.create(number="7301", secret=secrets.token_urlsafe(12),
                           tenant=Tenant.get(Tenant.slug == "master"))
    pjsip_sync.sync(runtime)
    wait_for(lambda: re.search(r"Endpoint:\s+7301/", asterisk.cli(runtime, "pjsip show endpoints")),
             10, message="endpoint 7301")
    yield ext
    SipBan.delete().execute()
    sip_guard.apply(runtime)


def test_repeated_wrong_passwords_ban_the_address_but_not_others(
        stasis_app, settings, extension, workdir):
    policy = sip_guard.Policy.from_env()
    guesser = Sipp("uac_register_refused.xml", workdir,
                   [f"127.0.0.1:{settings.sip_port}", "-s", "7301", "-au", "7301",
                    "-ap", "wrong-guess", "-p", str(settings.sip_port + 62),
                    "-m", str(policy.max_failures), "-timeout", "30s"],
                   name="guesser", local_ip="127.0.0.2").start()
    assert guesser.wait(40) == 0, guesser.diagnostics()

    ban = wait_for(lambda: SipBan.get_or_none(SipBan.address == "127.0.0.2",
                                              SipBan.banned_until.is_null(False)),
                   15, message="127.0.0.2 banned")
    assert ban.failures == policy.max_failures and ban.last_account == "7301"
    acl = settings.host_path(settings.ast_etc) / sip_guard.FILENAME
    wait_for(lambda: "deny = 127.0.0.2/32" in acl.read_text(), 10, message="ACL rendered")

    # The right password from the banned address is refused before any challenge...
    banned = _register(settings, workdir, "uac_register_banned.xml", "7301", extension.secret,
                       "127.0.0.2", settings.sip_port + 63)
    assert banned.wait(30) == 0, banned.diagnostics()
    assert [m.method for m in banned.messages() if not m.sent] == ["403"]
    # ...while another address registers as usual.
    other = _register(settings, workdir, "uac_register.xml", "7301", extension.secret,
                      "127.0.0.3", settings.sip_port + 64)
    assert other.wait(30) == 0, other.diagnostics()
    assert [m.method for m in other.messages() if not m.sent] == ["401", "200"]

    # Lifted (as the admin page does): the address registers again.
    sip_guard.unban(ban.id)
    assert sip_guard.apply(settings) is True
    again = _register(settings, workdir, "uac_register.xml", "7301", extension.secret,
                      "127.0.0.2", settings.sip_port + 65)
    assert again.wait(30) == 0, again.diagnostics()


def test_failures_are_written_to_the_security_log(stasis_app, settings, extension, workdir):
    before = sip_guard.log_path(settings).read_text()
    phone = _register(settings, workdir, "uac_register_refused.xml", "7301", "nope",
                      "127.0.0.3", settings.sip_port + 66)
    assert phone.wait(30) == 0, phone.diagnostics()
    new = sip_guard.log_path(settings).read_text()[len(before):]
    failed = [f for f in map(sip_guard.parse_failure, new.splitlines()) if f]
    assert [(f.address, f.account) for f in failed] == [("127.0.0.3", "7301")]


# -- the trunk ----------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["uac_call_unauthorised.xml", "uac_call_as_trunk.xml"])
def test_invite_to_a_did_from_an_address_that_is_not_the_trunk_is_refused(
        stasis_app, settings, master, workdir, scenario):
    """Also when its From names the trunk endpoint ("pstn"): identified by address only."""
    Did.get_or_create(number="15557770302", tenant=master, greeting_text=GREETING)
    before = Call.select().count()
    uac = Sipp.uac(scenario, workdir, f"127.0.0.1:{settings.sip_port}",
                   "15557770302", port=settings.sip_port + 67, local_ip="127.0.0.4").start()
    assert uac.wait(30) == 0, uac.diagnostics()
    answers = [m.method for m in uac.messages() if not m.sent]
    assert "200" not in answers and answers[-1] in ("401", "403"), answers
    assert Call.select().count() == before  # never reached the Stasis app


def test_allowed_carrier_address_is_pstn_traffic(stasis_app, settings, master, workdir):
    Did.create(number="15557770303", tenant=master, greeting_text=GREETING)
    _reconfigure(settings, trunk_allow=("127.0.0.4",))
    try:
        uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}",
                       "15557770303", port=settings.sip_port + 68, local_ip="127.0.0.4").start()
        assert uac.wait(30) == 0, uac.diagnostics()
    finally:
        _reconfigure(settings)
    wait_for(lambda: Call.get_or_none(Call.did == "15557770303", Call.ended_at.is_null(False)),
             10, message="inbound CDR from the allowed carrier")


def test_trunk_with_inbound_credentials_challenges_its_own_address(
        stasis_app, settings, master, workdir):
    Did.create(number="15557770304", tenant=master, greeting_text=GREETING)
    password = secrets.token_urlsafe(16)
    before = Call.select().count()
    _reconfigure(settings, trunk_inbound_user="carrier", trunk_inbound_password=password)
    try:
        target = f"127.0.0.1:{settings.sip_port}"
        anonymous = Sipp.uac("uac_call_unauthorised.xml", workdir, target, "15557770304",
                             port=settings.sip_port + 69).start()  # from the trunk's address
        assert anonymous.wait(30) == 0, anonymous.diagnostics()
        assert "200" not in [m.method for m in anonymous.messages() if not m.sent]
        assert Call.select().count() == before

        carrier = Sipp.uac("uac_call_did_auth.xml", workdir, target, "15557770304",
                           port=settings.sip_port + 70,
                           extra=("-au", "carrier", "-ap", password)).start()
        assert carrier.wait(30) == 0, carrier.diagnostics()
    finally:
        _reconfigure(settings)
    assert not (settings.host_path(settings.ast_etc) / asterisk.TRUNK_AUTH_FILE).exists()
    wait_for(lambda: Call.get_or_none(Call.did == "15557770304", Call.ended_at.is_null(False)),
             10, message="inbound CDR from the authenticated carrier")
