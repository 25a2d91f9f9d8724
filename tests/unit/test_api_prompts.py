"""/api/v1/prompts through the Flask test client with the real sox and espeak-ng: a file as
base64 and a text to speak, the refusals (a broken file, a full quota, neither or both), list
with uses, one, the WAV, delete (409 while used), the provider's key naming the tenant, another
tenant's prompt not found."""
from __future__ import annotations

import base64
import subprocess

from models import Campaign, Tenant
from models.entities import Prompt

from .api_support import Api, admin_api, tenant_key  # noqa: F401  (fixtures)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _tone(tmp_path) -> bytes:
    path = tmp_path / "tone.ogg"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(path), "synth", "1", "sine",
                    "500"], check=True)
    return path.read_bytes()


def test_prompts_are_added_listed_played_and_deleted(app, client, tenant_key, tmp_path):  # noqa: F811
    acme, secret = tenant_key("acme")
    Tenant.update(disk_quota_mb=50).where(Tenant.id == acme.id).execute()
    api = Api(client, secret)
    r = api.post("/api/v1/prompts", json={"name": "Hold", "filename": "tone.ogg",
                                          "content_base64": _b64(_tone(tmp_path))})
    assert r.status_code == 201, r.json
    hold = r.json
    assert (hold["name"], hold["source"], hold["tenant_id"], hold["in_use"], hold["uses"]) == (
        "Hold", "upload", acme.id, False, [])
    assert 0.9 < hold["seconds"] < 1.1
    r = api.post("/api/v1/prompts", json={"text": "Welcome to Acme.", "language": "en"})
    assert r.status_code == 201, r.json
    assert (r.json["name"], r.json["source"], r.json["language"]) == (
        "Welcome to Acme.", "tts", "en")
    listing = api.get("/api/v1/prompts").json
    assert [p["name"] for p in listing["items"]] == ["Hold", "Welcome to Acme."]
    wav = api.get(f"/api/v1/prompts/{hold['id']}/audio")
    assert wav.status_code == 200 and wav.mimetype == "audio/wav"
    assert wav.get_data()[:4] == b"RIFF" and len(wav.get_data()) == hold["size_bytes"]

    campaign = Campaign.create(tenant=acme, name="Uses it", message_file=hold["sound"])
    one = api.get(f"/api/v1/prompts/{hold['id']}").json
    assert one["in_use"] is True
    assert one["uses"] == [{"kind": "campaign", "id": campaign.id, "name": "Uses it",
                            "blocking": True}]
    r = api.delete(f"/api/v1/prompts/{hold['id']}")
    assert r.status_code == 409 and r.json["error"]["code"] == "prompt-in-use"
    campaign.delete_instance()
    assert api.delete(f"/api/v1/prompts/{hold['id']}").status_code == 204
    assert Prompt.get_or_none(Prompt.id == hold["id"]) is None


def test_refusals_say_why_and_store_nothing(app, client, tenant_key, tmp_path):  # noqa: F811
    acme, secret = tenant_key("acme")
    Tenant.update(disk_quota_mb=50).where(Tenant.id == acme.id).execute()
    api = Api(client, secret)
    r = api.post("/api/v1/prompts", json={"filename": "x.wav",
                                          "content_base64": _b64(b"RIFF....WAVEbroken")})
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid-audio"
    assert "This is not an audio file we can read" in r.json["error"]["message"]
    r = api.post("/api/v1/prompts", json={"name": "Both", "text": "Hi",
                                          "content_base64": _b64(_tone(tmp_path))})
    assert r.status_code == 422
    assert api.post("/api/v1/prompts", json={"name": "Neither"}).status_code == 422
    assert api.post("/api/v1/prompts", json={"content_base64": "***"}).status_code == 422
    Tenant.update(disk_quota_mb=0).where(Tenant.id == acme.id).execute()
    r = api.post("/api/v1/prompts", json={"filename": "t.ogg",
                                          "content_base64": _b64(_tone(tmp_path))})
    assert r.status_code == 403 and r.json["error"]["code"] == "quota"
    assert "Your plan allows 0 MB of storage" in r.json["error"]["message"]
    assert Prompt.select().count() == 0


def test_another_tenants_prompt_is_not_found_and_the_provider_names_the_tenant(
        app, client, tenant_key, admin_api, tmp_path):  # noqa: F811
    acme, secret = tenant_key("acme")
    other, other_secret = tenant_key("other")
    for t in (acme, other):
        Tenant.update(disk_quota_mb=50).where(Tenant.id == t.id).execute()
    r = admin_api.post("/api/v1/prompts", json={"tenant_id": other.id, "name": "Theirs",
                                                "text": "Secret words"})
    assert r.status_code == 201 and r.json["tenant_id"] == other.id
    theirs = r.json["id"]
    api = Api(client, secret)
    for url in (f"/api/v1/prompts/{theirs}", f"/api/v1/prompts/{theirs}/audio"):
        assert api.get(url).status_code == 404
    assert api.delete(f"/api/v1/prompts/{theirs}").status_code == 404
    assert api.get("/api/v1/prompts").json["items"] == []
    r = api.post("/api/v1/prompts", json={"tenant_id": other.id, "text": "Into theirs"})
    assert r.status_code == 422
    assert Api(client, other_secret).get("/api/v1/prompts").json["total"] == 1
