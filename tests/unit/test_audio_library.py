"""The tenant's audio library (voxcast.audio.library) with the real sox and espeak-ng: uploads
in any format sox reads become 8 kHz mono WAV, a broken file is refused with the reason and
leaves nothing behind, the disk quota counts prompts and refuses one too many, TTS speaks the
tenant's language, where a prompt is used is listed and a prompt in use cannot be deleted, and
another tenant's prompts are neither found nor playable in an IVR."""
from __future__ import annotations

import json
import subprocess
import wave

import pytest

from models import Campaign, Did, Tenant
from models.entities import Ivr, Prompt
from voxcast.audio import library
from voxcast.ivr import services as flow_service
from voxcast.tenants import quotas
from voxcast.tenants.quotas import QuotaExceeded


@pytest.fixture
def tenant(db):
    return Tenant.create(name="Acme", slug="acme", disk_quota_mb=50, language="en")


@pytest.fixture
def other(db):
    return Tenant.create(name="Other", slug="other", disk_quota_mb=50)


def _audio(tmp_path, name: str, seconds: float = 1.0, rate: int = 44100, channels: int = 2) -> bytes:
    path = tmp_path / name
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), str(path), "synth",
                    str(seconds), "sine", "440"], check=True)
    return path.read_bytes()


def _left(settings) -> list[str]:
    folder = settings.sounds_dir
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.mark.parametrize("filename", ["tone.wav", "tone.flac", "tone.ogg", "tone.aiff"])
def test_an_upload_in_any_format_sox_reads_becomes_the_wav_asterisk_plays(
        tenant, settings, tmp_path, filename):
    data = _audio(tmp_path, filename, seconds=1.5)
    prompt = library.upload(tenant.id, "", filename, data, settings)
    assert prompt.name == "tone" and prompt.source == "upload" and prompt.filename == filename
    assert prompt.sound.startswith(f"prompt-t{tenant.id}-")
    path = library.audio_path(settings, prompt)
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
    assert 1.4 < float(prompt.seconds) < 1.6
    assert prompt.size_bytes == path.stat().st_size
    assert _left(settings) == [f"{prompt.sound}.wav"]  # no work file left


def test_a_broken_file_is_refused_with_the_reason_and_nothing_is_stored(tenant, settings):
    for filename, data in (("broken.wav", b"RIFF\x00\x00\x00\x00WAVEnot really"),
                           ("notes.txt", b"hello, I am not audio"),
                           ("noext", b"\x00\x01" * 500)):
        with pytest.raises(library.PromptError) as err:
            library.upload(tenant.id, "Broken", filename, data, settings)
        assert err.value.code == "invalid-audio" and err.value.status == 400
        assert str(err.value).startswith("This is not an audio file we can read (")
    with pytest.raises(library.PromptError) as err:
        library.upload(tenant.id, "Empty", "empty.wav", b"", settings)
    assert err.value.code == "prompt-empty"
    assert Prompt.select().count() == 0
    assert _left(settings) == []


def test_a_file_with_no_samples_is_refused(tenant, settings, tmp_path):
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:  # a valid header and not one sample
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
    data = path.read_bytes()
    with pytest.raises(library.PromptError) as err:
        library.upload(tenant.id, "Nothing", "silence.wav", data, settings)
    assert err.value.code == "prompt-empty" and str(err.value) == "The file contains no audio."
    assert Prompt.select().count() == 0 and _left(settings) == []


def test_an_oversized_upload_is_refused_before_any_work(tenant, settings, tmp_path):
    data = _audio(tmp_path, "tone.wav")
    with pytest.raises(library.PromptTooLarge) as err:
        library.upload(tenant.id, "Big", "tone.wav", data, settings, max_bytes=len(data) - 1)
    assert err.value.status == 413 and Prompt.select().count() == 0 and _left(settings) == []


def test_prompts_count_in_the_disk_quota_and_one_too_many_is_refused(tenant, settings, tmp_path):
    prompt = library.upload(tenant.id, "First", "a.wav", _audio(tmp_path, "a.wav", 2), settings)
    used = quotas.used(tenant, "disk_mb", settings.sounds_dir)
    assert used == pytest.approx(prompt.size_bytes / (1024 * 1024))
    Tenant.update(disk_quota_mb=0).where(Tenant.id == tenant.id).execute()
    with pytest.raises(QuotaExceeded) as err:
        library.upload(tenant.id, "Second", "b.wav", _audio(tmp_path, "b.wav", 2), settings)
    assert str(err.value) == "Your plan allows 0 MB of storage; you have 0.0."
    with pytest.raises(QuotaExceeded):
        library.speak(tenant.id, "Spoken", "Hello there", settings)
    assert [p.name for p in Prompt.select()] == ["First"]
    assert _left(settings) == [f"{prompt.sound}.wav"]


