"""Runs an IVR tree (voxcast.ivr.tree) on one answered channel: prompts, menus, digits, records,
transfers into a mixing bridge, contact fields and outcomes. Outbound campaign calls
(press 1, IVR, survey, reminder) and inbound DID calls share it.

The runner belongs to one call handler and is driven by that handler's events, so everything
happens in the call's own queue, in order: timeouts are events too (IvrTimeout), and a transfer
leg (TransferLeg, its own handler and CDR) reports back with TransferAnswered/TransferEnded.
"""
from __future__ import annotations

import asyncio
import enum
import logging

from voxcast.audio import sounds
from voxcast.billing.call_time import NoCredit, NoRate
from voxcast.ivr.tree import fill

from models.entities import utcnow

from voxcast.ivr import flow_store
from ari_app import language
from ari_app.calls import CallHandler
from ari_app.client import AriError
from ari_app.events import Event
from ari_app.leg import CallLeg

log = logging.getLogger("voxcast.flows.ivr")

RECORD_SILENCE_S = 5


class Wait(enum.Enum):
    """What the runner waits for on its channel."""
    NOTHING = "nothing"
    PLAY = "play"  # a prompt to end, then the next node
    MENU = "menu"  # a key of the menu (after its prompt, with a timeout)
    DIGITS = "digits"  # digits up to max_digits or '#'
    RECORD_PROMPT = "record_prompt"  # the prompt before a recording
    RECORD = "record"  # the recording to end
    HANGUP = "hangup"  # the goodbye prompt, then hang up
    TRANSFER = "transfer"  # a transfer leg to answer (or the next candidate)
    BRIDGED = "bridged"  # talking to the transfer leg until either side hangs up


class TransferLeg(CallLeg):
    """The called side of a transfer: its own CDR (tenant-tagged) and channel slot; a leg out
    to the PSTN is rated and paid like a call. Its caller hears of its end once the CDR is
    closed."""

    await_close = True

    def __init__(self, ctx, parent: CallHandler, channel_id: str, call_id: int, tenant_id: int,
                 leg_credit=None):
        super().__init__(ctx, channel_id, tenant_id, call_id, credit=leg_credit)
        self.parent = parent

    async def stasis_start(self, event: Event) -> None:
        self.rang = True
        self.answered_at = utcnow()
        if self.credit:
            self.credit.answered(self.safe_hangup)
        self.parent.enqueue(Event(type="TransferAnswered", channel_id=self.parent.channel_id,
                                  target_channel_id=self.channel_id))

    async def closed(self) -> None:
        self.parent.enqueue(Event(type="TransferEnded", channel_id=self.parent.channel_id,
                                  target_channel_id=self.channel_id))


