"""A supervisor listening to, whispering to and barging into an agent's call, through the real
Asterisk: sipp plays the caller (a DID routed to a queue), the agent (a registered extension
that answers the offer) and the supervisor (their own registered extension, answering the
monitor call). Each sends its own tone; what each RECEIVES is read from the RTP Asterisk sends
to its media port (a packet capture on the loopback interface, mu-law decoded, each tone's
amplitude measured). A snoop recording could not tell: Asterisk hands spies a channel's audio
before whispers are mixed in, so it would never show a whisper.

    listen  - the supervisor hears caller and agent; neither hears the supervisor
    whisper - the agent hears the supervisor, the caller does not
    barge   - both hear the supervisor
"""
from __future__ import annotations

import itertools
import secrets
import socket
import struct
import threading
import time

import numpy as np
import pytest
from voxcast.accounts.passwords import hash_password

from models import Extension, TenantLog, User
from voxcast.agents import sessions
from voxcast.runtime import pjsip_sync
from voxcast.supervision import monitor

from .conftest import wait_for
from .sipp import SCENARIOS, Sipp
from .speech_pcap import tone_ulaw, write_pcap
from .test_queues import _ari, _did_to, _endpoints, _queue, Agent

TONES = {"caller": 520, "agent": 910, "supervisor": 1370}  # Hz, no one a harmonic of another
TONE_S = 70  # longer than the whole test: each party sends its tone all along
WINDOW_S = 3.0  # audio analysed per mode
HEARD = 2000  # amplitude (16-bit) of a tone that is heard; a tone is sent at about 16000
SILENT = 300  # below this it is not there (u-law noise and leakage stay far below)
_seq = itertools.count(1)


def _ulaw_table() -> np.ndarray:
    """G.711 mu-law byte -> 16-bit linear sample (ITU-T G.711's expansion)."""
    out = np.zeros(256)
    for byte in range(256):
        u = ~byte & 0xFF
        sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
        value = (((mantissa << 3) + 0x84) << exponent) - 0x84
        out[byte] = -value if sign else value
    return out


ULAW = _ulaw_table()


