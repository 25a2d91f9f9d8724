"""A German tenant's calls run in German, through the real Asterisk: campaign calls are
originated with CHANNEL(language)=de and speak the tenant's text with a German voice; our
prompts and numbers played on a German channel are the German files (what the caller hears
is recorded through a snoop channel and matched against the rendered prompts)."""
from __future__ import annotations

import asyncio
import uuid
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ari_app import language
from ari_app.client import AriClient, AriError
from models import Call, Tenant
from voxcast.audio import prompts, sounds
from voxcast.campaigns import services as campaign_service
from voxcast.runtime import asterisk

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp
from .speech_pcap import silence, speaking_scenario, write_pcap

# A recording of the right file matches it at 0.95-1.0 on a quiet machine; a snoop on a busy one
# drops frames (0.72-0.78 seen under a load of 10), while a wrong file stays below 0.5.
MATCHES = 0.65

GERMAN_TEXT = "Guten Tag. Dies ist eine Nachricht von voxcast. Auf Wiederhören."


@pytest.fixture
def german_master(master):
    """The master tenant speaks German for one test (the dialer reads it with each plan)."""
    Tenant.update(language="de").where(Tenant.id == master.id).execute()
    yield Tenant.get_by_id(master.id)
    Tenant.update(language=master.language or "en").where(Tenant.id == master.id).execute()


def _channel_language(settings, channel_id: str) -> str:
    async def get():
        client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password(), "probe")
        try:
            return (await client.get(f"/channels/{channel_id}/variable",
                                     variable="CHANNEL(language)")).get("value", "")
        except AriError:
            return ""
        finally:
            await client.close()
    return asyncio.run(get())


def test_given_german_tenant_then_campaign_call_is_in_german_with_a_german_voice(
        stasis_app, settings, german_master, workdir):
    phones = unique_phones(1)
    campaign = make_campaign(german_master, settings, phones, text=GERMAN_TEXT)
    assert campaign.message_file == sounds.tts_name(GERMAN_TEXT, "de")  # spoken by the German voice
    pcap = workdir / "quiet.pcap"
    write_pcap(silence(15), pcap)
    uas = Sipp(str(speaking_scenario(pcap, workdir / "quiet.xml")), workdir,
               ["-p", str(settings.trunk_port), "-m", "1", "-timeout", "40s"], name="de").start()
    try:
        campaign_service.start(campaign, settings)
        call = wait_for(lambda: Call.select().where(Call.campaign == campaign,
                                                    Call.answered_at.is_null(False)).first(),
                        30, interval=0.05, message="answered")
        assert _channel_language(settings, call.channel_id) == "de"
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()


# -- what a German channel hears -----------------------------------------------------------

def _samples(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == 8000 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)


