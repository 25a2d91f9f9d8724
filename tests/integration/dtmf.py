"""Called parties that press keys: a sipp UAS scenario written per test, sending DTMF either as
RFC 4733 telephone-events (a pcap we write, played by sipp's play_pcap_audio) or as SIP INFO
(application/dtmf-relay), then waiting for our BYE or hanging up itself after a while.

The pcap holds the key presses at their offsets (like sip-tester's dtmf_2833_1.pcap: event
packets every 20 ms with growing duration, the first marked, three end packets), so one call
can answer several questions with the prompts playing in between."""
from __future__ import annotations

import struct
from pathlib import Path

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
RESPONSE_HEADERS = """[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>"""


def _packet(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around one RTP packet (sipp rewrites addresses and ports)."""
    udp = struct.pack("!HHHH", 6000, 6000, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
    return b"\x00" * 12 + b"\x08\x00" + ip


def write_pcap(path: Path, presses: list[tuple[float, str]], audio_until: float = 0.0) -> Path:
    """`presses`: (seconds after the start, key), each key held 140 ms; with `audio_until`,
    a PCMU stream of silence runs from the start until then (a line that carries audio, as a
    recording needs), the events interleaved in the same RTP stream."""
    packets = []  # (time, payload type, payload, marker, rtp timestamp)
    for i in range(int(audio_until / 0.02)):
        packets.append((i * 0.02, 0, b"\xff" * 160, i == 0, 8000 + i * 160))
    for at, key in presses:
        event = EVENTS[key]
        timestamp = 8000 + int(at * 8000)
        for i in range(10):
            end = i >= 7
            duration = 160 * (min(i, 7) + 1)
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
            packets.append((at + min(i, 7) * 0.02 + (0.0001 * i if end else 0), 101, payload,
                            i == 0, timestamp))
    packets.sort(key=lambda p: p[0])
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    ssrc = 0x1234ABCD
    for seq, (t, pt, payload, marker, timestamp) in enumerate(packets, start=1):
        rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF,
                          timestamp & 0xFFFFFFFF, ssrc) + payload
        pkt = _packet(rtp)
        out.append(struct.pack("<IIII", int(t), int(round((t % 1) * 1e6)) % 1000000,
                               len(pkt), len(pkt)) + pkt)
    path.write_bytes(b"".join(out))
    return path


def _info(key: str) -> str:
    return f"""  <send retrans="500"><![CDATA[
INFO [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To:[$from]
Call-ID: [call_id]
CSeq: [cseq] INFO
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal={key}
Duration=160
]]></send>
  <recv response="200"/>
"""


def scenario(workdir: Path, name: str, presses: list[tuple[float, str]], mode: str = "rfc4733",
             hangup_after: float = 20.0, audio_until: float = 0.0) -> Path:
    """A UAS scenario file: answer, press `presses` (seconds after the answer) as RFC 4733
    events or SIP INFO, then wait for our BYE; without one for `hangup_after` seconds after
    the answer, send BYE itself (a caller who stays on the line, e.g. once put through)."""
    steps = []
    if mode == "rfc4733" and presses:
        # play_pcap_audio starts with the first packet: wait for the first press here.
        first = presses[0][0]
        pcap = write_pcap(workdir / f"{name}.pcap", [(at - first, key) for at, key in presses],
                          max(0.0, audio_until - first))
        steps.append(f'  <pause milliseconds="{int(first * 1000)}"/>')
        steps.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
        waited = first
    else:
        waited = 0.0
        for at, key in presses:
            steps.append(f'  <pause milliseconds="{int((at - waited) * 1000)}"/>')
            steps.append(_info(key))
            waited = at
    wait_ms = int(max(1.0, hangup_after - waited) * 1000)
    xml = f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="{name}">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/>
      <ereg regexp="&lt;(sip:[^&gt;]*)&gt;" search_in="hdr" header="Contact:" assign_to="dummy,contact"/>
    </action>
  </recv>
  <Reference variables="dummy"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
{RESPONSE_HEADERS}
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
{RESPONSE_HEADERS}
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
]]></send>
  <recv request="ACK" crlf="true"/>
{chr(10).join(steps)}
  <label id="wait"/>
  <recv request="INVITE" optional="true" next="reinvite" timeout="{wait_ms}" ontimeout="hangup"/>
  <recv request="UPDATE" optional="true" next="update" timeout="{wait_ms}" ontimeout="hangup"/>
  <recv request="BYE" timeout="{wait_ms}" ontimeout="hangup"/>
  <send next="done"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="reinvite"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687638 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
]]></send>
  <recv request="ACK" next="wait"/>
  <label id="update"/>
  <send next="wait"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="hangup"/>
  <send retrans="500"><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To:[$from]
Call-ID: [call_id]
CSeq: [cseq] BYE
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <label id="done"/>
  <timewait milliseconds="500"/>
</scenario>
"""
    path = workdir / f"{name}.xml"
    path.write_text(xml)
    return path


def uas(workdir: Path, port: int, name: str, presses: list[tuple[float, str]],
        mode: str = "rfc4733", calls: int = 1, hangup_after: float = 20.0,
        audio_until: float = 0.0):
    """A started sipp UAS on `port` pressing `presses` in every call it answers."""
    from .sipp import Sipp
    path = scenario(workdir, name, presses, mode, hangup_after, audio_until)
    return Sipp(str(path), workdir, ["-p", str(port), "-m", str(calls), "-timeout", "60s"],
                name=f"uas-{name}").start()