def test_tts_speaks_in_the_tenants_language_or_a_chosen_one(tenant, settings):
    prompt = library.speak(tenant.id, "", "Welcome to Acme", settings)
    assert (prompt.source, prompt.language, prompt.text) == ("tts", "en", "Welcome to Acme")
    assert prompt.name == "Welcome to Acme" and float(prompt.seconds) > 0.5
    Tenant.update(language="de_DE").where(Tenant.id == tenant.id).execute()
    german = library.speak(tenant.id, "Gruss", "Willkommen bei Acme", settings)
    assert german.language == "de"
    english = library.speak(tenant.id, "Hi", "Hello", settings, language="en")
    assert english.language == "en"
    with pytest.raises(library.PromptError) as err:
        library.speak(tenant.id, "Klingon", "Qapla", settings, language="tlh")
    assert err.value.field == "language"
    with pytest.raises(library.PromptError) as err:
        library.speak(tenant.id, "Blank", "   ", settings)
    assert err.value.field == "text"
    assert Prompt.select().count() == 3


def test_names_are_unique_per_tenant_only(tenant, other, settings, tmp_path):
    data = _audio(tmp_path, "a.wav")
    library.upload(tenant.id, "Greeting", "a.wav", data, settings)
    with pytest.raises(library.PromptError) as err:
        library.upload(tenant.id, "Greeting", "a.wav", data, settings)
    assert err.value.field == "name" and err.value.code == "prompt-name-taken"
    library.upload(other.id, "Greeting", "a.wav", data, settings)
    assert Prompt.select().count() == 2 and len(_left(settings)) == 2


def test_another_tenants_prompt_is_neither_found_nor_playable_in_an_ivr(tenant, other, settings,
                                                                        tmp_path):
    theirs = library.upload(other.id, "Theirs", "a.wav", _audio(tmp_path, "a.wav"), settings)
    mine = library.upload(tenant.id, "Mine", "a.wav", _audio(tmp_path, "a.wav"), settings)
    with pytest.raises(library.PromptNotFound):
        library.get(tenant.id, theirs.id)
    with pytest.raises(library.PromptNotFound):
        library.delete(tenant.id, theirs.id, settings)
    assert library.get(tenant.id, mine.id) == mine
    assert [p.id for p in library.prompts(tenant.id)] == [mine.id]
    assert library.owned_sounds(tenant.id, [mine.sound, theirs.sound]) == {mine.sound}
    tree = {"start": "a", "nodes": {"a": {"type": "play", "sound": theirs.sound, "next": "b"},
                                    "b": {"type": "hangup"}}}
    with pytest.raises(flow_service.FlowServiceError) as err:
        flow_service.parse_tree(tenant.id, tree)
    assert f"sound '{theirs.sound}' is not one of your sounds" in str(err.value.errors)
    tree["nodes"]["a"]["sound"] = mine.sound
    assert flow_service.parse_tree(tenant.id, tree) == tree


def test_uses_are_listed_and_a_prompt_in_use_cannot_be_deleted(tenant, settings, tmp_path):
    prompt = library.upload(tenant.id, "Offer", "a.wav", _audio(tmp_path, "a.wav"), settings)
    spare = library.upload(tenant.id, "Spare", "b.wav", _audio(tmp_path, "b.wav"), settings)
    campaign = Campaign.create(tenant=tenant, name="Spring", message_file=prompt.sound)
    ivr = Ivr.create(tenant=tenant, name="Main menu", tree=json.dumps(
        {"start": "m", "nodes": {"m": {"type": "menu", "sound": prompt.sound,
                                       "options": {"1": "h"}}, "h": {"type": "hangup"}}}))
    did = Did.create(tenant=tenant, number="15551230001", greeting_file=prompt.sound)
    found = library.uses(tenant.id, [prompt, spare])
    assert found[spare.id] == []
    assert found[prompt.id] == [library.Use("campaign", campaign.id, "Spring", True),
                                library.Use("ivr", ivr.id, "Main menu", True),
                                library.Use("did", did.id, "15551230001", True)]
    with pytest.raises(library.PromptInUse) as err:
        library.delete(tenant.id, prompt.id, settings)
    assert str(err.value) == ("The prompt is in use (Spring, Main menu, 15551230001); "
                              "change those first.")
    assert err.value.status == 409 and library.audio_path(settings, prompt) is not None
    # a finished campaign will not play it again; the IVR and the DID let go of it
    Campaign.update(status="completed").where(Campaign.id == campaign.id).execute()
    ivr.delete_instance()
    Did.update(greeting_file="").where(Did.id == did.id).execute()
    assert library.uses(tenant.id, [prompt])[prompt.id] == [
        library.Use("campaign", campaign.id, "Spring", False)]
    library.delete(tenant.id, prompt.id, settings)
    assert Prompt.get_or_none(Prompt.id == prompt.id) is None
    assert _left(settings) == [f"{spare.sound}.wav"]


def test_a_deleted_tenant_takes_its_prompts_with_it(tenant, other, settings, tmp_path):
    from voxcast.tenants import services as tenant_service
    gone = library.upload(tenant.id, "Gone", "a.wav", _audio(tmp_path, "a.wav"), settings)
    kept = library.upload(other.id, "Kept", "a.wav", _audio(tmp_path, "a.wav"), settings)
    tenant_service.force_delete(tenant, "Acme", settings.sounds_dir)
    assert Prompt.get_or_none(Prompt.id == gone.id) is None
    assert _left(settings) == [f"{kept.sound}.wav"]
