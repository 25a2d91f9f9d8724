"""The music on hold queue callers hear (class "default" in musiconhold.conf), made at render
time: Debian's Asterisk packages ship no MOH files we may count on (asterisk-moh-opsound is
not installed in the chroot), so a calm arpeggio is synthesised into an 8 kHz WAV, once."""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 8000
# A-minor / F / C / G broken chords (Hz), 0.4 s a note, with a soft attack and decay.
CHORDS = ((220.0, 261.63, 329.63), (174.61, 220.0, 261.63), (196.0, 261.63, 329.63),
          (196.0, 246.94, 293.66))
NOTE_S = 0.4


def samples() -> bytes:
    out = bytearray()
    n = int(RATE * NOTE_S)
    for _ in range(3):
        for chord in CHORDS:
            for freq in (*chord, chord[1]):
                for i in range(n):
                    t = i / RATE
                    env = min(1.0, i / 200) * math.exp(-3.0 * t)
                    v = env * (0.6 * math.sin(2 * math.pi * freq * t)
                               + 0.2 * math.sin(2 * math.pi * 2 * freq * t))
                    out += struct.pack("<h", int(v * 6000))
    return bytes(out)


def write(directory: Path, name: str = "voxcast-hold.wav") -> Path:
    """The file in `directory` (made when missing); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(samples())
        tmp.replace(path)
    return path
