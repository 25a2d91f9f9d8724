"""A voicemail's e-mail (the recording attached, who called when in the tenant's time zone)
and its CDR, against a real SMTP server; a refused mail is logged, not raised."""
from __future__ import annotations

import datetime as dt
import wave

from models import Call
from voxcast.numbers import voicemail

from .smtp_peer import free_port, smtp  # noqa: F401  (fixture)


def _wav(path, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * int(8000 * seconds))


def test_voicemail_is_mailed_with_its_recording_and_kept_on_the_call(db, make_tenant, smtp,
                                                                     tmp_path):
    tenant, _u = make_tenant("acme")
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    other, _o = make_tenant("globex")
    call = Call.create(tenant=tenant, direction="inbound", number="+4930111", did="+4940222",
                       channel_id="vm-1")
    theirs = Call.create(tenant=other, direction="inbound", number="+4930111", channel_id="vm-2")
    path = tmp_path / f"{tenant.id}-vm-{call.id}.wav"
    _wav(path, 3.0)

    at = voicemail.saved(tenant.id, call.id, path.name, dt.datetime(2026, 12, 7, 9, 30))
    assert at == "2026-12-07 10:30 CET"  # the tenant's time zone
    assert Call.get_by_id(call.id).recording == path.name
    assert voicemail.saved(tenant.id, theirs.id, path.name, dt.datetime(2026, 12, 7)) and \
        Call.get_by_id(theirs.id).recording == ""  # another tenant's call is not touched

    assert voicemail.send("anna@example.test", path, "+4930111", "+4940222", at)
    msg = smtp.wait()
    assert msg["To"] == "anna@example.test" and "+4930111" in msg["Subject"]
    assert "3 s" in msg["Subject"] and "+4940222" in smtp.body(msg) and at in smtp.body(msg)
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content_type() == "audio/wav"
    assert attachment.get_filename() == f"voicemail-{path.stem}.wav"
    assert attachment.get_content() == path.read_bytes()


def test_refused_voicemail_mail_is_logged_not_raised(db, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("VOXCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VOXCAST_SMTP_PORT", str(free_port()))  # nobody listens
    path = tmp_path / "1-vm-1.wav"
    _wav(path, 1.0)
    assert voicemail.send("anna@example.test", path, "+4930111", "+4940222", "now") is False
    assert "not delivered" in caplog.text
