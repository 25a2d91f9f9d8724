"""Campaign and greeting audio: uploads and TTS become 8 kHz mono 16-bit WAV, which Asterisk
plays to a ulaw channel with only a cheap slin->ulaw step.

TTS engines implement `TextToSpeech.synthesize(text, voice, dest)`; espeak-ng is the default.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import tempfile
import wave
from pathlib import Path

SOX_TARGET = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class SoundError(ValueError):
    """Bad or unconvertible audio; the message is fit to show a user."""


def check_name(name: str) -> str:
    if not _NAME_RE.match(name) or name.startswith("."):
        raise SoundError(f"invalid sound name {name!r}")
    return name


def _sox(src: Path, dest: Path) -> None:
    tmp = dest.with_suffix(".tmp.wav")
    res = subprocess.run(["sox", str(src), *SOX_TARGET, str(tmp)], capture_output=True, text=True)
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        reason = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise SoundError(f"could not convert the audio file: {reason}")
    os.chmod(tmp, 0o644)
    tmp.replace(dest)


def convert_upload(src: Path, sounds_dir: Path, name: str) -> Path:
    """Convert an uploaded audio file into sounds_dir/<name>.wav; the source is left alone."""
    sounds_dir.mkdir(parents=True, exist_ok=True)
    dest = sounds_dir / f"{check_name(name)}.wav"
    _sox(src, dest)
    return dest


class TextToSpeech:
    """A TTS engine writes `text` spoken in `voice` to `dest` in any format sox reads; `tts`
    converts it to the 8 kHz mono 16-bit WAV Asterisk plays and caches it by text and voice."""

    def synthesize(self, text: str, voice: str, dest: Path) -> None:
        raise NotImplementedError


class EspeakNg(TextToSpeech):
    def synthesize(self, text: str, voice: str, dest: Path) -> None:
        res = subprocess.run(["espeak-ng", "-v", voice or "en", "-w", str(dest), text],
                             capture_output=True, text=True)
        if res.returncode != 0 or not dest.exists():
            raise SoundError(f"espeak-ng failed: {res.stderr.strip()}")


# Engines by name; VOXCAST_TTS_ENGINE picks one (default espeak-ng). Another engine (a cloud
# service, Piper...) subclasses TextToSpeech, writes any audio sox reads and registers here.
ENGINES: dict[str, type[TextToSpeech]] = {"espeak-ng": EspeakNg}


def engine_by_name(name: str | None = None) -> TextToSpeech:
    name = name or os.environ.get("VOXCAST_TTS_ENGINE", "espeak-ng")
    try:
        return ENGINES[name]()
    except KeyError:
        raise SoundError(f"unknown TTS engine {name!r} (known: {', '.join(sorted(ENGINES))})") from None


def tts_name(text: str, voice: str = "en") -> str:
    """Cache key: the same text and voice is synthesized once."""
    digest = hashlib.sha1(f"{voice}\0{text}".encode()).hexdigest()[:16]
    return f"tts-{digest}"


def tts(text: str, sounds_dir: Path, voice: str = "en", engine: TextToSpeech | None = None) -> str:
    """Synthesize (or reuse) text as a sound; returns the sound name."""
    name = tts_name(text, voice)
    dest = sounds_dir / f"{name}.wav"
    if not dest.exists():
        sounds_dir.mkdir(parents=True, exist_ok=True)
        if not text.strip():
            raise SoundError("the text to speak is empty")
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "tts.wav"
            (engine or engine_by_name()).synthesize(text, voice, raw)
            _sox(raw, dest)
    return name


async def tts_async(text: str, sounds_dir: Path, voice: str = "en") -> str:
    """For the event loop: synthesis runs in a thread."""
    return await asyncio.to_thread(tts, text, sounds_dir, voice)


def duration_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())
