"""A called party that speaks: espeak-ng + sox make 8 kHz mu-law audio, written here as a pcap
of 20 ms PCMU RTP packets (Ethernet/IPv4/UDP headers by hand, no scapy) for sipp's
`play_pcap_audio`. The scenario XML is rendered from a template because sipp wants the
pcap's literal path there."""
from __future__ import annotations

import struct
import subprocess
import tempfile
from pathlib import Path

from .sipp import SCENARIOS

ULAW_SILENCE = b"\xff"
FRAME = 160  # 20 ms of 8 kHz mu-law


def speech_ulaw(text: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        wav, raw = Path(tmp) / "s.wav", Path(tmp) / "s.ul"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(wav), text], check=True,
                       capture_output=True)
        subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(raw)],
                       check=True, capture_output=True)
        return raw.read_bytes()


def tone_ulaw(seconds: float, freq: int = 1000) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "t.ul"
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-t", "ul", str(raw), "synth",
                        str(seconds), "sine", str(freq), "vol", "0.5"], check=True)
        return raw.read_bytes()


def silence(seconds: float) -> bytes:
    return ULAW_SILENCE * int(8000 * seconds)


def write_pcap(audio: bytes, path: Path) -> float:
    """20 ms RTP packets (PT 0) 20 ms apart; returns the audio's length in seconds."""
    audio += ULAW_SILENCE * (-len(audio) % FRAME)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # Ethernet link
    src, dst = bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])
    for i in range(len(audio) // FRAME):
        rtp = struct.pack("!BBHII", 0x80, 0, i & 0xFFFF, i * FRAME, 0x1234ABCD) + \
            audio[i * FRAME:(i + 1) * FRAME]
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                         src, dst) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        usec = i * 20000
        out.append(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame),
                               len(frame)) + frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(out))
    return len(audio) / 8000


def speaking_scenario(pcap: Path, dest: Path) -> Path:
    """uas_speaking.xml.in with the pcap's path filled in."""
    text = (SCENARIOS / "uas_speaking.xml.in").read_text().replace("@PCAP@", str(pcap))
    dest.write_text(text)
    return dest


def ulaw_decode(audio) -> "np.ndarray":
    """8 kHz mu-law bytes -> 16-bit sample values (floats), to mix noise into."""
    import numpy as np
    with tempfile.TemporaryDirectory() as tmp:
        src, raw = Path(tmp) / "a.ul", Path(tmp) / "a.raw"
        src.write_bytes(bytes(audio))
        subprocess.run(["sox", "-t", "ul", "-r", "8000", "-c", "1", str(src), "-t", "raw", "-e",
                        "signed-integer", "-b", "16", str(raw)], check=True, capture_output=True)
        return np.frombuffer(raw.read_bytes(), dtype="<i2").astype(float)


def ulaw_encode(samples) -> bytes:
    """16-bit sample values (clipped) -> 8 kHz mu-law bytes for write_pcap."""
    import numpy as np
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        raw, dst = Path(tmp) / "a.raw", Path(tmp) / "a.ul"
        raw.write_bytes(pcm)
        subprocess.run(["sox", "-t", "raw", "-r", "8000", "-e", "signed-integer", "-b", "16",
                        "-c", "1", str(raw), "-t", "ul", str(dst)], check=True, capture_output=True)
        return dst.read_bytes()