class IvrRunner:
    def __init__(self, handler: CallHandler, spec: flow_store.FlowSpec):
        self.h = handler
        self.ctx = handler.ctx
        self.spec = spec
        self.nodes: dict = spec.tree["nodes"]
        self.vars: dict[str, str] = dict(spec.values)
        self.node_id: str | None = None
        self.waiting = Wait.NOTHING
        self.playback: str | None = None  # the playback whose end we wait for
        self.tries = 0
        self.digits = ""
        self.recording: str | None = None
        self.leg: TransferLeg | None = None
        self.bridge_id: str | None = None
        self.candidates: list[str] = []
        self._seq = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_token = ""
        self.ended = False

    @property
    def channel_id(self) -> str:
        return self.h.channel_id

    @property
    def node(self) -> dict:
        return self.nodes[self.node_id]

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{self.channel_id}-{prefix}{self._seq}"

    # -- walking the tree ---------------------------------------------------------------------
    async def start(self) -> None:
        await self.goto(self.spec.tree["start"])

    async def goto(self, node_id: str | None) -> None:
        """Run nodes that need no waiting until one does; no node left hangs up."""
        self._cancel_timer()
        while node_id and not self.ended:
            self.node_id, node = node_id, self.nodes[node_id]
            kind = node["type"]
            if kind in ("play", "say"):
                self.waiting = Wait.PLAY
                await self._prompt(node)
                return
            if kind == "menu":
                self.tries = 0
                self.waiting = Wait.MENU
                await self._prompt(node)
                return
            if kind == "get_digits":
                self.digits = ""
                self.waiting = Wait.DIGITS
                await self._prompt(node)
                return
            if kind == "record":
                if "sound" in node or "text" in node:
                    self.waiting = Wait.RECORD_PROMPT
                    await self._prompt(node)
                else:
                    await self._record()
                return
            if kind == "transfer":
                await self._transfer(node)
                return
            if kind == "hangup":
                if node.get("text"):
                    self.waiting = Wait.HANGUP
                    await self._prompt(node)
                    return
                break
            if kind == "branch":
                node_id = node["cases"].get(self.vars.get(node["var"], ""), node["default"])
                continue
            if kind == "set_field":
                value = fill(node["value"], self.vars)
                self.vars[node["field"]] = value
                await self.ctx.writer.run(flow_store.set_contact_field, self.spec, node["field"], value)
            elif kind == "set_result":
                await self.ctx.writer.run(flow_store.set_result, self.spec.entry_id, node["result"])
            elif kind == "opt_out":
                await self.ctx.writer.run(flow_store.opt_out, self.spec)
            node_id = node.get("next")
        await self.end()

    async def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._cancel_timer()
            await self.ctx.ari.hangup(self.channel_id)

    async def _prompt(self, node: dict) -> None:
        if "sound" in node:
            name = node["sound"]
        else:
            name = await sounds.tts_async(fill(node["text"], self.vars), self.ctx.settings.sounds_dir,
                                          sounds.voice_for(self.h.language))
        self.playback = self._next_id("pb")
        await self.ctx.ari.play(self.channel_id, self.ctx.settings.sound_uri(name),
                                playback_id=self.playback)

    async def _stop_prompt(self) -> None:
        playback, self.playback = self.playback, None
        if playback:
            try:
                await self.ctx.ari.delete(f"/playbacks/{playback}")
            except AriError:
                pass  # it ended on its own meanwhile

    def _start_timer(self, seconds: float) -> None:
        self._cancel_timer()
        self._timer_token = self._next_id("t")
        self._timer = asyncio.get_running_loop().call_later(
            seconds, self.h.enqueue,
            Event(type="IvrTimeout", channel_id=self.channel_id, playback_id=self._timer_token))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_token = ""

    # -- events (the handler forwards them) ---------------------------------------------------
    async def playback_finished(self, event: Event) -> None:
        if event.playback_id != self.playback or self.ended:
            return
        self.playback = None
        if self.waiting is Wait.PLAY:
            await self.goto(self.node.get("next"))
        elif self.waiting in (Wait.MENU, Wait.DIGITS):
            self._start_timer(self.node.get("timeout", 5))
        elif self.waiting is Wait.RECORD_PROMPT:
            await self._record()
        elif self.waiting is Wait.HANGUP:
            await self.end()

    async def dtmf(self, event: Event) -> None:
        if self.ended or event.channel_id != self.channel_id:
            return
        digit = event.digit
        node = self.node if self.node_id else {}
        if self.waiting is Wait.MENU:
            await self._stop_prompt()
            self._cancel_timer()
            if digit in node["options"]:
                if node.get("store_as"):
                    await self.ctx.writer.run(flow_store.save_answer, self.spec, node["store_as"], digit)
                await self.goto(node["options"][digit])
            else:
                log.info("%s: key %s is not an option of %s", self.channel_id, digit, self.node_id)
                await self._retry("invalid")
        elif self.waiting is Wait.DIGITS:
            await self._stop_prompt()
            if digit == "#":
                await self._digits_done()
                return
            self.digits += digit
            if len(self.digits) >= node.get("max_digits", 1):
                await self._digits_done()
            else:
                self._start_timer(node.get("timeout", 5))

    async def timeout(self, event: Event) -> None:
        if event.playback_id != self._timer_token or self.ended:
            return
        self._timer = None
        if self.waiting is Wait.MENU:
            await self._retry("no_input")
        elif self.waiting is Wait.DIGITS:
            await self._digits_done()

    async def _retry(self, why: str) -> None:
        """Replay the menu's prompt, or leave by `no_input`/`invalid` (else hang up)."""
        node = self.node
        self.tries += 1
        if self.tries > node.get("retries", 2):
            await self.goto(node.get(why))
            return
        await self._prompt(node)

    async def _digits_done(self) -> None:
        self._cancel_timer()
        self.vars[self.node["var"]] = self.digits
        await self.goto(self.node.get("next"))

    # -- record -------------------------------------------------------------------------------
    async def _record(self) -> None:
        node = self.node
        self.waiting = Wait.RECORD
        self.recording = f"ivr-{self.spec.tenant_id}-{self.channel_id}-{self.node_id}"[:120]
        await self.ctx.ari.post(f"/channels/{self.channel_id}/record", name=self.recording,
                                format="wav", maxDurationSeconds=node.get("max_seconds", 60),
                                maxSilenceSeconds=RECORD_SILENCE_S,
                                beep="true" if node.get("beep", True) else "false",
                                terminateOn="#", ifExists="overwrite")

    async def recording_finished(self, event: Event) -> None:
        if self.waiting is not Wait.RECORD or event.playback_id != self.recording:
            return
        await self.ctx.writer.run(flow_store.save_recording, self.spec, self.node_id, self.recording)
        await self.goto(self.node.get("next"))

    async def recording_failed(self, event: Event) -> None:
        if self.waiting is Wait.RECORD and event.playback_id == self.recording:
            log.warning("%s: recording %s failed", self.channel_id, self.recording)
            await self.goto(self.node.get("next"))

    # -- transfer -----------------------------------------------------------------------------
    async def _transfer(self, node: dict) -> None:
        target = node["target"]
        if target["kind"] == "queue":
            await self._to_queue(target["value"])
            return
        self.waiting = Wait.TRANSFER
        if target["kind"] == "number":
            self.candidates = [f"PJSIP/{target['value']}@pstn"]
        else:
            wanted = target["value"] if isinstance(target["value"], list) else [target["value"]]
            owned = await self.ctx.writer.run(flow_store.agent_extensions, self.spec.tenant_id, wanted)
            self.candidates = [f"PJSIP/{n}" for n in owned]
        try:
            await self.ctx.ari.post(f"/channels/{self.channel_id}/ring")  # ringback meanwhile
        except AriError:
            pass
        await self._next_candidate()

    async def _to_queue(self, queue_id: int) -> None:
        """The queue takes the caller over: from now on the handler's events go to its
        QueueRunner (ari_app.flows.queue), whose own fallback applies; this tree is done."""
        if not await self.ctx.writer.run(flow_store.own_queue, self.spec.tenant_id, queue_id):
            log.warning("%s: queue %s is not tenant %s's; 'failed' instead", self.channel_id,
                        queue_id, self.spec.tenant_id)
            await self.goto(self.node.get("failed"))
            return
        await self.ctx.writer.run(flow_store.set_result, self.spec.entry_id, "transferred")
        self.ended = True
        self._cancel_timer()
        await start_queue(self.h, queue_id)

    async def _next_candidate(self) -> None:
        if not self.candidates:
            self.waiting = Wait.NOTHING
            await self._stop_ring()
            await self.goto(self.node.get("failed"))
            return
        endpoint = self.candidates.pop(0)
        number = endpoint.split("/", 1)[1].split("@", 1)[0]
        leg_credit = None
        if endpoint.endswith("@pstn"):  # out to the PSTN: rated and paid like a campaign call
            try:
                leg_credit = await self.ctx.credit.guard_leg(self.spec.tenant_id, number)
            except (NoRate, NoCredit) as exc:
                log.info("%s: transfer to %s not placed: %s", self.channel_id, number, exc)
                await self._next_candidate()
                return
        leg_id = self._next_id("x")
        try:
            call_id = await self.ctx.writer.run(flow_store.open_leg, self.spec, number, leg_id)
            if leg_credit:
                await leg_credit.attach(call_id)
        except Exception:
            if leg_credit:  # not dialed: give the reserved credit back now, not at restart
                await leg_credit.settle(None, 0)
            raise
        leg = TransferLeg(self.ctx, self.h, leg_id, call_id, self.spec.tenant_id, leg_credit)
        self.ctx.router.register(leg)
        leg.take_slot()
        self.leg = leg
        try:
            await self.ctx.ari.originate(endpoint, leg_id, app_args="transfer",
                                         caller_id=self.spec.phone,
                                         timeout=self.node.get("ring", 20),
                                         variables=language.variables(self.h.language))
        except AriError as exc:
            log.warning("%s: transfer to %s refused: %s", self.channel_id, endpoint, exc)
            leg.rang = True
            await leg.close(0, f"originate failed: {exc.message}"[:250])

    async def _stop_ring(self) -> None:
        try:
            await self.ctx.ari.delete(f"/channels/{self.channel_id}/ring")
        except AriError:
            pass

    async def transfer_answered(self, event: Event) -> None:
        if self.leg is None or event.target_channel_id != self.leg.channel_id or self.ended:
            return
        await self._stop_ring()
        self.bridge_id = self._next_id("br")
        await self.ctx.ari.post("/bridges", type="mixing", bridgeId=self.bridge_id)
        await self.ctx.ari.post(f"/bridges/{self.bridge_id}/addChannel",
                                channel=f"{self.channel_id},{self.leg.channel_id}")
        self.waiting = Wait.BRIDGED
        await self.ctx.writer.run(flow_store.set_result, self.spec.entry_id, "transferred")

    async def transfer_ended(self, event: Event) -> None:
        if self.leg is None or event.target_channel_id != self.leg.channel_id:
            return
        self.leg = None
        if self.waiting is Wait.BRIDGED:  # the agent hung up: so do we
            await self.end()
        elif self.waiting is Wait.TRANSFER and not self.ended:
            await self._next_candidate()

    async def cleanup(self) -> None:
        """The caller's channel is gone: hang up the other side and drop the bridge."""
        self.ended = True
        self._cancel_timer()
        if self.leg is not None and not self.leg.done:
            try:
                await self.ctx.ari.hangup(self.leg.channel_id)
            except AriError as exc:
                log.warning("hangup of transfer leg failed: %s", exc)
        if self.bridge_id:
            try:
                await self.ctx.ari.delete(f"/bridges/{self.bridge_id}")
            except AriError:
                pass


