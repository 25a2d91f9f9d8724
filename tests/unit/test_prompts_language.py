"""Shipped prompts (sounds/prompts.toml) and the call's language: the sources are complete
in every language, rendering makes each file once, the chroot's symlinks resolve inside it,
and the ARI side sets CHANNEL(language) only when it is not English."""
from __future__ import annotations

import asyncio
import os
import wave
from types import SimpleNamespace

import pytest

from ari_app import language
from voxcast.audio import prompts, sounds

CONTRACT = ("vx-hold vx-queue-position vx-queue-wait vx-minutes vx-queue-thanks "
            "vx-agent-unavailable vx-abandoned vx-voicemail vx-optout-confirmed vx-invalid "
            "vx-goodbye vx-closed vx-enter-pin vx-logged-in vx-logged-out vx-paused vx-ready "
            "vx-pin-invalid vx-not-allowed vx-no-credit").split()
# What Asterisk's German say.c reads for numbers up to the millions (ast_say_number_full_de).
GERMAN_DIGITS = ([str(n) for n in range(20)] + [str(n) for n in range(20, 100, 10)]
                 + [f"{n}-and" for n in range(1, 10)]
                 + ["1N", "1F", "hundred", "thousand", "million", "millions", "minus"])


def test_every_language_has_every_prompt_of_the_contract_and_a_voice():
    cat = prompts.catalogue()
    assert set(prompts.languages()) >= {"en", "de"}
    for lang in prompts.languages():
        have = {p.name for p in cat if p.lang == lang}
        assert set(CONTRACT) <= have, (lang, set(CONTRACT) - have)
    assert prompts.voices()["de"].startswith("de")
    german = {p.name: p.text for p in cat if p.lang == "de"}
    assert german["vx-hold"] != dict((p.name, p.text) for p in cat if p.lang == "en")["vx-hold"]
    assert {f"digits/{d}" for d in GERMAN_DIGITS} <= set(german)
    assert german["digits/1-and"] == "einund" and german["digits/1N"] == "ein"


def test_a_language_missing_a_prompt_is_refused(tmp_path):
    src = tmp_path / "p.toml"
    src.write_text('[voices]\nen = "en"\nde = "de"\n[prompts.en]\nvx-a = "A."\nvx-b = "B."\n'
                   '[prompts.de]\nvx-a = "A."\n')
    with pytest.raises(prompts.PromptSourceError, match="vx-b"):
        prompts.catalogue(src)


@pytest.mark.parametrize("given,expected", [("de", "de"), ("de_DE", "de"), ("de-AT", "de"),
                                            ("en", "en"), ("", "en"), (None, "en"),
                                            ("fr", "en"), ("xx_YY", "en")])
def test_languages_normalize_to_one_we_have_prompts_for(given, expected):
    assert prompts.normalize(given) == expected
    assert language.normalize(given) == expected


def test_a_german_tenant_gets_a_german_voice_and_an_unknown_language_english():
    assert sounds.voice_for("de") == "de"
    assert sounds.voice_for("de_CH") == "de"
    assert sounds.voice_for("en") == "en"
    assert sounds.voice_for("fr") == "en"
    # the cache key follows the voice: a German text is its own sound
    assert sounds.tts_name("Hallo", sounds.voice_for("de")) != sounds.tts_name("Hallo")


class ToneEngine(sounds.TextToSpeech):
    """A stand-in TTS (a tone per call, longer for longer texts), counting its calls."""
    calls: list = []

    def synthesize(self, text, voice, dest):
        ToneEngine.calls.append((text, voice))
        import subprocess
        subprocess.run(["sox", "-n", "-r", "16000", str(dest), "synth",
                        str(0.05 * len(text)), "sine", "440"], check=True)


