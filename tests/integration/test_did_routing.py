"""DID routing through the real Asterisk: a PSTN caller (sipp) dials a DID that routes to a
user's phone (a registered sipp phone), to voicemail e-mailed to the user when the phone is
busy or not registered, elsewhere outside the tenant's timeslots, and never to another
tenant's target."""
from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import secrets
import time
import wave
from zoneinfo import ZoneInfo

import pytest

from models import Call, Did, Extension, Tenant, User
from models.entities import Ivr, Queue, Timeslot
from voxcast.audio import sounds
from voxcast.runtime import asterisk, pjsip_sync

from .conftest import wait_for
from .sipp import SCENARIOS, Sipp
from .speech_pcap import silence, speech_ulaw, write_pcap

_seq = itertools.count(1)
CALLER = "15550001000"


def _number(prefix: str) -> str:
    return f"{prefix}{next(_seq):03d}"


@pytest.fixture
def tenant(db) -> Tenant:
    slug = f"did-{secrets.token_hex(3)}"
    return Tenant.create(name=slug, slug=slug, timezone="Europe/Berlin", channel_limit=5)


def _user_with_phone(settings, tenant: Tenant, email: str) -> tuple[User, Extension]:
    user = User.create(tenant=tenant, username=f"u-{secrets.token_hex(3)}", email=email,
                       role="agent", password_hash="!")
    ext = Extension.create(number=_number("131"), secret=secrets.token_urlsafe(12),
                           tenant=tenant, user=user)
    pjsip_sync.sync(settings)
    wait_for(lambda: re.search(rf"Endpoint:\s+{ext.number}/",
                               asterisk.cli(settings, "pjsip show endpoints")), 10,
             message=f"endpoint {ext.number}")
    return user, ext


def _second_phone(settings, tenant: Tenant, user: User) -> Extension:
    ext = Extension.create(number=_number("131"), secret=secrets.token_urlsafe(12),
                           tenant=tenant, user=user)
    pjsip_sync.sync(settings)
    wait_for(lambda: re.search(rf"Endpoint:\s+{ext.number}/",
                               asterisk.cli(settings, "pjsip show endpoints")), 10,
             message=f"endpoint {ext.number}")
    return ext


def _register(settings, workdir, ext: Extension, port: int) -> None:
    phone = Sipp("uac_register.xml", workdir, [f"127.0.0.1:{settings.sip_port}", "-s", ext.number,
                                               "-au", ext.number, "-ap", ext.secret,
                                               "-p", str(port), "-m", "1", "-timeout", "20s"],
                 name=f"register-{ext.number}")
    phone.start()
    assert phone.wait(30) == 0, phone.diagnostics()


def _speaking_caller(settings, workdir, did: str, text: str, lead_s: float, hangup_ms: int,
                     port: int, quiet_s: float = 0.5) -> Sipp:
    """A caller who says `text` after `lead_s` seconds of the call and hangs up at hangup_ms
    (0: stays on the line, `quiet_s` of silence after the words, until we hang up)."""
    pcap = workdir / f"speech-{did}.pcap"
    write_pcap(silence(lead_s) + speech_ulaw(text) + silence(quiet_s), pcap)
    template = "uac_call_did_speak.xml.in" if hangup_ms else "uac_call_did_speak_wait.xml.in"
    scenario = workdir / f"{template[:-7]}-{did}.xml"
    scenario.write_text((SCENARIOS / template).read_text().replace("@PCAP@", str(pcap)))
    return Sipp(str(scenario), workdir, [f"127.0.0.1:{settings.sip_port}", "-s", did,
                                         "-p", str(port), "-m", "1", "-d", str(hangup_ms),
                                         "-timeout", "60s"], name=f"speak-{did}")


def _voicemail_mail(smtp_peer, to: str):
    return wait_for(lambda: next((m for m in smtp_peer.messages if m["To"] == to), None), 20,
                    message=f"voicemail e-mail to {to}")


