"""A tenant's phone calling a PSTN number: the dialplan asked the FastAGI server, which said
"pstn", and hands the phone's channel here with `Stasis(app,phone_out,<endpoint>,<dialled>)`.

The call is checked again (voxcast.phones.routing, on the writer thread: the phone's tenant,
blocked prefixes, a rate on its plan), counted in the tenant's channel limit, reserved like a
campaign call (ctx.credit.guard_leg) and dialled out on the trunk with the tenant's caller ID.
The outside leg is a TransferLeg: its own tenant-tagged CDR (direction "phone"), channel slot
and credit meter, which cuts it when the credit runs out. The phone hears ringing, is answered
when the far end answers and bridged to it; either side's end ends the other (the phone gets
the far end's busy / no answer as its own hang-up cause).

A refusal found only here (the AGI said yes a moment before: credit spent, the channel limit
reached meanwhile) is told like the dialplan's: early media (progress, never answered), the
prompt in the channel's language, then the hang-up cause."""
from __future__ import annotations

import asyncio
import logging
from types import MappingProxyType

from voxcast.billing.call_time import NoCredit, NoRate
from voxcast.phones import routing

from ari_app.calls import CallHandler
from ari_app.client import AriError
from ari_app.events import Event
from ari_app.flows.ivr_runner import TransferLeg

log = logging.getLogger("voxcast.flows.phone_out")

RING_TIMEOUT_S = 60
# The outside leg's hang-up cause -> the reason the phone's channel is hung up with.
REASONS = MappingProxyType({17: "busy", 18: "no_answer", 19: "no_answer", 21: "rejected",
                            1: "unallocated", 34: "congestion", 38: "congestion",
                            41: "congestion", 42: "congestion"})
SUBSCRIBER_ABSENT = 20  # the called phone is not registered: SIP 480 to the caller
REFUSAL_MAX_S = 15.0  # the refusal prompt's longest play; past it the channel is hung up anyway


class PstnLeg(TransferLeg):
    """The outside leg; remembers its hang-up cause for the phone's own."""
    hangup_cause = 0

    async def close(self, cause: int, cause_txt: str) -> None:
        if not self.done:
            self.hangup_cause = cause or 0
        await super().close(cause, cause_txt)


