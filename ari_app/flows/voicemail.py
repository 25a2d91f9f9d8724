"""Voicemail on an answered channel: the prompt, a beep, a recording (ended by silence, '#',
the time limit or the caller hanging up), then the recording e-mailed as an attachment (a
caller still on the line hears goodbye).

Used by an inbound DID call whose user does not answer (ari_app.flows.inbound) and by a
queue's fallback. The runner has the IvrRunner's event methods, so a handler that forwards
events to its `runner` (ari_app.flows.ivr_runner.RunsIvr) drives it unchanged:

    handler.runner = VoicemailRunner(handler, tenant_id, "someone@example.com",
                                     caller="+4930...", called="+4940...", call_id=cdr_id)
    await handler.runner.start()

Most callers hang up after speaking, so delivery does not depend on the handler: it runs as
its own task once the file is complete (the end of the recording, or the caller's hang-up,
after which Asterisk closes the file).
"""
from __future__ import annotations

import asyncio
import logging
import wave

from models.entities import utcnow
from voxcast.audio import sounds
from voxcast.numbers import voicemail as store

from ari_app.calls import CallHandler
from ari_app.client import AriError
from ari_app.events import Event

log = logging.getLogger("voxcast.flows.voicemail")

PROMPT = "sound:vx-voicemail"  # "Please leave a message after the tone." (sounds/, per language)
GOODBYE = "sound:vx-goodbye"
MIN_SECONDS = 0.5  # shorter is a hang-up at the beep, not a message: nothing is sent


class VoicemailRunner:
    def __init__(self, handler: CallHandler, tenant_id: int, to_email: str, *,
                 caller: str = "", called: str = "", call_id: int | None = None,
                 max_seconds: int = 120, silence_seconds: int = 5, prompt: str = PROMPT):
        self.h = handler
        self.ctx = handler.ctx
        self.tenant_id = tenant_id
        self.to_email = to_email
        self.caller, self.called, self.call_id = caller, called, call_id
        self.max_seconds, self.silence_seconds = max_seconds, silence_seconds
        self.prompt = prompt
        self.name = f"{tenant_id}-vm-{call_id or handler.channel_id}"[:120]
        self.playback = f"{handler.channel_id}-vmp"
        self.goodbye = f"{handler.channel_id}-vmbye"
        self.recording = False
        self.ended = False
        self.delivery: asyncio.Task | None = None

    @property
    def channel_id(self) -> str:
        return self.h.channel_id

    async def start(self) -> None:
        try:
            await self.ctx.ari.play(self.channel_id, self.prompt, playback_id=self.playback)
        except AriError as exc:
            if exc.status == 404:
                raise
            log.warning("%s: voicemail prompt not played (%s); recording at once",
                        self.channel_id, exc)
            await self._record()

    async def _record(self) -> None:
        self.recording = True
        await self.ctx.ari.post(f"/channels/{self.channel_id}/record", name=self.name,
                                format="wav", maxDurationSeconds=self.max_seconds,
                                maxSilenceSeconds=self.silence_seconds, beep="true",
                                terminateOn="#", ifExists="overwrite")

    # -- events (the handler forwards them) ---------------------------------------------------
    async def playback_finished(self, event: Event) -> None:
        if self.ended:
            return
        if event.playback_id == self.playback and not self.recording:
            await self._record()
        elif event.playback_id == self.goodbye:
            await self.end()

    async def recording_finished(self, event: Event) -> None:
        if event.playback_id != self.name or self.ended:
            return
        self._deliver()
        try:  # the caller stayed on the line ('#', silence, the time limit)
            await self.ctx.ari.play(self.channel_id, GOODBYE, playback_id=self.goodbye)
        except AriError as exc:
            if exc.status == 404:
                raise
            await self.end()

    async def recording_failed(self, event: Event) -> None:
        if event.playback_id == self.name and not self.ended:
            log.warning("%s: voicemail recording %s failed", self.channel_id, self.name)
            self.recording = False
            await self.end()

    async def dtmf(self, event: Event) -> None:
        """'#' ends the recording (Asterisk's terminateOn); other keys are part of it."""

    async def timeout(self, event: Event) -> None:
        """No timers of its own."""

    async def transfer_answered(self, event: Event) -> None:
        """No transfers."""

    async def transfer_ended(self, event: Event) -> None:
        """No transfers."""

    async def end(self) -> None:
        if not self.ended:
            self.ended = True
            await self.ctx.ari.hangup(self.channel_id)

    async def cleanup(self) -> None:
        """The caller hung up: a message being recorded is still sent."""
        self.ended = True
        self._deliver()

    # -- delivery -----------------------------------------------------------------------------
    def _deliver(self) -> None:
        if self.delivery is None and self.recording:
            self.delivery = self.ctx.tasks.spawn(self._send(), name=f"voicemail-{self.name}")

    async def _send(self) -> None:
        path = self.ctx.settings.recordings_dir / f"{self.name}.wav"
        if not await _settled(path):
            log.warning("voicemail %s: no recording file", self.name)
            return
        try:
            seconds = sounds.duration_seconds(path)
        except (OSError, EOFError, wave.Error):  # a header Asterisk never finished
            seconds = 0.0
        if seconds < MIN_SECONDS:
            log.info("voicemail %s: %.1f s, nothing to send", self.name, seconds)
            return
        at_local = await self.ctx.writer.run(store.saved, self.tenant_id, self.call_id,
                                             path.name, utcnow())
        if not self.to_email:
            log.warning("voicemail %s kept on the call, not e-mailed: no address", self.name)
            return
        await asyncio.to_thread(store.send, self.to_email, path, self.caller, self.called,
                                at_local)


async def _settled(path, timeout: float = 5.0, interval: float = 0.1) -> bool:
    """Wait until the file exists and its size holds still (Asterisk has closed it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = -1
    while loop.time() < deadline:
        size = path.stat().st_size if path.exists() else -1
        if size >= 0 and size == last:
            return True
        last = size
        await asyncio.sleep(interval)
    return path.exists()