def _check_voicemail(settings, smtp_peer, did: str, email: str) -> None:
    call = wait_for(lambda: Call.get_or_none(Call.did == did, Call.ended_at.is_null(False)), 15,
                    message="inbound CDR closed")
    assert call.disposition == "ANSWERED" and call.number == CALLER
    msg = _voicemail_mail(smtp_peer, email)
    assert CALLER in msg["Subject"] and did in smtp_peer.body(msg)
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content_type() == "audio/wav"
    data = attachment.get_content()
    with wave.open(io.BytesIO(data)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds >= 1.5, seconds  # the caller's words, not just the beep
    call = wait_for(lambda: Call.get_or_none(Call.id == call.id, Call.recording != ""), 5,
                    message="recording kept on the CDR")
    assert (settings.recordings_dir / call.recording).read_bytes() == data


def test_given_did_to_user_when_phone_answers_then_caller_is_bridged_to_it(
        stasis_app, settings, tenant, workdir):
    user, ext = _user_with_phone(settings, tenant, "anna@example.test")
    did = Did.create(number=_number("1555131"), tenant=tenant, route="user", user=user)
    port = settings.sip_port + 61
    _register(settings, workdir, ext, port)
    phone = Sipp.uas("uas_answer.xml", workdir, port, calls=1, timeout=30).start()
    try:
        caller = _speaking_caller(settings, workdir, did.number, "Hello Anna.", 0.5, 4000,
                                  settings.sip_port + 62).start()
        assert caller.wait(30) == 0, caller.diagnostics()
        assert phone.wait(15) == 0, phone.diagnostics()  # answered, then our BYE
    finally:
        phone.stop()
    assert [m.method for m in phone.messages() if not m.sent][:1] == ["INVITE"]
    assert re.search(rf"^From:.*sip:{CALLER}@", phone.log.read_text(), re.M)  # the caller's id
    inbound = wait_for(lambda: Call.get_or_none(Call.did == did.number,
                                                Call.ended_at.is_null(False)), 10,
                       message="inbound CDR closed")
    leg = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id, Call.number == ext.number,
                                            Call.ended_at.is_null(False)), 10,
                   message="user leg CDR closed")
    assert inbound.disposition == "ANSWERED" and leg.disposition == "ANSWERED"
    assert leg.direction == "transfer" and inbound.recording == ""


def test_given_user_with_two_phones_when_one_is_busy_then_both_ring_and_the_other_answers(
        stasis_app, settings, tenant, workdir):
    user, desk = _user_with_phone(settings, tenant, "erin@example.test")
    soft = _second_phone(settings, tenant, user)
    did = Did.create(number=_number("1555131"), tenant=tenant, route="user", user=user)
    _register(settings, workdir, desk, settings.sip_port + 69)
    _register(settings, workdir, soft, settings.sip_port + 70)
    busy = Sipp.uas("uas_busy.xml", workdir, settings.sip_port + 69, calls=1, timeout=30).start()
    answer = Sipp.uas("uas_answer.xml", workdir, settings.sip_port + 70, calls=1,
                      timeout=30).start()
    try:
        caller = _speaking_caller(settings, workdir, did.number, "Hello Erin.", 0.5, 4000,
                                  settings.sip_port + 62).start()
        assert caller.wait(30) == 0, caller.diagnostics()
        assert answer.wait(15) == 0, answer.diagnostics()
        assert busy.wait(10) == 0, busy.diagnostics()
    finally:
        busy.stop()
        answer.stop()
    legs = {c.number: c for c in Call.select().where(Call.tenant == tenant.id,
                                                     Call.direction == "transfer")}
    assert set(legs) == {desk.number, soft.number}
    wait_for(lambda: Call.get_by_id(legs[soft.number].id).disposition == "ANSWERED", 10,
             message="the answering phone's CDR")
    assert Call.get_by_id(legs[desk.number].id).disposition == "BUSY"
    assert not Call.get(Call.did == did.number).recording  # no voicemail


def test_given_did_to_user_when_phone_busy_then_voicemail_is_e_mailed_to_the_user(
        stasis_app, settings, tenant, workdir, smtp_peer):
    user, ext = _user_with_phone(settings, tenant, "bert@example.test")
    did = Did.create(number=_number("1555131"), tenant=tenant, route="user", user=user)
    port = settings.sip_port + 63
    _register(settings, workdir, ext, port)
    phone = Sipp.uas("uas_busy.xml", workdir, port, calls=1, timeout=30).start()
    try:
        # 486 at once, then the prompt (~3 s) and the beep: the caller speaks from 4 s on
        caller = _speaking_caller(settings, workdir, did.number,
                                  "Hello Bert, please call me back about the invoice.", 4.5,
                                  10000, settings.sip_port + 64).start()
        assert caller.wait(40) == 0, caller.diagnostics()
        assert phone.wait(10) == 0, phone.diagnostics()
    finally:
        phone.stop()
    assert [m.method for m in phone.messages() if m.sent][:1] == ["486"]
    _check_voicemail(settings, smtp_peer, did.number, "bert@example.test")


