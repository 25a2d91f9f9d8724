"""The audio library's pages through the Flask test client with the real sox and espeak-ng:
upload (a broken file and a full quota refused with the reason, nothing stored), text to speech,
the browser recorder's fetch (CSRF token required), every prompt playable from its own audio
route, where it is used, deletion refused while in use; another tenant's prompt is not found."""
from __future__ import annotations

import io
import json
import re
import subprocess

import pytest

from models import Campaign, Tenant
from models.entities import Ivr, Prompt
from voxcast.audio import library


def _login(auth, user):
    r = auth.login(user.username, f"pw-{user.username}")
    assert r.status_code in (302, 303), r.get_data(as_text=True)


def _tone(tmp_path, name="tone.flac", seconds=1.0) -> bytes:
    path = tmp_path / name
    subprocess.run(["sox", "-n", "-r", "22050", "-c", "1", str(path), "synth", str(seconds),
                    "sine", "600"], check=True)
    return path.read_bytes()


def _upload(auth, data: bytes, filename: str, name: str = ""):
    return auth.post("/prompts/upload", data={"name": name,
                                              "audio": (io.BytesIO(data), filename)},
                     content_type="multipart/form-data")


@pytest.fixture
def acme(app, make_tenant):
    tenant, user = make_tenant("acme", disk_quota_mb=50)
    return tenant, user


def test_an_upload_is_listed_with_a_player_and_its_audio_served(app, client, auth, acme,
                                                                tmp_path):
    tenant, user = acme
    _login(auth, user)
    page = client.get("/prompts/").get_data(as_text=True)
    assert "Audio library" in page and 'id="prompt-recorder"' in page
    assert "prompt_recorder.js" in page
    r = _upload(auth, _tone(tmp_path), "welcome.flac", "Welcome")
    assert r.status_code == 302, r.get_data(as_text=True)
    prompt = Prompt.get(Prompt.tenant == tenant.id)
    assert (prompt.name, prompt.source, prompt.filename) == ("Welcome", "upload", "welcome.flac")
    html = client.get("/prompts/").get_data(as_text=True)
    assert f'data-id="{prompt.id}"' in html and "Welcome added" in html
    assert f'<audio controls preload="metadata" src="/prompts/{prompt.id}/audio"' in html
    audio = client.get(f"/prompts/{prompt.id}/audio")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    body = audio.get_data()
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE" and len(body) == prompt.size_bytes
    # a range request, as a browser's player makes
    part = client.get(f"/prompts/{prompt.id}/audio", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.get_data()) == 100


