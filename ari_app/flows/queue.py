"""An inbound queue (ACD) on one answered channel: the caller waits with the queue's music
on hold (on the channel: a holding bridge shared by every waiting caller made each caller's
bridge events carry every other caller's channel id, O(N) per caller), hears their position and expected wait every so often, is put
through to an agent by the AgentPool (ctx.agents.connect), and after the maximum wait, or
at once when no member is logged in, goes to the queue's fallback: another queue, an IVR,
voicemail e-mailed to the tenant, or a message and hang-up.

QueueRunner has the IvrRunner's event methods, so any handler that forwards its events to
`handler.runner` (ari_app.flows.ivr_runner.RunsIvr, plus playback_finished) drives it:

    handler.runner = QueueRunner(handler, queue_id)   # handler: tenant_id, call_id, caller
    await handler.runner.start()

Its timers and the pool's answer come back as IvrTimeout events into the handler's own queue,
so everything happens in order with the channel's events. A fallback replaces
`handler.runner` with the next runner.

QueueEntryCall is the `queue` Stasis route: a tenant's phone dialling a queue number enters
`Stasis(app,queue,<tenant id>,<queue id>)` (the dialplan's AGI decided it may) and gets its
own CDR (direction "internal") and a QueueRunner."""
from __future__ import annotations

import asyncio
import logging
import math

from models.entities import utcnow
from voxcast.acd import store
from voxcast.audio import sounds
from voxcast.cdr import records as cdr

from ari_app import language
from ari_app.agent_bridge import AgentBridge
from ari_app.calls import CallHandler
from ari_app.client import AriError
from ari_app.events import Event
from ari_app.flows.ivr_runner import RunsIvr
from ari_app.leg import DialplanLeg

log = logging.getLogger("voxcast.flows.queue")

EMPTY_CHECK_S = 10.0  # while waiting: is any member still logged in?
MAX_HOPS = 3  # fallback queue -> queue -> ... at most this deep (a loop of fallbacks ends)
UNAVAILABLE = "sound:vx-agent-unavailable"
GOODBYE = "sound:vx-goodbye"