def _whole_match(heard: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalised cross-correlation of `reference` somewhere in `heard` (1.0: the very
    samples; another voice saying other words stays far below)."""
    a, b = heard - heard.mean(), reference - reference.mean()
    n = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    best = 0.0
    for lag in np.argsort(np.abs(corr))[-5:]:  # normalise by the heard window at that lag
        lag = int(lag) if lag < len(a) else int(lag) - n
        window = a[max(lag, 0):max(lag, 0) + len(b)]
        denom = np.linalg.norm(window) * np.linalg.norm(b[:len(window)])
        if denom:
            best = max(best, abs(corr[lag]) / denom)
    return float(best)


SEGMENT = 2400  # 300 ms at 8 kHz


def _match(heard: np.ndarray, reference: np.ndarray) -> float:
    """How well `reference` is found in `heard`: as a whole, or as the median match of its
    300 ms pieces each found on its own, so one frame the snoop dropped or repeated on a busy
    machine (which shifts everything after it) costs one piece, not the whole comparison;
    another voice saying other words stays far below either way."""
    pieces = [reference[i:i + SEGMENT] for i in range(0, len(reference) - SEGMENT // 2, SEGMENT)]
    pieces = [p for p in pieces if np.abs(p).max() > 500] or [reference]  # skip silence
    return max(_whole_match(heard, reference),
               float(np.median([_whole_match(heard, p) for p in pieces])))


def _sound(settings, lang: str, name: str) -> Path:
    """A prompt file as Asterisk finds it for `lang` (ours or Asterisk's own digits)."""
    datadir = asterisk._package_dirs(settings)["astdatadir"]
    return prompts.language_dir(settings.asterisk_root, datadir, lang) / f"{name}.wav"


def _play_and_record(settings, media: str, lang: str | None, originate_lang: str | None):
    """Call a sipp party, set the language (by originate variables or set_language), play
    `media` and record what goes out to the party; returns (CHANNEL(language), wav path)."""
    app = f"lang-probe-{uuid.uuid4().hex[:6]}"
    chan, snoop, rec = f"{app}-c", f"{app}-s", f"{app}-rec"

    async def go():
        client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password(), app)
        events: asyncio.Queue = asyncio.Queue()
        runner = asyncio.create_task(client.run_events(events.put))

        async def until(kind: str, **match):
            while True:
                ev = await asyncio.wait_for(events.get(), 20)
                if ev.type == kind and all(getattr(ev, k) == v for k, v in match.items()):
                    return ev
        try:
            await asyncio.wait_for(client.connected.wait(), 10)
            await client.originate(f"PJSIP/{unique_phones(1)[0][1:]}@pstn", chan, "probe",
                                   variables=language.variables(originate_lang))
            await until("StasisStart", channel_id=chan)
            if lang is not None:
                await language.set_language(SimpleNamespace(ari=client), chan, lang)
            got = (await client.get(f"/channels/{chan}/variable",
                                    variable="CHANNEL(language)"))["value"]
            await client.post(f"/channels/{chan}/snoop", spy="out", app=app, snoopId=snoop)
            await until("StasisStart", channel_id=snoop)
            await client.post(f"/channels/{snoop}/record", name=rec, format="wav",
                              ifExists="overwrite", maxDurationSeconds=30)
            await client.play(chan, media, playback_id=f"{app}-pb")
            await until("PlaybackFinished", playback_id=f"{app}-pb")
            await asyncio.sleep(0.3)
            await client.post(f"/recordings/live/{rec}/stop")
            await until("RecordingFinished", playback_id=rec)
            await client.hangup(chan)
            return got
        finally:
            runner.cancel()
            await client.close()

    uas = Sipp("uas_answer.xml", settings.state_dir, ["-p", str(settings.trunk_port), "-m", "1",
                                                       "-timeout", "40s"], name="lang-probe")
    uas.start()
    try:
        got = asyncio.run(go())
        uas.wait(15)
    finally:
        uas.stop()
    return got, settings.recordings_dir / f"{rec}.wav"


def test_given_german_channel_then_prompt_and_number_are_the_german_files(runtime, settings):
    got, wav = _play_and_record(settings, "sound:vx-hold,number:21", lang="de",
                                originate_lang=None)
    assert got == "de"
    heard = _samples(wav)
    # German 21 is "einund" "zwanzig" (say.c's digits/1-and + digits/20, ours)
    german = [_match(heard, _samples(_sound(settings, "de", n)))
              for n in ("vx-hold", "digits/1-and", "digits/20")]
    english = [_match(heard, _samples(_sound(settings, "en", n)))
               for n in ("vx-hold", "digits/20", "digits/1")]
    # a busy machine's snoop drops frames (0.78 seen under load): each German file must match
    # well and far better than any English one, which stays below 0.5
    assert min(german) > MATCHES and max(english) < 0.5, (german, english)
    assert min(german) - max(english) > 0.3, (german, english)


def test_given_originated_in_german_then_the_prompt_is_german_and_english_stays_english(
        runtime, settings):
    got, wav = _play_and_record(settings, "sound:vx-goodbye", lang=None, originate_lang="de")
    assert got == "de"
    heard = _samples(wav)
    assert _match(heard, _samples(_sound(settings, "de", "vx-goodbye"))) > MATCHES
    got, wav = _play_and_record(settings, "sound:vx-goodbye", lang="en", originate_lang=None)
    assert got == "en"
    heard = _samples(wav)
    # A busy machine's snoop drops frames (0.72 seen under a load of 10): the English file
    # must match well and far better than the German one, which stays below 0.5.
    english = _match(heard, _samples(_sound(settings, "en", "vx-goodbye")))
    german = _match(heard, _samples(_sound(settings, "de", "vx-goodbye")))
    assert english > MATCHES and german < 0.5 and english - german > 0.3, (english, german)


def _record_inbound(settings, did: str, workdir: Path) -> Path:
    """Call `did` from a sipp caller and record what the caller is sent (a snoop on the
    inbound channel, started as soon as its CDR names the channel) until the hang-up."""
    app = f"lang-in-{uuid.uuid4().hex[:6]}"
    snoop, rec = f"{app}-s", f"{app}-rec"

    async def go():
        client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password(), app)
        events: asyncio.Queue = asyncio.Queue()
        runner = asyncio.create_task(client.run_events(events.put))

        async def until(kind: str, **match):
            while True:
                ev = await asyncio.wait_for(events.get(), 30)
                if ev.type == kind and all(getattr(ev, k) == v for k, v in match.items()):
                    return ev
        try:
            await asyncio.wait_for(client.connected.wait(), 10)
            uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", did,
                           port=settings.sip_port + 41).start()
            call = None
            for _ in range(500):
                call = Call.get_or_none(Call.did == did)  # opened just before the answer
                if call is not None:
                    break
                await asyncio.sleep(0.02)
            assert call is not None, "no inbound CDR"
            await client.post(f"/channels/{call.channel_id}/snoop", spy="out", app=app,
                              snoopId=snoop)
            await until("StasisStart", channel_id=snoop)
            await client.post(f"/channels/{snoop}/record", name=rec, format="wav",
                              ifExists="overwrite", maxDurationSeconds=30)
            await until("RecordingFinished", playback_id=rec)  # ends with the call
            await asyncio.to_thread(uac.wait, 30)
            return call
        finally:
            runner.cancel()
            await client.close()

    call = asyncio.run(go())
    assert reload_call(call).ended_at is not None
    return settings.recordings_dir / f"{rec}.wav"


