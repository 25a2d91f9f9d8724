"""The call to an agent's phone when a caller is offered to them: its own handler and
tenant-tagged CDR (direction "agent", Call.agent set, opened in the offer's writer job),
counted in the tenant's channel limit. Not PSTN: never rated.

Originated straight into the app (`agent` args): its StasisStart is the agent's answer; a
ChannelDestroyed before it is no answer, busy or unreachable. The AgentPool decides what
either means for the waiting caller."""
from __future__ import annotations

import logging

from models.entities import utcnow

from ari_app.client import AriError
from ari_app.events import Event
from ari_app.leg import CallLeg

log = logging.getLogger("voxcast.agent_leg")

RINGING, ANSWERED, LOST = "ringing", "answered", "lost"


class AgentLeg(CallLeg):
    def __init__(self, pool, waiter, offer):
        super().__init__(pool.ctx, offer.channel_id, waiter.tenant_id, offer.agent_call_id)
        self.pool = pool
        self.waiter = waiter
        self.offer = offer
        self.outcome = RINGING  # -> ANSWERED (bridged) or LOST (withdrawn / another won)
        self.bridge = None
        self.cause = 0
        self.placing = False  # the originate request is on its way

    @property
    def session_id(self) -> int:
        return self.offer.session_id

    async def place(self) -> None:
        self.placing = True
        try:
            await self.ctx.ari.originate(f"PJSIP/{self.offer.extension}", self.channel_id,
                                         app_args="agent", caller_id=self.waiter.caller,
                                         timeout=self.waiter.ring_seconds)
        except AriError as exc:
            log.warning("offer to %s not placed: %s", self.offer.extension, exc)
            await self.close(0, f"originate failed: {exc.message}"[:250])
            return
        finally:
            self.placing = False
        if self.outcome == LOST and not self.done:  # withdrawn while the originate ran
            await self.safe_hangup()

    async def withdraw(self) -> None:
        """The offer is off (the caller left, another agent answered): hang up the phone
        (or, while the originate is on its way, as soon as it has made the channel: a hang-up
        before would find no channel and the phone would ring on)."""
        if self.outcome == RINGING:
            self.outcome = LOST
        if not self.done and not self.placing:
            await self.safe_hangup()

    async def stasis_start(self, event: Event) -> None:
        self.rang = True
        self.answered_at = utcnow()
        await self.pool.leg_answered(self)

    async def channel_destroyed(self, event: Event) -> None:
        self.cause = event.cause
        await super().channel_destroyed(event)

    def describe(self, cause_txt: str) -> str:
        if self.outcome == LOST and self.answered_at is None:
            return "offer withdrawn"
        return cause_txt

    async def closed(self) -> None:
        await self.pool.leg_closed(self)