class PhoneOutCall(CallHandler):
    def __init__(self, ctx, event: Event):
        super().__init__(ctx, event.channel_id)
        self.endpoint = event.args[1] if len(event.args) > 1 else ""
        self.dialled = event.args[2] if len(event.args) > 2 else ""
        self.leg: PstnLeg | None = None
        self.bridge_id: str | None = None
        self.ended = False
        self.refusal = "rejected"  # the hang-up reason once a refusal's prompt has played

    async def stasis_start(self, event: Event) -> None:
        route, limit = await self.ctx.writer.run(routing.prepare_pstn, self.endpoint, self.dialled)
        if route.kind != "pstn":
            log.warning("phone %s to %s refused in Stasis: %s %s", self.endpoint, self.dialled,
                        route.kind, route.reason)
            await self._refuse("rejected", route.prompt)
            return
        tenant_id, number = route.tenant_id, route.target
        if self.ctx.channels.by_tenant[tenant_id] >= limit:
            log.info("tenant %s at its channel limit (%s): phone %s to %s refused",
                     tenant_id, limit, self.endpoint, number)
            await self._refuse("congestion")
            return
        try:
            credit = await self.ctx.credit.guard_leg(tenant_id, number,
                                                     f"phone {self.endpoint} to {number}")
        except (NoRate, NoCredit) as exc:
            log.info("phone %s to %s refused: %s", self.endpoint, number, exc)
            await self._refuse("rejected", "vx-no-credit" if isinstance(exc, NoCredit)
                               else "vx-not-allowed")
            return
        leg_id = f"{self.channel_id}-pstn"
        try:
            call_id = await self.ctx.writer.run(routing.open_call, tenant_id, self.endpoint,
                                                number, route.caller_id, leg_id)
            if credit:
                await credit.attach(call_id)
        except Exception:
            if credit:  # not dialled: the reservation goes back now
                await credit.settle(None, 0)
            raise
        leg = PstnLeg(self.ctx, self, leg_id, call_id, tenant_id, credit)
        self.ctx.router.register(leg)
        leg.take_slot()
        self.leg = leg
        try:
            await self.ctx.ari.post(f"/channels/{self.channel_id}/ring")
        except AriError:
            pass  # the phone is gone already: its StasisEnd ends the leg
        try:
            await self.ctx.ari.originate(f"PJSIP/{number}@pstn", leg_id, app_args="phone_leg",
                                         caller_id=route.caller_id, timeout=RING_TIMEOUT_S)
        except AriError as exc:
            log.warning("phone %s to %s: originate refused: %s", self.endpoint, number, exc)
            leg.rang = True
            await leg.close(0, f"originate failed: {exc.message}"[:250])
        log.info("phone %s calls %s as %s (call %s)", self.endpoint, number,
                 route.caller_id or "the trunk's caller ID", call_id)

    async def _refuse(self, reason: str, prompt: str = "vx-not-allowed") -> None:
        """Early media with the prompt, then the hang-up (on PlaybackFinished, or after
        REFUSAL_MAX_S should that never come); no prompt if the channel will not take one."""
        self.ended = True
        self.refusal = reason
        try:
            await self.ctx.ari.post(f"/channels/{self.channel_id}/progress")
            await self.ctx.ari.play(self.channel_id, f"sound:{prompt}",
                                    playback_id=f"{self.channel_id}-refusal")
        except AriError as exc:
            log.info("refusal prompt on %s not played: %s", self.channel_id, exc)
            await self._hang_up_refused()
            return
        self.ctx.tasks.spawn(self._refusal_deadline(), name=f"refusal-{self.channel_id}")

    async def _refusal_deadline(self) -> None:
        await asyncio.sleep(REFUSAL_MAX_S)
        await self._hang_up_refused()

    async def playback_finished(self, event: Event) -> None:
        if event.playback_id == f"{self.channel_id}-refusal":
            await self._hang_up_refused()

    async def _hang_up_refused(self) -> None:
        if self.done:
            return
        self.finish()
        await self.ctx.ari.hangup(self.channel_id, reason=self.refusal)

    async def _hang_up_caller(self, leg: PstnLeg) -> None:
        """The phone's channel ends with the far leg's outcome (busy, no answer, absent)."""
        cause = leg.hangup_cause if leg.answered_at is None else 16
        try:
            if cause == SUBSCRIBER_ABSENT:  # no ARI reason name for it
                await self.ctx.ari.delete(f"/channels/{self.channel_id}",
                                          reason_code=str(SUBSCRIBER_ABSENT))
            else:
                await self.ctx.ari.hangup(self.channel_id, reason=REASONS.get(cause, "normal"))
        except AriError:
            pass  # hung up meanwhile

    async def transfer_answered(self, event: Event) -> None:
        if self.leg is None or event.target_channel_id != self.leg.channel_id or self.ended:
            return
        await self.ctx.ari.answer(self.channel_id)
        self.bridge_id = f"{self.channel_id}-br"
        await self.ctx.ari.post("/bridges", type="mixing", bridgeId=self.bridge_id)
        await self.ctx.ari.post(f"/bridges/{self.bridge_id}/addChannel",
                                channel=f"{self.channel_id},{self.leg.channel_id}")

    async def transfer_ended(self, event: Event) -> None:
        """The outside leg is over (its CDR closed): so is the phone's call."""
        leg = self.leg
        if leg is None or event.target_channel_id != leg.channel_id:
            return
        self.leg = None
        if not self.ended:
            self.ended = True
            await self._hang_up_caller(leg)
        await self._drop_bridge()

    async def stasis_end(self, event: Event) -> None:
        """The phone hung up (a dialplan channel's events stop here): end the outside leg."""
        await self._phone_gone()

    async def channel_destroyed(self, event: Event) -> None:
        await self._phone_gone()

    async def _phone_gone(self) -> None:
        self.ended = True
        leg = self.leg
        if leg is not None and not leg.done:
            try:
                await self.ctx.ari.hangup(leg.channel_id)
            except AriError as exc:
                log.info("hang-up of the outside leg %s: %s", leg.channel_id, exc)
        await self._drop_bridge()
        self.finish()  # a leg still ringing or up closes its own CDR when it ends

    async def _drop_bridge(self) -> None:
        bridge, self.bridge_id = self.bridge_id, None
        if bridge:
            try:
                await self.ctx.ari.delete(f"/bridges/{bridge}")
            except AriError:
                pass
