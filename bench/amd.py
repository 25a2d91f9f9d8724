"""Answering-machine detection: ours (the campaign path: a campaign with AMD on, through the
Stasis app and [voxcast-amd]) against Asterisk's default AMD() on the same answers, in one run.

A labelled set of called parties is built with espeak-ng and sox: people answering ("Hello?",
"Miller speaking.", a second "Hello?" after a pause, some picking up a moment late) and
answering machines (long greetings, short ones ending in a beep, some with a beep and no
pause), in several voices and speeds, some with background noise. Each answer is a pcap that
one sipp UAS plays to two calls placed at the same moment: a one-contact campaign of ours
(verdict: the CDR's disposition, MACHINE or not) and a call into [bench-amd-default], which
runs AMD() with Asterisk's defaults (app_amd.c / amd.conf.sample) and reports AMDSTATUS to a
small ARI app of the bench. NOTSURE counts as a person (the call goes ahead), as in our flow.

Prints a line per answer, both accuracies, the people each took for machines, and last
`ratio: X.XX` (our accuracy over the default's). Goal: ours >= 95 %, ratio >= 1.05 and no more
people taken for machines than the default.

Runs on its own instance ("bench-amd", ports shifted by VOXCAST_PORT_OFFSET, default 2700;
VOXCAST_INSTANCE / VOXCAST_PORT_OFFSET override). Usage:
python bench/amd.py [--seed 12] [--beep-hz 1000] [--only h03,m07] [--keep]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchlib import ROOT, fresh_instance, start_app, use_instance

use_instance("bench-amd", {"VOXCAST_PORT_OFFSET": "2700"})

from models import Call, Campaign, Contact, ContactGroup  # noqa: E402
from voxcast import config  # noqa: E402
from voxcast.campaigns import services as campaign_service  # noqa: E402
from ari_app.client import AriClient  # noqa: E402
from tests.integration.speech_pcap import speaking_scenario, write_pcap  # noqa: E402

RATE = 8000
# Asterisk's own defaults (app_amd.c, amd.conf.sample): initialSilence, greeting,
# afterGreetingSilence, totalAnalysisTime, minimumWordLength, betweenWordsSilence,
# maximumNumberOfWords, silenceThreshold, maximumWordLength.
ASTERISK_DEFAULTS = "2500,1500,800,5000,100,50,2,256,5000"
VOICES = ["en-us", "en", "en-us+f3", "en+m3", "en-gb-scotland", "en-gb-x-rp+f2", "en-029",
          "en+f4", "en-us+m5", "en+klatt"]

HUMAN_LINES = [
    "Hello?", "Hello.", "Yes?", "Hi.", "Hello, who is this?", "Yeah, hello?",
    "Hi, this is Anna.", "Good morning.", "Miller speaking.", "Hello, John here.",
    "Yes, speaking.", "Hello there.", "Hey.", "This is Mark.", "Good afternoon, Sarah speaking.",
    "Hello, yes?", "Speaking.", "Hi, who's calling?", "Hello, Smith residence.", "Yep?",
    "Hello, this is David.", "Good evening.", "Hello? Who's there?", "Hi there.",
]
MACHINE_LONG = [
    "Hi, you have reached the voice mail of John Smith. I cannot take your call right now. "
    "Please leave your message after the tone.",
    "Hello, you've reached Anna and Mark. We're not home right now, please leave a message and "
    "we'll call you back.",
    "The person you are calling is not available. Please leave a message after the tone.",
    "Thank you for calling Acme Plumbing. Our office hours are nine to five, Monday to Friday. "
    "Please leave your name and number.",
    "You have reached the mailbox of five five five, zero one nine nine. Please record your "
    "message.",
    "Hi, this is Sarah. Sorry I missed your call. Leave me a message and I will get back to "
    "you as soon as I can.",
    "Welcome to the voice mail service. The subscriber you have dialed is currently "
    "unavailable.",
    "Hey, it's Mike. I'm probably out on the boat. Leave a message.",
    "Hello. You have reached the office of Doctor Brown. If this is an emergency, please hang "
    "up and dial nine one one.",
    "Hi! You've got Jenny. Can't talk now, text me or leave a message after the beep.",
    "Good day. This is the Miller family. We can't come to the phone right now.",
    "You have reached extension two hundred and four. Please leave a message.",
    "Thanks for calling. Nobody is available to take your call. Please try again later.",
]
MACHINE_SHORT = [
    "Leave a message.", "Please leave a message.", "Hi, it's Tom. Leave a message.",
    "Leave your message after the tone.", "Hello, leave a message.", "Anna. Leave a message.",
    "Go ahead.", "Not here. Leave a message.", "Message, please.",
]


@dataclass
class Sample:
    name: str
    label: str  # "human" | "machine"
    what: str
    audio: bytes  # 8 kHz mu-law


def _speech(text: str, voice: str, speed: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav, raw = Path(tmp) / "s.wav", Path(tmp) / "s.raw"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text],
                       check=True, capture_output=True)
        subprocess.run(["sox", str(wav), "-r", str(RATE), "-c", "1", "-b", "16", "-e",
                        "signed-integer", "-t", "raw", str(raw)], check=True, capture_output=True)
        return np.frombuffer(raw.read_bytes(), dtype="<i2").astype(float)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds))


def _beep(seconds: float, freq: int) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return 0.4 * 32767 * np.sin(2 * np.pi * freq * t)


def _noise(n: int, level: float, rng: random.Random) -> np.ndarray:
    """Background noise (street, office): white noise through a gentle low-pass."""
    gen = np.random.default_rng(rng.randrange(1 << 30))
    white = gen.normal(0, 1, n)
    smooth = np.convolve(white, np.ones(4) / 4, mode="same")
    return level * 32767 * smooth / (np.std(smooth) or 1)


def _ulaw(samples: np.ndarray) -> bytes:
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "a.raw", Path(tmp) / "a.ul"
        src.write_bytes(pcm)
        subprocess.run(["sox", "-t", "raw", "-r", str(RATE), "-e", "signed-integer", "-b", "16",
                        "-c", "1", str(src), "-t", "ul", str(dst)], check=True)
        return dst.read_bytes()


def build_samples(seed: int = 12, beep_hz: int = 1000) -> list[Sample]:
    """The labelled set: 24 people and 22 machines, the same for every run of a seed."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for i, line in enumerate(HUMAN_LINES):
        voice, speed = VOICES[i % len(VOICES)], rng.randrange(140, 200, 10)
        parts, what = [], [f"'{line}'", voice, f"{speed} wpm"]
        if i % 6 == 3:  # picks up, then a moment before speaking
            pre = rng.choice((0.8, 1.2, 1.6))
            parts.append(_silence(pre))
            what.append(f"{pre}s before speaking")
        parts.append(_speech(line, voice, speed))
        if i % 5 == 2:  # nobody answered them: "Hello?" again
            parts += [_silence(2.6), _speech("Hello?", voice, speed)]
            what.append("'Hello?' again after 2.6s")
        parts.append(_silence(20))
        audio = np.concatenate(parts)
        if i % 4 == 1:
            level = rng.choice((0.004, 0.008, 0.012))
            audio = audio + _noise(len(audio), level, rng)
            what.append(f"noise {level}")
        out.append(Sample(f"h{i + 1:02d}", "human", ", ".join(what), _ulaw(audio)))
    machines = [(t, "long") for t in MACHINE_LONG] + [(t, "short") for t in MACHINE_SHORT]
    for i, (line, kind) in enumerate(machines):
        voice, speed = VOICES[(i + 3) % len(VOICES)], rng.randrange(150, 210, 10)
        what = [f"{kind} greeting", voice, f"{speed} wpm"]
        parts = [_silence(rng.choice((0.1, 0.3, 0.5))), _speech(line, voice, speed)]
        beep = kind == "short" or i % 3 != 2
        if beep:
            gap = rng.choice((0.0, 0.2, 0.4, 0.6)) if kind == "short" else rng.choice((0.3, 0.6))
            length = rng.choice((0.4, 0.6, 1.0))
            parts += [_silence(gap), _beep(length, beep_hz)]
            what.append(f"beep {length}s after {gap}s")
        parts.append(_silence(20))
        audio = np.concatenate(parts)
        if i % 4 == 0:
            level = rng.choice((0.004, 0.008, 0.012))
            audio = audio + _noise(len(audio), level, rng)
            what.append(f"noise {level}")
        out.append(Sample(f"m{i + 1:02d}", "machine", ", ".join(what), _ulaw(audio)))
    return out


