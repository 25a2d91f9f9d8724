"""TTS behind a small interface: engines by name, cache by text and voice, output always
8 kHz mono 16-bit WAV whatever the engine writes."""
from __future__ import annotations

import subprocess
import wave

import pytest

from voxcast.audio import sounds


class ToneEngine(sounds.TextToSpeech):
    """A fake engine: a 44.1 kHz stereo tone whose length depends on the text."""
    calls: list = []

    def synthesize(self, text, voice, dest):
        ToneEngine.calls.append((text, voice))
        subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(dest), "synth",
                        str(0.1 * len(text)), "sine", "300"], check=True)


@pytest.fixture
def tone_engine(monkeypatch):
    ToneEngine.calls = []
    monkeypatch.setitem(sounds.ENGINES, "tone", ToneEngine)
    monkeypatch.setenv("VOXCAST_TTS_ENGINE", "tone")
    return ToneEngine


def test_engine_chosen_by_name_output_converted_and_cached(tmp_path, tone_engine):
    name = sounds.tts("hello", tmp_path, voice="en")
    with wave.open(str(tmp_path / f"{name}.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    assert sounds.tts("hello", tmp_path, voice="en") == name  # cached: not synthesized again
    assert tone_engine.calls == [("hello", "en")]
    other = sounds.tts("hello", tmp_path, voice="de")  # another voice is another sound
    assert other != name and tone_engine.calls[-1] == ("hello", "de")


def test_unknown_engine_and_empty_text_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXCAST_TTS_ENGINE", "nope")
    with pytest.raises(sounds.SoundError, match="unknown TTS engine 'nope'"):
        sounds.tts("hi", tmp_path)
    monkeypatch.setenv("VOXCAST_TTS_ENGINE", "espeak-ng")
    with pytest.raises(sounds.SoundError, match="empty"):
        sounds.tts("   ", tmp_path)
    assert sounds.duration_seconds(tmp_path / f"{sounds.tts('Hi there', tmp_path)}.wav") > 0.2