class RtpTap:
    """Every RTP packet (PCMU) sent to the watched UDP ports on lo, with its arrival time: what
    each sipp peer receives. A raw AF_PACKET socket (the tests run as root); packets leaving
    lo are seen twice, once outgoing: those are skipped."""

    PACKET_OUTGOING = 4

    def __init__(self, ports: dict[str, int]):
        self.ports = {port: name for name, port in ports.items()}
        self.packets: dict[str, list[tuple[float, bytes]]] = {n: [] for n in ports}
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "RtpTap":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if addr[2] == self.PACKET_OUTGOING or len(data) < 14 + 20 + 8 + 12:
                continue
            if data[12:14] != b"\x08\x00":
                continue
            ip = data[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 17:  # UDP
                continue
            dport = struct.unpack("!H", ip[ihl + 2:ihl + 4])[0]
            name = self.ports.get(dport)
            if name is None:
                continue
            rtp = ip[ihl + 8:]
            if rtp[0] >> 6 != 2 or rtp[1] & 0x7F != 0:  # RTP v2, PCMU only
                continue
            start = 12 + 4 * (rtp[0] & 0x0F)
            if rtp[0] & 0x10:  # header extension
                start += 4 + 4 * struct.unpack("!H", rtp[start + 2:start + 4])[0]
            self.packets[name].append((time.monotonic(), bytes(rtp[start:])))

    def received(self, name: str, since: float, until: float) -> np.ndarray:
        payload = b"".join(p for at, p in list(self.packets[name]) if since <= at < until)
        return ULAW[np.frombuffer(payload, dtype=np.uint8)]


def amplitude(samples: np.ndarray, freq: int) -> float:
    """The amplitude of the `freq` sinusoid in 8 kHz samples (a single-bin DFT)."""
    if len(samples) == 0:
        return 0.0
    n = np.arange(len(samples))
    return float(2 * abs(np.dot(samples, np.exp(-2j * np.pi * freq * n / 8000))) / len(samples))


def _tone_scenario(workdir, template: str, who: str) -> str:
    pcap = workdir / f"tone-{who}.pcap"
    write_pcap(tone_ulaw(TONE_S, TONES[who]), pcap)
    scenario = workdir / f"{who}-{template[:-7]}.xml"
    scenario.write_text((SCENARIOS / template).read_text().replace("@PCAP@", str(pcap)))
    return str(scenario)


class Party:
    def __init__(self, name: str, sipp: Sipp, media_port: int):
        self.name, self.sipp, self.media_port = name, sipp, media_port


@pytest.fixture
def call_in_progress(request, stasis_app, settings, master, workdir):
    """A caller talking to an agent through a queue, and a supervisor with their own
    registered phone that answers (and, parametrized indirectly with milliseconds, hangs up
    that long after answering); each party sends its tone. Yields (parties, supervisor user,
    agent, tap)."""
    sup_talk_ms = getattr(request, "param", None)
    n = next(_seq)
    base = settings.sip_port + 80  # this instance's own ports (sipp SIP ports +40.., +60..)
    media = {"caller": base, "agent": base + 4, "supervisor": base + 8}
    agent = Agent(settings, workdir, master, settings.sip_port + 70 + n)
    sup = User.create(tenant=master, username=f"monitor-sup-{n}-{secrets.token_hex(2)}",
                      password_hash=hash_password("x"), role="supervisor")
    sup_ext = Extension.create(number=f"74{settings.sip_port % 1000:03d}{n}",
                               secret=secrets.token_urlsafe(12), tenant=master, user=sup)
    pjsip_sync.sync(settings)
    for number in (agent.number, sup_ext.number):
        wait_for(lambda num=number: f"Endpoint:  {num}" in _endpoints(settings), 10,
                 message=f"endpoint {number}")
    agent.register()
    sup_port = settings.sip_port + 76 + n
    reg = Sipp("uac_register.xml", workdir,
               [f"127.0.0.1:{settings.sip_port}", "-s", sup_ext.number, "-au", sup_ext.number,
                "-ap", sup_ext.secret, "-p", str(sup_port), "-m", "1", "-timeout", "20s"],
               name=f"register-{sup_ext.number}")
    reg.start()
    assert reg.wait(30) == 0, reg.diagnostics()
    agent.login()
    queue = _queue(master, [(agent, 0)], wrapup_seconds=0, max_wait_seconds=30)
    did = _did_to(master, queue)
    tap = RtpTap(media).start()

    agent_phone = Sipp(_tone_scenario(workdir, "uas_speaking.xml.in", "agent"), workdir,
                       ["-p", str(agent.port), "-m", "1", "-mp", str(media["agent"]),
                        "-timeout", "90s"], name=f"agent-{agent.number}").start()
    sup_scenario = "uas_speaking_hangup.xml.in" if sup_talk_ms else "uas_speaking.xml.in"
    hold = ["-d", str(sup_talk_ms)] if sup_talk_ms else []
    sup_phone = Sipp(_tone_scenario(workdir, sup_scenario, "supervisor"), workdir,
                     ["-p", str(sup_port), "-m", "1", "-mp", str(media["supervisor"]), *hold,
                      "-timeout", "90s"], name=f"supervisor-{sup_ext.number}").start()
    caller = Sipp(_tone_scenario(workdir, "uac_call_did_speak_wait.xml.in", "caller"), workdir,
                  [f"127.0.0.1:{settings.sip_port}", "-s", did, "-p",
                   str(settings.sip_port + 40 + n % 10), "-m", "1", "-mp", str(media["caller"]),
                   "-timeout", "90s"], name=f"caller-{did}").start()
    parties = {"caller": Party("caller", caller, media["caller"]),
               "agent": Party("agent", agent_phone, media["agent"]),
               "supervisor": Party("supervisor", sup_phone, media["supervisor"])}
    try:
        wait_for(lambda: agent.session().state == "on_call", 20, message="agent on the call")
        yield parties, sup, agent, tap
    finally:
        tap.stop()
        for party in parties.values():
            party.sipp.stop()
        for channel in _ari(settings, "/channels"):  # none left for the next test to find
            try:
                _delete(settings, f"/channels/{channel['id']}")
            except OSError:
                pass  # gone meanwhile
        sessions.end_for_user(agent.user.id, "logout")


def _monitor_logs(sup) -> list[TenantLog]:
    return list(TenantLog.select().where(TenantLog.user == sup.id,
                                         TenantLog.action.startswith("agent.monitor"))
                .order_by(TenantLog.id))


def _levels(tap: RtpTap, receivers=tuple(TONES)) -> dict[str, dict[str, float]]:
    """Per receiving party, the amplitude of each party's tone over the next WINDOW_S."""
    time.sleep(1.0)  # the snoop bridged: let the jitter of the switch pass
    since = time.monotonic()
    time.sleep(WINDOW_S)
    until = time.monotonic()
    out = {}
    for receiver in receivers:
        samples = tap.received(receiver, since, until)
        # half the window at least: a loaded machine's bridge drops frames (68 % seen), and
        # which tones are in what arrived is what the tests judge
        assert len(samples) > 8000 * WINDOW_S * 0.5, f"{receiver} got too little audio"
        out[receiver] = {who: round(amplitude(samples, f)) for who, f in TONES.items()}
    return out


def _switch(settings, sup, agent, mode: str, logs_before: int) -> None:
    monitor.start(monitor.AriTransport(settings), sup.tenant_id, sup.id, agent.user.id, mode)
    wait_for(lambda: len(_monitor_logs(sup)) > logs_before, 20, message=f"monitoring in {mode}")


def _hears(levels, receiver: str, who: str) -> bool:
    return levels[receiver][who] >= HEARD


def _silent(levels, receiver: str, who: str) -> bool:
    return levels[receiver][who] <= SILENT


def test_given_an_agent_on_a_call_when_the_supervisor_listens_whispers_and_barges_then_each_side_hears_what_the_mode_says(
        settings, call_in_progress):
    parties, sup, agent, tap = call_in_progress
    before = _levels(tap, ("caller", "agent"))  # the call itself: caller and agent hear each other, no supervisor
    assert _hears(before, "caller", "agent") and _hears(before, "agent", "caller"), before
    assert _silent(before, "caller", "supervisor") and _silent(before, "agent", "supervisor"), before

    _switch(settings, sup, agent, "listen", 0)
    listen = _levels(tap)
    assert _hears(listen, "supervisor", "caller") and _hears(listen, "supervisor", "agent"), listen
    assert _silent(listen, "agent", "supervisor"), listen
    assert _silent(listen, "caller", "supervisor"), listen
    assert _hears(listen, "caller", "agent") and _hears(listen, "agent", "caller"), listen

    _switch(settings, sup, agent, "whisper", 1)
    whisper = _levels(tap)
    assert _hears(whisper, "agent", "supervisor"), whisper
    assert _silent(whisper, "caller", "supervisor"), whisper  # the caller must not hear it
    assert _hears(whisper, "supervisor", "caller") and _hears(whisper, "supervisor", "agent"), whisper
    assert _hears(whisper, "caller", "agent") and _hears(whisper, "agent", "caller"), whisper

    _switch(settings, sup, agent, "barge", 2)
    barge = _levels(tap)
    assert _hears(barge, "agent", "supervisor") and _hears(barge, "caller", "supervisor"), barge
    assert _hears(barge, "supervisor", "caller") and _hears(barge, "supervisor", "agent"), barge
    assert _hears(barge, "caller", "agent") and _hears(barge, "agent", "caller"), barge

    monitor.stop(monitor.AriTransport(settings), sup.tenant_id, sup.id)
    assert parties["supervisor"].sipp.wait(20) == 0, parties["supervisor"].sipp.diagnostics()
    logs = wait_for(lambda: (lambda rows: rows if rows[-1].action == "agent.monitor_end" else None)(
        _monitor_logs(sup)), 10, message="end of the monitoring in the tenant log")
    assert [row.detail.split(" ")[1] for row in logs[:3]] == ["listens", "whispers", "barges"]
    assert all(agent.user.username in row.detail for row in logs)
    after = _levels(tap, ("caller", "agent"))  # the call goes on without the supervisor
    assert _hears(after, "caller", "agent") and _silent(after, "caller", "supervisor"), after
    assert agent.session().state == "on_call"


def test_given_a_supervisor_listening_when_the_call_ends_then_their_phone_is_hung_up(
        settings, call_in_progress):
    parties, sup, agent, tap = call_in_progress
    _switch(settings, sup, agent, "listen", 0)
    caller_channel = next(c for c in _ari(settings, "/channels")
                          if c["name"].startswith("PJSIP/pstn"))
    _delete(settings, f"/channels/{caller_channel['id']}")
    assert parties["supervisor"].sipp.wait(20) == 0, parties["supervisor"].sipp.diagnostics()
    wait_for(lambda: _monitor_logs(sup)[-1].action == "agent.monitor_end", 10,
             message="end of the monitoring in the tenant log")


@pytest.mark.parametrize("call_in_progress", [7000], indirect=True)
def test_given_a_supervisor_barging_when_they_hang_up_then_the_call_goes_on_without_them(
        settings, call_in_progress):
    parties, sup, agent, tap = call_in_progress
    _switch(settings, sup, agent, "barge", 0)
    assert _hears(_levels(tap), "caller", "supervisor")
    assert parties["supervisor"].sipp.wait(20) == 0, parties["supervisor"].sipp.diagnostics()
    wait_for(lambda: _monitor_logs(sup)[-1].action == "agent.monitor_end", 10,
             message="end of the monitoring in the tenant log")
    channels = [c["name"] for c in _ari(settings, "/channels")]
    assert not [name for name in channels if name.startswith("Snoop/")], channels
    assert not [b for b in _ari(settings, "/bridges") if b["id"].startswith("vxmon-")]
    after = _levels(tap, ("caller", "agent"))
    assert _hears(after, "caller", "agent") and _hears(after, "agent", "caller"), after
    assert _silent(after, "caller", "supervisor") and _silent(after, "agent", "supervisor"), after
    assert agent.session().state == "on_call"


def _delete(settings, path: str) -> None:
    import base64
    import urllib.request
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password()}".encode()).decode()
    req = urllib.request.Request(f"{settings.ari_url}{path}", method="DELETE")
    req.add_header("Authorization", f"Basic {token}")
    urllib.request.urlopen(req, timeout=10).read()