# -- running one answer through both paths --------------------------------------------------

class DefaultAmd:
    """The comparison path: an ARI app of the bench originates into [bench-amd-default]
    (AMD() with Asterisk's defaults), which hands the verdict back as Stasis arguments."""

    def __init__(self, settings):
        self.app = f"{settings.ari_app_name}-amdbench"
        self.client = AriClient(settings.ari_url, settings.ari_user, settings.ari_password(),
                                self.app)
        self.verdicts: dict[str, asyncio.Future] = {}
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.client.run_events(self._event))
        await asyncio.wait_for(self.client.connected.wait(), 10)

    async def _event(self, event) -> None:
        if event.type == "StasisStart" and event.channel_id in self.verdicts:
            fut = self.verdicts[event.channel_id]
            if not fut.done():
                fut.set_result(" ".join(event.args))
            # not awaited here: the event socket reads on only once this returns
            asyncio.ensure_future(self.client.hangup(event.channel_id))
        elif event.type == "ChannelDestroyed" and event.channel_id in self.verdicts:
            fut = self.verdicts[event.channel_id]
            if not fut.done():
                fut.set_result(f"HANGUP {event.cause_txt}")

    async def call(self, phone: str) -> str:
        channel = f"amdbench-{uuid.uuid4().hex[:10]}"
        self.verdicts[channel] = asyncio.get_running_loop().create_future()
        await self.client.request("POST", "/channels", {
            "endpoint": f"PJSIP/{phone}@pstn", "context": "bench-amd-default",
            "extension": "s", "priority": 1, "channelId": channel, "timeout": 20,
        }, {"variables": {"BENCH_AMD_ARGS": ASTERISK_DEFAULTS,
                          "BENCH_AMD_APP": self.app}}, parse=False)
        try:
            return await asyncio.wait_for(self.verdicts[channel], 40)
        finally:
            self.verdicts.pop(channel, None)

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        await self.client.close()


