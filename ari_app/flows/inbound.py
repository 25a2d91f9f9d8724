"""Inbound DID call: find the tenant that owns the DID, answer, then run the DID's IVR (the
same runner as IVR campaigns) or play its greeting and hang up.

An unassigned DID is refused before answer (SIP 404), a tenant at its channel limit gets
busy, so neither is billed or leaves a half-open CDR.
"""
from __future__ import annotations

import logging

from models.entities import utcnow
from voxcast import sounds

from .. import credit, flow_store, store
from ..calls import CallHandler
from ..events import Event
from .ivr_runner import IvrRunner, RunsIvr

log = logging.getLogger("voxcast.flows.inbound")


class InboundCall(RunsIvr, CallHandler):
    def __init__(self, ctx, event: Event):
        super().__init__(ctx, event.channel_id)
        self.did = event.args[1] if len(event.args) > 1 else event.exten
        self.caller = event.caller_number
        self.route: store.DidRoute | None = None
        self.call_id: int | None = None
        self.credit: credit.CallCredit | None = None  # set when the plan charges inbound
        self.answered_at = None
        self.hangup_cause, self.hangup_cause_txt = 16, "Normal Clearing"
        self.playback_id = f"{event.channel_id}-greeting"

    async def stasis_start(self, event: Event) -> None:
        route = await self.ctx.store.find_did(self.did)
        if route is None or route.tenant_status != "active":
            log.info("inbound call to unassigned DID %s refused", self.did)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="unallocated")
            return
        self.route = route
        if self.ctx.channels.by_tenant[route.tenant_id] >= route.tenant_channel_limit:
            log.info("tenant %s at its channel limit; inbound call to %s refused busy",
                     route.tenant_id, self.did)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        try:
            self.credit = await credit.guard_inbound(self.ctx, route.tenant_id,
                                                     f"inbound to {self.did} from {self.caller}")
        except credit.NoCredit:
            log.info("tenant %s has no credit for inbound minutes; call to %s refused busy",
                     route.tenant_id, self.did)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        self.ctx.channels.add(route.tenant_id)
        self.call_id = await self.ctx.store.run(store.open_inbound, route.tenant_id, route.number,
                                                self.caller, self.channel_id)
        if self.credit:  # settled when the CDR is closed
            await self.credit.attach(self.call_id)
        await self.ctx.ari.answer(self.channel_id)
        self.answered_at = utcnow()
        if self.credit:
            self.credit.answered(self.safe_hangup)
        if route.ivr_id is not None:
            ivr = await self.ctx.store.run(flow_store.inbound_ivr, route.number)
            if ivr is not None:
                spec = flow_store.FlowSpec(ivr["tree"], route.tenant_id, {"phone": self.caller},
                                           call_id=self.call_id, ivr_id=ivr["id"],
                                           phone=self.caller)
                self.runner = IvrRunner(self, spec)
                await self.runner.start()
                return
        name = route.greeting_file or await sounds.tts_async(route.greeting_text,
                                                             self.ctx.settings.sounds_dir)
        await self.ctx.ari.play(self.channel_id, self.ctx.settings.sound_uri(name),
                                playback_id=self.playback_id)

    async def playback_finished(self, event: Event) -> None:
        if self.runner:
            await self.runner.playback_finished(event)
        elif event.playback_id == self.playback_id:
            await self.ctx.ari.hangup(self.channel_id)

    async def channel_hangup_request(self, event: Event) -> None:
        if event.cause:
            self.hangup_cause, self.hangup_cause_txt = event.cause, event.cause_txt

    async def stasis_end(self, event: Event) -> None:
        """A dialplan channel's events stop at StasisEnd, so the CDR is closed here."""
        await self._close(self.hangup_cause, self.hangup_cause_txt)

    async def channel_destroyed(self, event: Event) -> None:
        await self._close(event.cause, event.cause_txt)

    async def _close(self, cause: int, cause_txt: str) -> None:
        if self.done:
            return
        if self.runner:
            await self.runner.cleanup()
        self.finish()
        if self.credit:
            self.credit.stop()
            cause_txt = credit.CUT_CAUSE if self.credit.cut else cause_txt
        if self.call_id is not None:
            self.ctx.channels.remove(self.route.tenant_id)
            self.ctx.store.post(store.finish_call, self.call_id, self.answered_at, utcnow(),
                                cause, cause_txt)  # queued: nothing waits for the result