def test_a_broken_file_is_refused_on_the_page_and_nothing_stored(app, client, auth, acme,
                                                                 settings):
    tenant, user = acme
    _login(auth, user)
    r = _upload(auth, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk", "broken.wav", "Broken")
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "This is not an audio file we can read" in body
    assert Prompt.select().count() == 0
    assert not [p for p in settings.sounds_dir.glob("*")] if settings.sounds_dir.exists() else True


def test_a_full_quota_is_refused_clearly(app, client, auth, acme, tmp_path):
    tenant, user = acme
    Tenant.update(disk_quota_mb=0).where(Tenant.id == tenant.id).execute()
    _login(auth, user)
    r = _upload(auth, _tone(tmp_path), "welcome.flac", "Welcome")
    body = r.get_data(as_text=True)
    assert r.status_code == 403
    assert "Not enough storage: your plan allows 0 MB and 0.0 MB are used." in body
    r = auth.post("/prompts/speak", data={"name": "Hi", "text": "Hello", "language": "en"})
    assert r.status_code == 403 and "Not enough storage" in r.get_data(as_text=True)
    assert Prompt.select().count() == 0


def test_text_is_spoken_in_the_tenants_language_by_default(app, client, auth, make_tenant):
    tenant, user = make_tenant("gmbh", language="de_DE", disk_quota_mb=50)
    _login(auth, user)
    page = client.get("/prompts/").get_data(as_text=True)
    assert re.search(r'<option selected value="de">|<option value="de" selected>', page), page
    r = auth.post("/prompts/speak", data={"name": "", "text": "Willkommen", "language": "de"})
    assert r.status_code == 302, r.get_data(as_text=True)
    prompt = Prompt.get(Prompt.tenant == tenant.id)
    assert (prompt.name, prompt.source, prompt.language) == ("Willkommen", "tts", "de")
    r = auth.post("/prompts/speak", data={"name": "", "text": "", "language": "de"})
    assert r.status_code == 400


def test_the_recorders_fetch_needs_the_csrf_token_and_answers_json(app, client, auth, acme,
                                                                   tmp_path):
    tenant, user = acme
    _login(auth, user)
    wav = _tone(tmp_path, "rec.wav")
    token = auth.token("/prompts/")
    r = client.post("/prompts/record", data={"name": "My voice",
                                             "audio": (io.BytesIO(wav), "recording.wav")},
                    content_type="multipart/form-data")
    assert r.status_code == 400 and Prompt.select().count() == 0  # no token: CSRF refused
    r = client.post("/prompts/record", data={"name": "My voice",
                                             "audio": (io.BytesIO(wav), "recording.wav")},
                    headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_data(as_text=True)
    prompt = Prompt.get(Prompt.tenant == tenant.id)
    assert r.json == {"id": prompt.id, "name": "My voice", "seconds": float(prompt.seconds),
                      "audio_url": f"/prompts/{prompt.id}/audio", "next": "/prompts/"}
    assert prompt.source == "recording"
    r = client.post("/prompts/record", data={"name": "Bad",
                                             "audio": (io.BytesIO(b"garbage"), "recording.wav")},
                    headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert r.status_code == 400 and "not an audio file" in r.json["error"]
    assert Prompt.select().count() == 1


def test_uses_are_shown_and_a_prompt_in_use_is_not_deleted(app, client, auth, acme, tmp_path,
                                                           settings):
    tenant, user = acme
    _login(auth, user)
    assert _upload(auth, _tone(tmp_path), "a.flac", "Menu").status_code == 302
    prompt = Prompt.get(Prompt.tenant == tenant.id)
    campaign = Campaign.create(tenant=tenant, name="Spring sale", message_file=prompt.sound)
    ivr = Ivr.create(tenant=tenant, name="Front desk", tree=json.dumps(
        {"start": "a", "nodes": {"a": {"type": "play", "sound": prompt.sound, "next": "b"},
                                 "b": {"type": "hangup"}}}))
    html = client.get("/prompts/").get_data(as_text=True)
    assert f'href="/campaigns/{campaign.id}"' in html and "Spring sale" in html
    assert f'href="/ivrs/{ivr.id}"' in html and "Front desk" in html
    assert f"/prompts/{prompt.id}/delete" not in html
    r = auth.post(f"/prompts/{prompt.id}/delete", follow_redirects=True)
    assert "The prompt is in use (Spring sale, Front desk)" in r.get_data(as_text=True)
    assert Prompt.select().count() == 1
    campaign.delete_instance()
    ivr.delete_instance()
    r = auth.post(f"/prompts/{prompt.id}/delete", follow_redirects=True)
    assert "Prompt deleted." in r.get_data(as_text=True)
    assert Prompt.select().count() == 0
    assert not (settings.sounds_dir / f"{prompt.sound}.wav").exists()


def test_another_tenants_prompt_is_not_found(app, client, auth, acme, make_tenant, settings,
                                             tmp_path):
    tenant, user = acme
    other, _ = make_tenant("other", disk_quota_mb=50)
    theirs = library.upload(other.id, "Secret offer", "x.flac", _tone(tmp_path), settings)
    _login(auth, user)
    assert client.get(f"/prompts/{theirs.id}/audio").status_code == 404
    assert auth.post(f"/prompts/{theirs.id}/delete").status_code == 404
    assert "Secret offer" not in client.get("/prompts/").get_data(as_text=True)
    assert Prompt.get_by_id(theirs.id).name == "Secret offer"
    assert (settings.sounds_dir / f"{theirs.sound}.wav").exists()


def test_agents_have_no_audio_library(app, client, auth, make_tenant):
    tenant, user = make_tenant("callco", role="agent")
    _login(auth, user)
    assert client.get("/prompts/").status_code == 403


def test_the_list_is_searchable_and_paged(app, client, auth, acme, settings, tmp_path,
                                          monkeypatch):
    from webui import prompts as view
    tenant, user = acme
    monkeypatch.setattr(view, "PER_PAGE", 2)
    data = _tone(tmp_path, seconds=0.3)
    for name in ("Alpha", "Bravo", "Charlie"):
        library.upload(tenant.id, name, "t.flac", data, settings)
    _login(auth, user)
    first = client.get("/prompts/").get_data(as_text=True)
    assert "Alpha" in first and "Bravo" in first and "Charlie" not in first
    assert "/prompts/?page=2" in first
    second = client.get("/prompts/?page=2").get_data(as_text=True)
    assert "Charlie" in second and "Alpha" not in second
    found = client.get("/prompts/?q=rav").get_data(as_text=True)
    assert "Bravo" in found and "Alpha" not in found and "Charlie" not in found
    none = client.get("/prompts/?q=zulu").get_data(as_text=True)
    assert "No prompt matches 'zulu'." in none.replace("&#39;", "'")