class QueueRunner:
    def __init__(self, handler: CallHandler, queue_id: int, *, tenant_id: int | None = None,
                 call_id: int | None = None, caller: str | None = None, hops: int = 0):
        self.h = handler
        self.ctx = handler.ctx
        self.queue_id = queue_id
        self.tenant_id = tenant_id if tenant_id is not None else handler.tenant_id
        self.call_id = call_id if call_id is not None else getattr(handler, "call_id", None)
        self.caller = caller if caller is not None else getattr(handler, "caller", "") or ""
        self.hops = hops
        self.plan: store.QueuePlan | None = None
        self.queue_call_id: int | None = None
        self.moh = False  # our music on hold is on the channel
        self.bridge: AgentBridge | None = None
        self.task: asyncio.Task | None = None
        self.result: AgentBridge | None = None
        self.waiting = False
        self.ended = False
        self.message_playback: str | None = None
        self.announcement: str | None = None  # the announcement playing now
        self.entered = 0.0
        self._seq = 0
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tokens: dict[str, str] = {}  # token -> what it is (announce, empty, done)

    @property
    def channel_id(self) -> str:
        return self.h.channel_id

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{self.channel_id}-q{prefix}{self._seq}"

    # -- entering ------------------------------------------------------------------------------
    async def start(self) -> None:
        self.entered = asyncio.get_running_loop().time()  # the max wait counts from here
        entry = await self.ctx.writer.run(store.enter_queue, self.tenant_id, self.queue_id,
                                          self.call_id, self.caller)
        if entry.plan is None:
            log.warning("%s: queue %s of tenant %s not found", self.channel_id, self.queue_id,
                        self.tenant_id)
            await self._message("")
            return
        self.plan, self.queue_call_id = entry.plan, entry.queue_call_id
        if entry.logged_in == 0:
            log.info("%s: nobody logged in to queue %s", self.channel_id, self.plan.name)
            await self._leave("no_agents")
            return
        self.waiting = True
        # The offer first (no REST round trip before an agent's phone rings), then the music.
        self.task = self.ctx.tasks.spawn(self._wait_for_agent(), f"queue-{self.channel_id}")
        await self._music(True)
        if self.plan.announce_every_seconds and (self.plan.announce_position
                                                 or self.plan.announce_wait):
            self._schedule("announce", self.plan.announce_every_seconds)
        self._schedule("empty", EMPTY_CHECK_S)

    async def _music(self, on: bool) -> None:
        """The queue's music on hold on the caller's channel, started or stopped."""
        if on == self.moh:
            return
        self.moh = on
        try:
            if on:
                await self.ctx.ari.post(f"/channels/{self.channel_id}/moh",
                                        mohClass=self.plan.music_class or "default")
            else:
                await self.ctx.ari.delete(f"/channels/{self.channel_id}/moh")
        except AriError as exc:
            log.info("%s: music on hold %s failed: %s", self.channel_id,
                     "start" if on else "stop", exc)

    async def _wait_for_agent(self) -> None:
        plan = self.plan
        give_up = None
        if plan.max_wait_seconds:  # what is left of it (a busy writer delays the way here)
            give_up = plan.max_wait_seconds - (asyncio.get_running_loop().time() - self.entered)
            if give_up <= 0:
                self._post("done")
                return
        self.result = await self.ctx.agents.connect(
            self.h, self.tenant_id, queue=plan, ring_seconds=plan.ring_seconds,
            wrapup_seconds=plan.wrapup_seconds, give_up_after=give_up,
            caller=self.caller, queue_call_id=self.queue_call_id,
            before_bridge=self._before_bridge)
        self._post("done")

    # -- timers (IvrTimeout events into the handler's queue) -------------------------------
    def _post(self, what: str) -> None:
        token = self._next_id("t")
        self._tokens[token] = what
        self.h.enqueue(Event(type="IvrTimeout", channel_id=self.channel_id, playback_id=token))

    def _schedule(self, what: str, seconds: float) -> None:
        old = self._timers.pop(what, None)
        if old is not None:
            old.cancel()
        self._timers[what] = asyncio.get_running_loop().call_later(seconds, self._post, what)

    def _cancel_timers(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def timeout(self, event: Event) -> None:
        what = self._tokens.pop(event.playback_id, None)
        if what is None or self.ended:
            return
        if what == "done":
            await self._connected()
        elif what == "announce" and self.waiting:
            await self._announce()  # the next one is timed from this one's end
        elif what == "empty" and self.waiting:
            left = await self.ctx.agents.logged_in(self.tenant_id, self.queue_id)
            if left == 0 and self.waiting:
                log.info("%s: the last member of queue %s logged out", self.channel_id,
                         self.plan.name)
                self.waiting = False
                if self.task is not None:
                    self.task.cancel()
                await self._leave("no_agents")
            else:
                self._schedule("empty", EMPTY_CHECK_S)

    async def _connected(self) -> None:
        self.waiting = False
        self._cancel_timers()
        if self.result is not None:
            self.bridge = self.result
            log.debug("%s: queue %s call taken by %s", self.channel_id, self.plan.name,
                     self.bridge.extension)
            return
        log.info("%s: no agent of queue %s within %ss", self.channel_id, self.plan.name,
                 self.plan.max_wait_seconds)
        await self._leave("timeout")

    async def _announce(self) -> None:
        media = []
        if self.plan.announce_position:
            position = self.ctx.agents.position(self.channel_id, self.queue_id)
            if position:
                media.append(language.position_media(position))
        if self.plan.announce_wait:
            wait = self.ctx.agents.expected_wait(self.queue_id)
            if wait is not None:
                media.append(language.wait_media(max(1, math.ceil(wait / 60))))
        media.append("sound:vx-queue-thanks")
        self.announcement = self._next_id("a")
        await self._music(False)  # a playback does not mix with the music: it replaces it
        try:
            await self.ctx.ari.play(self.channel_id, ",".join(media),
                                    playback_id=self.announcement)
        except AriError as exc:
            self.announcement = None
            log.info("%s: announcement not played: %s", self.channel_id, exc)
            await self._music(True)
            self._schedule("announce", self.plan.announce_every_seconds)

    async def _before_bridge(self) -> None:
        """An agent answered: no more announcements, and the one playing stops now (Asterisk
        runs a channel's commands in order: adding it to the agent's bridge would wait for the
        playback's end)."""
        self.waiting = False
        self._cancel_timers()
        playback, self.announcement = self.announcement, None
        if playback:
            try:
                await self.ctx.ari.delete(f"/playbacks/{playback}")
            except AriError:
                pass  # it ended on its own meanwhile
        await self._music(False)

    # -- leaving without an agent -----------------------------------------------------------
    async def _leave(self, outcome: str) -> None:
        """The caller leaves the queue unanswered: the QueueCall is closed with `outcome`,
        then the queue's fallback."""
        self.waiting = False
        self._cancel_timers()
        self.ctx.writer.post(store.close_queue_call, self.queue_call_id, outcome, utcnow())
        await self._music(False)
        plan = self.plan
        kind = plan.fallback
        if kind == "queue" and plan.fallback_queue_id and self.hops < MAX_HOPS:
            await self._hand_over(QueueRunner(self.h, plan.fallback_queue_id,
                                              tenant_id=self.tenant_id, call_id=self.call_id,
                                              caller=self.caller, hops=self.hops + 1))
            return
        if kind == "ivr" and plan.fallback_ivr_id:
            runner = await self._ivr_runner(plan.fallback_ivr_id)
            if runner is not None:
                await self._hand_over(runner)
                return
        if kind == "voicemail":
            from ari_app.flows.voicemail import VoicemailRunner
            await self._hand_over(VoicemailRunner(
                self.h, self.tenant_id, plan.tenant_email, caller=self.caller,
                called=getattr(self.h, "did", "") or plan.number or plan.name,
                call_id=self.call_id))
            return
        await self._message(plan.fallback_text)

    async def _ivr_runner(self, ivr_id: int):
        from voxcast.ivr import flow_store
        from ari_app.flows.ivr_runner import IvrRunner
        try:
            tree = await self.ctx.writer.run(flow_store.ivr_tree, self.tenant_id, ivr_id)
        except LookupError as exc:
            log.warning("%s: fallback IVR %s not usable: %s", self.channel_id, ivr_id, exc)
            return None
        if tree is None:
            return None
        spec = flow_store.FlowSpec(tree, self.tenant_id, {"phone": self.caller},
                                   call_id=self.call_id, ivr_id=ivr_id, phone=self.caller)
        return IvrRunner(self.h, spec)

    async def _hand_over(self, runner) -> None:
        self.ended = True
        if getattr(self.h, "runner", None) is self or not hasattr(self.h, "runner"):
            self.h.runner = runner
        await runner.start()

    async def _message(self, text: str) -> None:
        """The fallback message (the queue's own text, else "no agent is available"), then
        goodbye and hang up."""
        if text:
            name = await sounds.tts_async(text, self.ctx.settings.sounds_dir,
                                          sounds.voice_for(self.h.language))
            media = f"{self.ctx.settings.sound_uri(name)},{GOODBYE}"
        else:
            media = f"{UNAVAILABLE},{GOODBYE}"
        self.message_playback = self._next_id("m")
        try:
            await self.ctx.ari.play(self.channel_id, media, playback_id=self.message_playback)
        except AriError as exc:
            log.warning("%s: fallback message not played: %s", self.channel_id, exc)
            await self.end()

    # -- the handler's events --------------------------------------------------------------
    async def playback_finished(self, event: Event) -> None:
        if event.playback_id == self.announcement:
            self.announcement = None
            if self.waiting:
                await self._music(True)
                self._schedule("announce", self.plan.announce_every_seconds)
        if self.message_playback and event.playback_id == self.message_playback:
            self.message_playback = None
            await self.end()

    async def dtmf(self, event: Event) -> None:
        pass  # no keys while waiting (yet)

    async def recording_finished(self, event: Event) -> None:
        pass

    async def recording_failed(self, event: Event) -> None:
        pass

    async def transfer_answered(self, event: Event) -> None:
        pass

    async def transfer_ended(self, event: Event) -> None:
        pass

    async def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._cancel_timers()
            await self.ctx.ari.hangup(self.channel_id)

    async def cleanup(self) -> None:
        """The caller's channel is gone: an agent call ends (agent to wrap-up), a wait is
        abandoned."""
        self.ended = True
        self._cancel_timers()
        if self.bridge is None and self.result is not None:
            self.bridge = self.result
        if self.bridge is not None:
            await self.bridge.customer_gone()
            return
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.waiting:
            self.waiting = False
            self.ctx.writer.post(store.close_queue_call, self.queue_call_id, "abandoned",
                                 utcnow())


class QueueEntryCall(RunsIvr, DialplanLeg):
    """A tenant's phone calling one of its queues: `Stasis(app,queue,<tenant>,<queue>)`."""

    def __init__(self, ctx, event: Event):
        super().__init__(ctx, event.channel_id)
        self.caller = event.caller_number
        self.args = event.args

    async def stasis_start(self, event: Event) -> None:
        try:
            tenant_id, queue_id = int(self.args[1]), int(self.args[2])
        except (IndexError, ValueError):
            log.warning("queue call %s with bad arguments %s", self.channel_id, self.args)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id)
            return
        self.tenant_id = tenant_id
        entry = await self.ctx.writer.run(store.open_internal_call, tenant_id, queue_id,
                                          self.caller, self.channel_id,
                                          self.ctx.channels.by_tenant[tenant_id])
        if entry is None:
            log.info("queue call %s refused: tenant %s inactive, at its channel limit or no "
                     "queue %s", self.channel_id, tenant_id, queue_id)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        self.call_id = entry
        self.take_slot()
        await self.ctx.ari.answer(self.channel_id)
        self.answered_at = utcnow()
        self.ctx.writer.post(cdr.mark_answered, self.call_id, self.answered_at)
        self.language = await language.set_language(
            self.ctx, self.channel_id, await self.ctx.languages.get(self.ctx, tenant_id))
        self.runner = QueueRunner(self, queue_id)
        await self.runner.start()

    async def playback_finished(self, event: Event) -> None:
        if self.runner:
            await self.runner.playback_finished(event)