def test_render_makes_each_file_once_and_again_only_when_its_text_changes(tmp_path, monkeypatch):
    monkeypatch.setitem(sounds.ENGINES, "tone", ToneEngine)
    ToneEngine.calls = []
    src = tmp_path / "p.toml"
    src.write_text('[voices]\nen = "en"\nde = "de"\n[prompts.en]\nvx-a = "Hello."\n'
                   '[prompts.de]\nvx-a = "Hallo."\n[digits.de]\n"1-and" = "einund"\n')
    prompts._load.cache_clear()
    base = tmp_path / "sounds"
    at = lambda lang: base / lang  # noqa: E731
    assert prompts.render(at, "tone", src) == 3
    assert ToneEngine.calls == [("Hello.", "en"), ("Hallo.", "de"), ("einund", "de")]
    with wave.open(str(base / "de" / "vx-a.wav")) as w:  # what Asterisk plays cheaply
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    assert (base / "de" / "digits" / "1-and.wav").exists()
    assert prompts.render(at, "tone", src) == 0  # nothing changed: nothing spoken
    src.write_text(src.read_text().replace("Hallo.", "Guten Tag."))
    prompts._load.cache_clear()
    assert prompts.render(at, "tone", src) == 1
    assert ToneEngine.calls[-1] == ("Guten Tag.", "de")
    prompts._load.cache_clear()


def test_paths_in_the_chroot_follow_its_symlinks_inside_it(tmp_path):
    root = tmp_path / "root"
    (root / "usr/share/asterisk/sounds").mkdir(parents=True)
    (root / "usr/local/share/asterisk/sounds").mkdir(parents=True)
    (root / "etc/alternatives").mkdir(parents=True)
    (root / "usr/share/asterisk/sounds/Allison").mkdir()
    # Debian: sounds/en -> /etc/alternatives/asterisk-prompt-en -> .../Allison (absolute)
    os.symlink("/usr/share/asterisk/sounds/Allison", root / "etc/alternatives/prompt-en")
    os.symlink("/etc/alternatives/prompt-en", root / "usr/share/asterisk/sounds/en")
    os.symlink("../../../local/share/asterisk/sounds", root / "usr/share/asterisk/sounds/custom")
    assert prompts.host_path_in(root, "/usr/share/asterisk/sounds/en/digits") == \
        root / "usr/share/asterisk/sounds/Allison/digits"
    assert prompts.language_dir(root, "/usr/share/asterisk", "en") == \
        root / "usr/share/asterisk/sounds/Allison"
    assert prompts.language_dir(root, "/usr/share/asterisk", "de") == \
        root / "usr/share/asterisk/sounds/de"
    assert prompts.host_path_in(root, "/usr/share/asterisk/sounds/custom") == \
        root / "usr/local/share/asterisk/sounds"  # relative links too


class FakeAri:
    def __init__(self):
        self.posts = []

    async def post(self, path, **params):
        self.posts.append((path, params))


class FakeWriter:
    def __init__(self, lang):
        self.lang, self.jobs = lang, 0

    async def run(self, fn, *args):
        self.jobs += 1
        return self.lang


def test_set_language_sets_channel_language_only_when_not_english():
    ctx = SimpleNamespace(ari=FakeAri())

    async def go():
        assert await language.set_language(ctx, "c1", "en") == "en"
        assert await language.set_language(ctx, "c2", "de_DE") == "de"
    asyncio.run(go())
    assert ctx.ari.posts == [("/channels/c2/variable",
                              {"variable": "CHANNEL(language)", "value": "de"})]
    assert language.variables("de") == {"CHANNEL(language)": "de"}
    assert language.variables("en") == {}


def test_apply_reads_the_tenant_language_once_and_marks_the_handler():
    ctx = SimpleNamespace(ari=FakeAri(), writer=FakeWriter("de"),
                          languages=language.TenantLanguages())

    async def go():
        first = SimpleNamespace(ctx=ctx, channel_id="a", tenant_id=5, language="en")
        second = SimpleNamespace(ctx=ctx, channel_id="b", tenant_id=5, language="en")
        await language.apply(first)
        await language.apply(second)
        return first, second
    first, second = asyncio.run(go())
    assert (first.language, second.language) == ("de", "de")
    assert ctx.writer.jobs == 1  # cached for the tenant's next calls
    assert [p[0] for p in ctx.ari.posts] == ["/channels/a/variable", "/channels/b/variable"]


def test_announcements_are_one_media_list_in_the_channel_language():
    assert language.position_media(3) == "sound:vx-queue-position,number:3"
    assert language.wait_media(4.4) == "sound:vx-queue-wait,number:4,sound:vx-minutes"
    assert language.wait_media(0.2) == "sound:vx-queue-wait,sound:vx-one-minute"
