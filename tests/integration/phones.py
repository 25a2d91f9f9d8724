"""Registered sipp phones for the phone tests: tenants with extensions made real PJSIP
endpoints, a phone that registers and then dials (answering its digest challenge), and what
the far ends saw."""
from __future__ import annotations

import itertools
import re
import secrets
from pathlib import Path

from models import Extension, Tenant
from voxcast.runtime import pjsip_sync

from .conftest import wait_for
from .sipp import SCENARIOS, Sipp

_seq = itertools.count(1)


def tenant_with_phones(settings, numbers: list[str], **fields) -> tuple[Tenant, dict[str, str]]:
    """A tenant of its own with these extensions allocated (endpoints reloaded); the secrets."""
    n = next(_seq)
    slug = f"phones-{n}-{secrets.token_hex(2)}"
    tenant = Tenant.create(name=slug, slug=slug, **fields)
    secrets_by_number = {}
    for number in numbers:
        ext = Extension.create(number=number, secret=secrets.token_urlsafe(12), tenant=tenant)
        secrets_by_number[number] = ext.secret
    pjsip_sync.sync(settings)
    for number in numbers:
        wait_for(lambda: re.search(rf"Endpoint:\s+{number}/",
                                   _cli(settings, "pjsip show endpoints")), 10,
                 message=f"endpoint {number}")
    return tenant, secrets_by_number


def _cli(settings, command: str) -> str:
    from voxcast.runtime import asterisk
    return asterisk.cli(settings, command)


def register(settings, workdir: Path, number: str, password: str, port: int) -> None:
    phone = Sipp("uac_register.xml", workdir, [f"127.0.0.1:{settings.sip_port}", "-s", number,
                                               "-au", number, "-ap", password, "-p", str(port),
                                               "-m", "1", "-timeout", "20s"],
                 name=f"register-{number}-{port}")
    phone.start()
    assert phone.wait(30) == 0, phone.diagnostics()


def dial(settings, workdir: Path, number: str, password: str, dialled: str, port: int,
         hold_ms: int = 1500, scenario: str = "uac_phone_dial.xml",
         local_ip: str = "127.0.0.1") -> Sipp:
    """The phone `number` calls `dialled`; once answered it hangs up after `hold_ms`."""
    return Sipp(scenario, workdir, [f"127.0.0.1:{settings.sip_port}", "-s", dialled,
                                    "-key", "ext", number, "-au", number, "-ap", password,
                                    "-p", str(port), "-m", "1", "-d", str(hold_ms),
                                    "-timeout", "60s"],
                name=f"dial-{number}-{dialled.replace('*', 'star').replace('+', '')}-{port}",
                local_ip=local_ip).start()


def with_keys(workdir: Path, pcap: Path) -> str:
    """uac_phone_dial_until_bye.xml that plays `pcap` (the keys) once answered, then waits
    for our BYE: a scenario file path for dial(scenario=...)."""
    text = (SCENARIOS / "uac_phone_dial_until_bye.xml").read_text()
    marker = '  <recv request="BYE"/>'
    assert marker in text
    text = text.replace(marker, f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
                        + marker, 1)
    path = workdir / f"uac_phone_keys_{pcap.stem}.xml"
    path.write_text(text)
    return str(path)


def answers(phone: Sipp) -> list[str]:
    """The responses to the phone's INVITEs, in order (401, 183, 200 / 403 ...)."""
    return [m.method for m in phone.messages() if not m.sent and m.first_line.startswith("SIP/")]


def received_invites(peer: Sipp) -> list[str]:
    """The INVITEs a far end (the trunk's UAS, a phone's UAS) got, each as its full text."""
    if not peer.log.exists():
        return []
    out = []
    for block in re.split(r"^-{20,} .*$", peer.log.read_text(errors="replace"), flags=re.M):
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) > 1 and "message received" in lines[0] and lines[1].startswith("INVITE "):
            out.append("\n".join(lines[1:]))
    return out


def log_since(agi_server, offset: int) -> str:
    """What the FastAGI server logged after byte `offset` (its log is kept across sessions)."""
    with open(agi_server.logfile, "rb") as fh:
        fh.seek(offset)
        return fh.read().decode(errors="replace")