async def start_queue(handler: CallHandler, queue_id: int) -> None:
    """Hand an answered caller to the ACD's QueueRunner: the handler forwards its events to
    `runner` from now on. Shared by DID calls and IVR transfer nodes."""
    from ari_app.flows.queue import QueueRunner  # imported here: the ACD uses these flows
    handler.runner = QueueRunner(handler, queue_id)
    await handler.runner.start()


class RunsIvr:
    """Forwards a handler's events to its runner (set once the call is answered); at the
    leg's close the runner hangs up the other side of a transfer."""
    runner: IvrRunner | None = None

    async def cleanup(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def channel_dtmf_received(self, event: Event) -> None:
        if self.runner:
            await self.runner.dtmf(event)

    async def ivr_timeout(self, event: Event) -> None:
        if self.runner:
            await self.runner.timeout(event)

    async def recording_finished(self, event: Event) -> None:
        if self.runner:
            await self.runner.recording_finished(event)

    async def recording_failed(self, event: Event) -> None:
        if self.runner:
            await self.runner.recording_failed(event)

    async def transfer_answered(self, event: Event) -> None:
        if self.runner:
            await self.runner.transfer_answered(event)

    async def transfer_ended(self, event: Event) -> None:
        if self.runner:
            await self.runner.transfer_ended(event)