def _campaign(master, phone: str, n: int) -> Campaign:
    group = ContactGroup.create(tenant=master, name=f"amd-bench-{n}-{uuid.uuid4().hex[:6]}")
    Contact.create(tenant=master, group=group, phone=phone)
    campaign = Campaign.create(tenant=master, name=f"amd-bench-{n}-{group.id}", group=group,
                               amd_enabled=True, amd_action="hangup", retry_machine=0,
                               retry_noanswer=0, retry_busy=0, retry_failed=0)
    campaign_service.save_message(campaign, settings, text="Hello, this is voxcast.")
    return Campaign.get_by_id(campaign.id)


def _ours(campaign: Campaign, timeout: float = 45) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Campaign.get_by_id(campaign.id).status == "completed":
            call = Call.get(Call.campaign == campaign)
            return f"{call.disposition} {call.cause_txt}"
        time.sleep(0.2)
    return "TIMEOUT"


def run_one(sample: Sample, n: int, master, default: DefaultAmd, loop, workdir: Path):
    pcap = workdir / f"{sample.name}.pcap"
    write_pcap(sample.audio, pcap)
    scenario = speaking_scenario(pcap, workdir / f"{sample.name}.xml")
    sipp = subprocess.Popen(
        ["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(settings.trunk_port),
         "-m", "2", "-timeout", "60s", "-nostdin"], cwd=workdir, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        phone = f"+1777{n:07d}"
        campaign = _campaign(master, phone, n)
        campaign_service.start(campaign, settings)
        theirs = asyncio.run_coroutine_threadsafe(default.call(f"1888{n:07d}"), loop)
        ours = _ours(campaign)
        theirs = theirs.result(60)
        sipp.wait(30)
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait()
    return ours, theirs


def is_machine(verdict: str) -> bool:
    return verdict.split(" ", 1)[0] == "MACHINE"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="", help="comma-separated sample names (h03,m07)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--beep-hz", type=int, default=1000,
                        help="the machines' beep (ours listens for 1000 Hz; try 1400)")
    parser.add_argument("--keep", action="store_true", help="leave Asterisk running")
    args = parser.parse_args()
    samples = build_samples(args.seed, args.beep_hz)
    if args.only:
        wanted = set(args.only.split(","))
        samples = [s for s in samples if s.name in wanted]
    humans = sum(s.label == "human" for s in samples)
    print(f"{len(samples)} answers: {humans} people, {len(samples) - humans} machines, "
          f"seed {args.seed}, beeps at {args.beep_hz} Hz (instance {settings.instance})",
          flush=True)
    from voxcast.runtime import asterisk
    master = fresh_instance(settings)
    workdir = Path(tempfile.mkdtemp(prefix="amd-bench-"))
    app = start_app(settings, workdir / "stasis-app.log")
    loop = asyncio.new_event_loop()
    import threading
    threading.Thread(target=loop.run_forever, daemon=True).start()
    default = DefaultAmd(settings)
    asyncio.run_coroutine_threadsafe(default.start(), loop).result(15)
    rows = []
    started = time.monotonic()
    try:
        for n, sample in enumerate(samples, 1):
            ours, theirs = run_one(sample, n, master, default, loop, workdir)
            rows.append((sample, ours, theirs))
            mark = lambda v: "ok " if is_machine(v) == (sample.label == "machine") else "BAD"  # noqa: E731
            print(f"{sample.name} {sample.label:7s} ours {mark(ours)} {ours[:48]:48s} "
                  f"default {mark(theirs)} {theirs[:40]:40s} | {sample.what}", flush=True)
    finally:
        asyncio.run_coroutine_threadsafe(default.close(), loop).result(10)
        app.terminate()
        app.wait(15)
        if not args.keep:
            asterisk.stop(settings)

    def score(col: int) -> tuple[float, int, int]:
        right = sum(is_machine(r[col]) == (r[0].label == "machine") for r in rows)
        humans_as_machines = sum(r[0].label == "human" and is_machine(r[col]) for r in rows)
        machines_as_humans = sum(r[0].label == "machine" and not is_machine(r[col]) for r in rows)
        return right / len(rows), humans_as_machines, machines_as_humans

    ours, theirs = score(1), score(2)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"run took {time.monotonic() - started:.0f} s; load average {' '.join(load)} "
          f"on {os.cpu_count()} CPUs")
    print(f"ours:    accuracy {100 * ours[0]:.1f} % ({ours[1]} people taken for machines, "
          f"{ours[2]} machines for people)")
    print(f"default: accuracy {100 * theirs[0]:.1f} % ({theirs[1]} people taken for machines, "
          f"{theirs[2]} machines for people)")
    print(f"ratio: {ours[0] / theirs[0] if theirs[0] else float('inf'):.2f}")


settings = config.load()

if __name__ == "__main__":
    sys.exit(main())