def reload_call(call):
    return Call.get_by_id(call.id)


def test_given_german_tenant_then_its_inbound_caller_hears_the_greeting_in_a_german_voice(
        stasis_app, settings, master, workdir):
    from models import Did
    # A tenant of its own, German from the start: the app keeps each tenant's language for
    # 30 s (ari_app.language), so the master tenant, English in the tests just before,
    # would still greet in English.
    tenant_de = Tenant.create(name="Sprachtest GmbH", slug="sprachtest-de", language="de",
                           country="DE", timezone="Europe/Berlin", rate_plan=master.rate_plan,
                           balance=10, channel_limit=5)
    text = ("Willkommen bei voxcast. Wir freuen uns über Ihren Anruf. Dies ist die Ansage "
            "unseres Unternehmens. Auf Wiederhören.")
    Did.create(number="15557771601", tenant=tenant_de, greeting_text=text)
    wav = _record_inbound(settings, "15557771601", workdir)
    heard = _samples(wav)
    german = _samples(settings.sounds_dir / f"{sounds.tts_name(text, 'de')}.wav")
    english = _samples(settings.sounds_dir / f"{sounds.tts(text, settings.sounds_dir, 'en')}.wav")
    # a second of the greeting's second half (the snoop starts a moment after the answer)
    def chunk(x):
        return x[int(len(x) * 0.6):int(len(x) * 0.6) + 8000]
    assert _match(heard, chunk(german)) > MATCHES
    assert _match(heard, chunk(english)) < 0.5
