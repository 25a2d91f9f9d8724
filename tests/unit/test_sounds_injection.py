"""Security issue 10, finding 1: a tenant's text (campaign message, IVR `say`, greeting, a
contact's first name in a reminder) never becomes an option of espeak-ng, and file names never
become options of sox. Real espeak-ng and sox, no fakes."""
from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import pytest

from voxcast.runtime import external
from voxcast.audio import sounds

from .api_support import master_api  # noqa: F401

CAMPAIGN_FORM = {"name": "Spring sale", "caller_id": "", "channel_limit": "3",
                 "dial_timeout": "30", "retry_busy": "2", "retry_noanswer": "1",
                 "retry_failed": "0", "retry_interval": "300"}
SECRET = "banana secret word " * 60  # spoken, this is well over a minute


def _seconds(sounds_dir, name) -> float:
    return sounds.duration_seconds(sounds_dir / f"{name}.wav")


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def test_text_starting_with_dash_f_is_spoken_literally_not_the_file(tmp_path, secret_file):
    out = tmp_path / "sounds"
    leaked = _seconds(out, sounds.tts(SECRET, out))  # what speaking the file would give
    name = sounds.tts(f"-f{secret_file}", out)
    spoken = _seconds(out, name)
    assert leaked > 30
    assert 0.5 < spoken < 10, spoken  # the short literal string, not the file's contents


def test_text_starting_with_dash_w_writes_no_file_of_the_attackers_choice(tmp_path):
    target = tmp_path / "planted.wav"
    out = tmp_path / "sounds"
    name = sounds.tts(f"-w{target} hello", out)
    assert not target.exists()
    assert _seconds(out, name) > 0.5  # and the text was spoken into our own file


def test_text_starting_with_dash_is_spoken(tmp_path):
    out = tmp_path / "sounds"
    name = sounds.tts("-5 degrees tonight", out)
    with wave.open(str(out / f"{name}.wav"), "rb") as w:
        assert w.getnframes() > 8000 * 0.5


@pytest.mark.parametrize("voice", ["-w/tmp/x", "en -f x", "-fen", "en\n-f", "../en", ""])
def test_bad_voice_is_refused(tmp_path, voice):
    with pytest.raises(sounds.SoundError, match="invalid voice"):
        sounds.tts("hello", tmp_path, voice=voice)
    with pytest.raises(sounds.SoundError, match="invalid voice"):
        sounds.EspeakNg().synthesize("hello", voice or "-", tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("voice", ["en", "en-us", "en-gb-x-rp", "de", "en+f3"])
def test_real_voice_names_are_accepted(tmp_path, voice):
    assert _seconds(tmp_path, sounds.tts("hello", tmp_path, voice=voice)) > 0.2


def test_upload_whose_name_starts_with_a_dash_is_converted_not_read_as_an_option(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "2", str(tmp_path / "-x.wav"), "synth",
                    "0.7", "sine", "440"], check=True)
    dest = sounds.convert_upload(Path("-x.wav"), tmp_path / "sounds", "campaign-1")
    assert abs(sounds.duration_seconds(dest) - 0.7) < 0.05


def test_run_tool_refuses_untrusted_options_and_closes_stdin(tmp_path):
    with pytest.raises(external.ToolError, match="could be read as an option"):
        external.run_tool(["echo", external.Untrusted("-n")])
    assert external.run_tool(["echo", external.Untrusted("ok")]).stdout == "ok\n"
    # a relative path is passed absolute, so it can never start with '-'
    res = external.run_tool(["echo", tmp_path.relative_to(tmp_path.parent)])
    assert res.stdout.startswith("/")
    assert external.run_tool(["cat"], timeout=5).stdout == ""  # stdin closed: no wait
    assert external.run_tool(["cat"], input_text="-f x").stdout == "-f x"
    with pytest.raises(external.ToolError, match="not installed"):
        external.run_tool(["voxcast-no-such-program"])


# -- through the web UI and the API -------------------------------------------------------------

def test_campaign_message_dash_f_does_not_leak_through_ui_or_api(auth, master_api, make_group,
                                                                 secret_file, settings):
    from models import Campaign, Tenant
    master = Tenant.get(Tenant.slug == "master")
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**CAMPAIGN_FORM, "group": str(group.id),
                                        "message_text": f"-f{secret_file}"})
    assert resp.status_code == 302
    ui = Campaign.get(Campaign.name == CAMPAIGN_FORM["name"])
    resp = master_api.post("/api/v1/campaigns", json={
        "name": "API", "group_id": group.id, "message_text": f"-f{secret_file}"})
    assert resp.status_code == 201, resp.json
    api = Campaign.get_by_id(resp.json["id"])
    for campaign in (ui, api):
        assert campaign.message_text == f"-f{secret_file}"
        assert 0.5 < float(campaign.message_seconds) < 10
        assert _seconds(settings.sounds_dir, campaign.message_file) < 10
