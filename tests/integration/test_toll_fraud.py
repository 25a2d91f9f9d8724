"""Toll fraud, the first attack every public Asterisk sees: a SIP peer that is no registered,
authenticated extension tries to reach the PSTN (or a phone, or a feature code). Nothing is
answered and nothing reaches the trunk: not from an unknown address, not with a guessed
extension and a wrong password, not from the trunk's own address (PSTN traffic reaches only
DIDs), and not from a real phone dialling tricks the dialplan does not know."""
from __future__ import annotations

import pytest

from models import Call, Did

from .phones import answers, dial, received_invites, tenant_with_phones
from .sipp import Sipp

PSTN = "15557773001"  # no test makes it a DID (test_inbound's 15557770001 would answer)


@pytest.fixture
def trunk(settings, workdir, stasis_app, agi_server):
    """The carrier's side: it must never get an INVITE in these tests."""
    peer = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=60).start()
    yield peer
    peer.stop()
    assert received_invites(peer) == [], "a call reached the trunk"


def _stranger(settings, workdir, dialled: str, port: int, local_ip: str) -> Sipp:
    return Sipp.uac("uac_call_unauthorised.xml", workdir, f"127.0.0.1:{settings.sip_port}",
                    dialled, port, timeout=20, local_ip=local_ip).start()


@pytest.mark.parametrize("n,dialled", list(enumerate([PSTN, "+" + PSTN, "8301", "*50",
                                                      "0044201234567"])))
def test_given_unknown_peer_when_it_dials_anything_then_challenged_and_never_answered(
        settings, workdir, trunk, n, dialled):
    if dialled == "8301":
        tenant_with_phones(settings, ["8301"])
    # An address of its own each: repeated failures from one address get it banned (sip_guard).
    peer = _stranger(settings, workdir, dialled, settings.sip_port + 81, f"127.0.0.{20 + n}")
    assert peer.wait(30) == 0, peer.diagnostics()
    got = [m.method for m in peer.messages() if not m.sent]
    assert got and got[-1] in ("401", "403") and "200" not in got and "183" not in got, got


def test_given_a_real_extension_with_a_wrong_password_then_nothing_is_placed(
        settings, workdir, trunk):
    tenant, _ = tenant_with_phones(settings, ["8311"])
    phone = dial(settings, workdir, "8311", "guessed-password", PSTN, settings.sip_port + 82,
                 local_ip="127.0.0.6")
    phone.wait(30)  # sipp fails the scenario: the second challenge is not what a phone expects
    got = answers(phone)
    assert got.count("401") >= 1 and "200" not in got and "183" not in got, got
    assert not Call.select().where(Call.tenant == tenant.id).exists()


def test_given_the_trunks_own_address_when_it_dials_a_pstn_number_then_it_only_reaches_dids(
        settings, workdir, trunk):
    # From the trunk's address an INVITE is PSTN traffic: [from-pstn] looks the number up as a
    # DID; it is none, so it is refused, and never dialled back out.
    assert Did.get_or_none(Did.number == PSTN) is None
    peer = Sipp.uac("uac_call_rejected.xml", workdir, f"127.0.0.1:{settings.sip_port}", PSTN,
                    settings.sip_port + 83, timeout=20).start()
    peer.wait(30)
    got = [m.method for m in peer.messages() if not m.sent]
    assert "200" not in got and any(code.startswith(("4", "5")) for code in got), got


@pytest.mark.parametrize("dialled,number", [("pstn", "8321"), ("s", "8322"), ("h", "8323"),
                                            ("*9915557770001", "8324")])
def test_given_a_real_phone_when_it_dials_what_the_dialplan_does_not_route_then_refused(
        settings, workdir, trunk, dialled, number):
    _, pw = tenant_with_phones(settings, [number])
    phone = dial(settings, workdir, number, pw[number], dialled, settings.sip_port + 84)
    assert phone.wait(30) == 0, phone.diagnostics()
    assert answers(phone)[-1] in ("403", "404"), answers(phone)
