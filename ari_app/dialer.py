"""The campaign dialer: claims due contacts from the database and places their calls within
every channel limit and the calls-per-second cap. Its state lives in the database, so the
web UI controls it by changing a campaign's status and a restart carries on where it stopped."""
from __future__ import annotations

import asyncio
import logging
import os

from . import store
from .context import AppContext
from .flows.interactive import InteractiveCall
from .flows.voice_message import VoiceMessageCall
from .outbound import OutboundCall
from .pacing import TokenBucket, free_slots

log = logging.getLogger("voxcast.dialer")

# Campaign type -> the flow its calls follow once answered.
FLOWS: dict[str, type[OutboundCall]] = {
    "voice_message": VoiceMessageCall,
    "voice_interactive": InteractiveCall,
    "voice_ivr": InteractiveCall,
    "voice_survey": InteractiveCall,
    "appointment_reminder": InteractiveCall,
}
NEEDS_MESSAGE = {"voice_message", "voice_interactive"}  # survey, reminder and IVR speak their own prompts


class Dialer:
    def __init__(self, ctx: AppContext, max_channels: int | None = None, max_cps: float | None = None,
                 tick: float = 0.1):
        self.ctx = ctx
        self.max_channels = max_channels or int(os.environ.get("VOXCAST_MAX_CHANNELS", 500))
        cps = max_cps or float(os.environ.get("VOXCAST_MAX_CPS", 50))
        self.bucket = TokenBucket(rate=cps, burst=max(1.0, cps / 5))
        self.tick = tick
        self._reasons: dict[int, str] = {}

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                log.exception("dialer step failed; retrying")
                await asyncio.sleep(1)
            await asyncio.sleep(self.tick)

    async def _reason(self, plan: store.CampaignPlan, reason: str) -> None:
        """Tell the UI why a running campaign is not dialing, once per change."""
        if self._reasons.get(plan.id) != reason:
            self._reasons[plan.id] = reason
            if reason:
                log.warning("campaign %s (%s): %s", plan.id, plan.name, reason)
            await self.ctx.store.run(store.set_campaign_reason, plan.id, reason)

    async def step(self) -> None:
        plans = await self.ctx.store.run(store.running_campaigns)
        channels = self.ctx.channels
        for plan in plans:
            if not self.ctx.ari.connected.is_set():
                await self._reason(plan, "Waiting for Asterisk: ARI is not reachable")
                continue
            if plan.type not in FLOWS:
                await self.ctx.store.run(store.pause_campaign, plan.id,
                                         f"Paused: campaign type '{plan.type}' cannot be dialed")
                continue
            sound = self.ctx.settings.sounds_dir / f"{plan.message_file}.wav"
            if plan.type in NEEDS_MESSAGE and (not plan.message_file or not sound.exists()):
                msg = f"Paused: the message audio '{plan.message_file or '(none)'}' is missing"
                log.error("campaign %s: %s", plan.id, msg)
                await self.ctx.store.run(store.pause_campaign, plan.id, msg)
                continue
            slots = free_slots(plan.channel_limit, channels.by_campaign[plan.id],
                               plan.tenant_channel_limit, channels.by_tenant[plan.tenant_id],
                               self.max_channels, channels.total)
            claims = await self.ctx.store.run(store.claim_due, plan.id, self.bucket.take(slots))
            if claims:
                await self._reason(plan, "")
            for claim in claims:
                handler = FLOWS[plan.type](self.ctx, claim, plan)
                self.ctx.router.register(handler)
                channels.add(claim.tenant_id, claim.campaign_id)
                asyncio.create_task(handler.place())
            if not claims and channels.by_campaign[plan.id] == 0:
                if await self.ctx.store.run(store.complete_if_finished, plan.id):
                    log.info("campaign %s (%s) completed", plan.id, plan.name)
