"""Campaign and greeting audio: uploads and TTS become 8 kHz mono 16-bit WAV, which Asterisk
plays to a ulaw channel with only a cheap slin->ulaw step.

TTS engines implement `TextToSpeech.synthesize(text, voice, dest)`; espeak-ng is the default.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import wave
from pathlib import Path

from voxcast.runtime.external import ToolError, Untrusted, run_tool
from voxcast.errors import ServiceError

SOX_TARGET = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# espeak-ng voice names: a language tag (en, en-gb-x-rp, chr-US-Qaaa-x-west), optionally a
# variant (en+f3). The voice is a command-line argument, so nothing else is accepted.
VOICE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,5}(\+[A-Za-z0-9_]{1,20})?$")
TOOL_TIMEOUT = 120.0


class SoundError(ServiceError, ValueError):
    """Bad or unconvertible audio; the message is fit to show a user."""
    code, status = "invalid-audio", 422


def check_name(name: str) -> str:
    if not _NAME_RE.match(name) or name.startswith("."):
        raise SoundError(f"invalid sound name {name!r}")
    return name


def check_voice(voice: str) -> str:
    if not isinstance(voice, str) or not VOICE_RE.match(voice):
        raise SoundError(f"invalid voice {str(voice)[:40]!r}")
    return voice


def _sox(src: Path, dest: Path) -> None:
    """Paths go to sox absolute (external.run_tool), so an uploaded file's name can never be
    read as an option."""
    tmp = Path(dest).with_suffix(".tmp.wav")
    try:
        res = run_tool(["sox", Path(src), *SOX_TARGET, tmp], timeout=TOOL_TIMEOUT)
    except ToolError as exc:
        tmp.unlink(missing_ok=True)
        raise SoundError(f"could not convert the audio file: {exc}") from None
    if res.returncode != 0:
        tmp.unlink(missing_ok=True)
        reason = (res.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise SoundError(f"could not convert the audio file: {reason}")
    os.chmod(tmp, 0o644)
    tmp.replace(dest)


def convert_file(src: Path, dest: Path) -> None:
    """Any audio sox reads -> `dest` as the 8 kHz mono 16-bit WAV Asterisk plays."""
    _sox(src, dest)


def voice_for(language: str | None) -> str:
    """The TTS voice for a tenant's language (sounds/prompts.toml [voices]): a German tenant's
    texts are spoken by a German voice, like its prompts; unknown languages get English."""
    from voxcast.audio import prompts
    return prompts.voices().get(prompts.normalize(language), "en")


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
    """The text goes on stdin (`--stdin`, UTF-8), never on the command line: there a text
    such as "-f/path" would be read as an option (speak that file, write elsewhere)."""

    def synthesize(self, text: str, voice: str, dest: Path) -> None:
        try:
            res = run_tool(["espeak-ng", "-b", "1", "-v", Untrusted(check_voice(voice or "en")),
                            "-w", Path(dest), "--stdin"], input_text=text, timeout=TOOL_TIMEOUT)
        except ToolError as exc:
            raise SoundError(f"espeak-ng failed: {exc}") from None
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


def speak(text: str, dest: Path, voice: str = "en", engine: TextToSpeech | None = None) -> Path:
    """Speak `text` in `voice` into `dest` as the WAV Asterisk plays (written atomically):
    the campaigns' TTS cache and the audio library's spoken prompts (voxcast.audio.library)."""
    check_voice(voice)
    if not text.strip():
        raise SoundError("the text to speak is empty")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "tts.wav"
        (engine or engine_by_name()).synthesize(text, voice, raw)
        _sox(raw, dest)
    return dest


def tts(text: str, sounds_dir: Path, voice: str = "en", engine: TextToSpeech | None = None) -> str:
    """Synthesize (or reuse) text as a sound; returns the sound name."""
    check_voice(voice)
    name = tts_name(text, voice)
    dest = sounds_dir / f"{name}.wav"
    if not dest.exists():
        sounds_dir.mkdir(parents=True, exist_ok=True)
        speak(text, dest, voice, engine)
    return name


async def tts_async(text: str, sounds_dir: Path, voice: str = "en") -> str:
    """For the event loop: synthesis runs in a thread."""
    return await asyncio.to_thread(tts, text, sounds_dir, voice)


def duration_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())