def test_given_did_to_user_without_registered_phone_then_voicemail_at_once(
        stasis_app, settings, tenant, workdir, smtp_peer):
    user, _ext = _user_with_phone(settings, tenant, "carl@example.test")  # never registers
    did = Did.create(number=_number("1555131"), tenant=tenant, route="user", user=user)
    caller = _speaking_caller(settings, workdir, did.number, "Carl, this is a test message.",
                              4.0, 9000, settings.sip_port + 65).start()
    assert caller.wait(40) == 0, caller.diagnostics()
    _check_voicemail(settings, smtp_peer, did.number, "carl@example.test")
    assert not Call.select().where(Call.tenant == tenant.id, Call.direction == "transfer").exists()


def test_given_voicemail_when_the_caller_stops_speaking_then_it_ends_we_say_goodbye_and_mail_it(
        stasis_app, settings, tenant, workdir, smtp_peer):
    """Silence ends the recording (the caller stays on the line): goodbye, our hang-up, and
    the message is mailed all the same."""
    user, _ext = _user_with_phone(settings, tenant, "dora@example.test")  # not registered
    did = Did.create(number=_number("1555131"), tenant=tenant, route="user", user=user)
    caller = _speaking_caller(settings, workdir, did.number, "Dora, the parcel has arrived.",
                              4.0, 0, settings.sip_port + 68, quiet_s=12.0).start()
    assert caller.wait(40) == 0, caller.diagnostics()  # our BYE came
    msgs = caller.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    # prompt + beep (~3.5 s), the words (~2 s), 5 s of silence, goodbye (~1 s)
    assert 9.0 <= (bye.at - ok.at).total_seconds() <= 16.0
    _check_voicemail(settings, smtp_peer, did.number, "dora@example.test")


def _greeting_heard(settings, uac: Sipp, text: str) -> None:
    """We answered, played `text` (TTS) and hung up right after it."""
    seconds = sounds.duration_seconds(settings.sounds_dir / f"{sounds.tts_name(text)}.wav")
    msgs = uac.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)
    assert seconds - 0.3 <= (bye.at - ok.at).total_seconds() <= seconds + 2.0


def test_given_closed_route_then_outside_timeslots_the_closed_message_plays(
        stasis_app, settings, tenant, workdir):
    """The tenant is open one minute of the day, twelve hours from now in Berlin: the DID's
    closed destination (its message) is used."""
    later = dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo("Europe/Berlin")) \
        + dt.timedelta(hours=12)
    start, end = later.strftime("%H:%M"), (later + dt.timedelta(minutes=1)).strftime("%H:%M")
    if start >= end:  # 23:59: the minute after midnight instead
        start, end = "00:00", "00:01"
    Timeslot.create(tenant=tenant, weekdays="0123456", start_time=start, end_time=end)
    did = Did.create(number=_number("1555132"), tenant=tenant, greeting_text="We are open.",
                     closed_route="greeting", closed_text="Sorry, we are closed now.")
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", did.number,
                   port=settings.sip_port + 66).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    _greeting_heard(settings, uac, "Sorry, we are closed now.")


def test_given_closed_route_then_inside_timeslots_the_open_destination_is_used(
        stasis_app, settings, tenant, workdir):
    now = dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo("Europe/Berlin"))
    if now.strftime("%H:%M") == "23:59":  # the one minute no timeslot covers
        time.sleep(61)
        now = dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo("Europe/Berlin"))
    Timeslot.create(tenant=tenant, weekdays=str(now.weekday()), start_time="00:00",
                    end_time="23:59")
    did = Did.create(number=_number("1555132"), tenant=tenant, greeting_text="We are open.",
                     closed_route="greeting", closed_text="Sorry, we are closed now.")
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", did.number,
                   port=settings.sip_port + 66).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    _greeting_heard(settings, uac, "We are open.")


def test_given_did_naming_another_tenants_queue_or_ivr_then_the_greeting_plays(
        stasis_app, settings, tenant, master, workdir):
    """Saved behind the service's back (or the target moved): checked again at call time."""
    theirs_ivr = Ivr.create(tenant=master, name=f"M-{secrets.token_hex(2)}",
                            tree='{"start": "a", "nodes": {"a": {"type": "say", '
                                 '"text": "Master secret menu."}}}')
    theirs_queue = Queue.create(tenant=master, name=f"Q-{secrets.token_hex(2)}")
    for route, field in (("ivr", {"ivr": theirs_ivr}), ("queue", {"queue": theirs_queue})):
        did = Did.create(number=_number("1555133"), tenant=tenant, route=route,
                         greeting_text="Hello from the right tenant.", **field)
        uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}",
                       did.number, port=settings.sip_port + 67).start()
        assert uac.wait(30) == 0, uac.diagnostics()
        _greeting_heard(settings, uac, "Hello from the right tenant.")
