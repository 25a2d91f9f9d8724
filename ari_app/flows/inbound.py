"""Inbound DID call: find the tenant that owns the DID, answer, then run the DID's IVR (the
same runner as IVR campaigns) or play its greeting and hang up.

An unassigned DID is refused before answer (SIP 404), a tenant at its channel limit gets
busy, so neither is billed or leaves a half-open CDR.
"""
from __future__ import annotations

import logging

from models.entities import utcnow
from voxcast.audio import sounds

from voxcast.billing.call_time import NoCredit

from voxcast.cdr import records as cdr
from voxcast.ivr import flow_store
from voxcast.numbers.did_routes import DidRoute
from ari_app.events import Event
from ari_app.leg import CallLeg
from ari_app.flows.ivr_runner import IvrRunner, RunsIvr

log = logging.getLogger("voxcast.flows.inbound")


class InboundCall(RunsIvr, CallLeg):
    def __init__(self, ctx, event: Event):
        super().__init__(ctx, event.channel_id)  # tenant, CDR and credit once the DID is known
        self.rang = True  # the caller rang us
        self.did = event.args[1] if len(event.args) > 1 else event.exten
        self.caller = event.caller_number
        self.route: DidRoute | None = None
        self.hangup_cause, self.hangup_cause_txt = 16, "Normal Clearing"
        self.playback_id = f"{event.channel_id}-greeting"

    async def stasis_start(self, event: Event) -> None:
        if self.ctx.overload.behind(event):  # refused busy at once: past its limit the app degrades
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        route = await self.ctx.dids.find(self.did)
        if route is None or route.tenant_status != "active":
            log.info("inbound call to unassigned DID %s refused", self.did)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="unallocated")
            return
        self.route = route
        self.tenant_id = route.tenant_id
        if self.ctx.channels.by_tenant[route.tenant_id] >= route.tenant_channel_limit:
            log.info("tenant %s at its channel limit; inbound call to %s refused busy",
                     route.tenant_id, self.did)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        try:
            self.credit = await self.ctx.credit.guard_inbound(
                route.tenant_id, f"inbound to {self.did} from {self.caller}")
        except NoCredit:
            log.info("tenant %s has no credit for inbound minutes; call to %s refused busy",
                     route.tenant_id, self.did)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        self.take_slot()
        self.call_id = await self.ctx.writer.run(cdr.open_inbound, route.tenant_id, route.number,
                                                self.caller, self.channel_id)
        if self.credit:  # settled when the CDR is closed
            await self.credit.attach(self.call_id)
        await self.ctx.ari.answer(self.channel_id)
        self.answered_at = utcnow()
        if self.credit:
            self.credit.answered(self.safe_hangup)
        if route.ivr_id is not None:
            ivr = await self.ctx.writer.run(flow_store.inbound_ivr, route.number)
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
        await self.close(self.hangup_cause, self.hangup_cause_txt)

    async def channel_destroyed(self, event: Event) -> None:
        await self.close(event.cause, event.cause_txt)
