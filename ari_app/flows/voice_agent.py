"""Voice Agent campaign call: the contact answered (a person, after AMD when it is on) and is
put through to a ready agent of the campaign through the ACD (ctx.agents.connect). When no
agent takes the call within GIVE_UP_S of the answer, the contact hears the short abandoned
message (prompt vx-abandoned, in the tenant's language), is hung up, counted as abandoned
(QueueCall outcome "abandoned", which the campaign's live abandon rate counts) and queued
again for the call back the message promises.

While the call looks for an agent it counts as a live line of the campaign in the dialer's
pacing (`waiting`); once bridged it does not: its agent is no longer ready either."""
from __future__ import annotations

import asyncio
import logging
import math
import time

from models.entities import utcnow
from voxcast.dialing import voice_agent as store

from ari_app.client import AriError
from ari_app.events import Event
from ari_app.outbound import OutboundCall

log = logging.getLogger("voxcast.voice_agent")

GIVE_UP_S = 2.0  # from the answer: longer is an abandoned call (the usual regulators' rule)
ABANDONED_PROMPT = "sound:vx-abandoned"
ABANDON_RETRIES = 1  # call backs of an abandoned contact at least (more: retry_noanswer)


class VoiceAgentCall(OutboundCall):
    def __init__(self, ctx, claim, plan, record: bool = False):
        super().__init__(ctx, claim, plan, record=record)
        self.waiting = True  # a live line looking for an agent (the dialer's pacing)
        self.created = time.monotonic()  # the predictive pacing's age of a call still ringing
        self.queue_call_id: int | None = None
        self.bridge = None
        self.abandoned = False
        self.on_settled = None  # the dialer's hook: the call got an agent or is over
        self._connect_task: asyncio.Task | None = None

    @property
    def playback_id(self) -> str:
        return f"{self.channel_id}-abandoned"

    def _settled(self) -> None:
        if self.waiting:
            self.waiting = False
            if self.on_settled is not None:
                self.on_settled()

    async def answered(self, event: Event) -> None:
        if self.machine:  # amd_action leave_message: the machine gets the message, if any
            self._settled()
            if self.plan.message_file:
                await self.ctx.ari.play(self.channel_id,
                                        self.ctx.settings.sound_uri(self.plan.message_file),
                                        playback_id=f"{self.channel_id}-msg")
            else:
                await self.ctx.ari.hangup(self.channel_id)
            return
        # The wait starts now, after AMD's verdict (the 2 s are the person's, not AMD's).
        self.queue_call_id = await self.ctx.writer.run(
            store.open_wait, self.tenant_id, self.claim.campaign_id, self.claim.call_id,
            self.claim.phone, utcnow())
        if self.done:  # hung up while the row was written
            self.ctx.writer.post(store.close_abandoned, self.queue_call_id, utcnow())
            return
        # Its own task: the handler goes on taking the channel's events (a hang-up while
        # waiting cancels it in cleanup()).
        self._connect_task = self.ctx.tasks.spawn(self._connect(), f"agent-{self.channel_id}")

    async def _connect(self) -> None:
        agents = getattr(self.ctx, "agents", None)
        bridge = None
        if agents is None:
            log.error("no ACD in this app: Voice Agent call %s abandoned", self.channel_id)
        else:
            try:
                bridge = await agents.connect(
                    self, self.tenant_id, campaign_id=self.claim.campaign_id,
                    user_ids=list(self.plan.agent_ids), ring_seconds=math.ceil(GIVE_UP_S),
                    wrapup_seconds=self.plan.wrapup_seconds, give_up_after=GIVE_UP_S,
                    caller=self.claim.phone, queue_call_id=self.queue_call_id)
            except Exception:  # never leave the contact in silence: they hear the message
                log.exception("connecting %s to an agent failed", self.channel_id)
        self._settled()
        if bridge is not None:
            self.bridge = bridge
            if self.done:  # the contact hung up as the agent answered
                await bridge.customer_gone()
            return
        if not self.done:
            await self._abandon()

    async def _abandon(self) -> None:
        self.abandoned = True
        self.ctx.writer.post(store.close_abandoned, self.queue_call_id, utcnow())
        log.info("campaign %s: no agent within %.0f s for %s: abandoned", self.claim.campaign_id,
                 GIVE_UP_S, self.claim.phone)
        try:
            await self.ctx.ari.play(self.channel_id, ABANDONED_PROMPT,
                                    playback_id=self.playback_id)
        except AriError as exc:
            if exc.status != 404:
                log.warning("abandoned message on %s failed: %s", self.channel_id, exc)
                await self.safe_hangup()

    async def playback_finished(self, event: Event) -> None:
        if event.playback_id in (self.playback_id, f"{self.channel_id}-msg"):
            await self.ctx.ari.hangup(self.channel_id)

    async def cleanup(self) -> None:
        task = self._connect_task
        if task is not None and not task.done():  # hung up while waiting for an agent
            task.cancel()
            self.abandoned = True
            self.ctx.writer.post(store.close_abandoned, self.queue_call_id, utcnow())
        elif self.bridge is not None and not self.bridge.ended:
            await self.bridge.customer_gone()
        self._settled()

    async def closed(self) -> None:
        """After the CDR close (queued first: the writer runs jobs in order), which marked
        the contact done as answered: an abandoned one is called back."""
        if self.abandoned and self.claim.entry_id:
            retry = self.plan.retry
            interval = retry.interval_s if retry else 300
            retries = max(ABANDON_RETRIES, retry.no_answer if retry else 0)
            self.ctx.writer.post(store.requeue_abandoned, self.claim.entry_id, interval,
                                 1 + retries)
