"""What every campaign call shares, whatever its flow: origination, ringing, the CDR, the
channel slot. A flow subclasses OutboundCall and says what happens once the contact answers."""
from __future__ import annotations

import logging

from models.entities import utcnow

from . import store
from .calls import CallHandler
from .client import AriError
from .events import Event

log = logging.getLogger("voxcast.outbound")


class OutboundCall(CallHandler):
    def __init__(self, ctx, claim: store.Claim, plan: store.CampaignPlan):
        super().__init__(ctx, claim.channel_id)
        self.claim = claim
        self.plan = plan
        self.answered_at = None
        self.rang = False

    def endpoint(self) -> str:
        return f"PJSIP/{self.claim.phone}@pstn"

    async def place(self) -> None:
        """Originate; a refused originate still ends with a CDR and frees its channel slot."""
        try:
            await self.ctx.ari.originate(self.endpoint(), self.channel_id,
                                         app_args=f"outbound,{self.claim.call_id}",
                                         caller_id=self.plan.caller_id,
                                         timeout=self.plan.dial_timeout)
        except AriError as exc:
            log.warning("originate to %s failed: %s", self.claim.phone, exc)
            self.rang = True  # refused outright: the cause text says why
            await self.close(0, f"originate failed: {exc.message}"[:250])

    async def channel_state_change(self, event: Event) -> None:
        if event.channel_state in ("Ringing", "Ring", "Up"):
            self.rang = True

    async def stasis_start(self, event: Event) -> None:
        self.rang = True
        self.answered_at = utcnow()
        await self.answered(event)

    async def answered(self, event: Event) -> None:
        """The contact picked up and the channel is in our hands."""
        raise NotImplementedError

    async def channel_destroyed(self, event: Event) -> None:
        await self.close(event.cause, event.cause_txt)

    async def close(self, cause: int, cause_txt: str) -> None:
        if self.done:
            return
        self.finish()
        self.ctx.channels.remove(self.claim.tenant_id, self.claim.campaign_id)
        await self.ctx.store.run(store.finish_call, self.claim.call_id, self.answered_at,
                                 utcnow(), cause, cause_txt, self.rang)
