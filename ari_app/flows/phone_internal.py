"""A tenant's phone calling another extension of the same tenant: the dialplan asked the FastAGI
server, which said "internal", and hands the phone's channel here with
`Stasis(app,phone_internal,<endpoint>,<dialled>)`.

Call control stays in the Stasis app, as for PSTN calls (phone_out): the call is checked again
(the called extension must be the caller's tenant's), counted in the tenant's channel limit
(one slot per call, like a phone's outside call) and recorded: the called phone's leg is a
TransferLeg with its own tenant-tagged CDR (direction "internal", `number` the caller's
extension, `did` the called one), never rated. An unregistered called phone is not dialled
(its CDR closed "not registered", the caller gets 480); the called phone's busy or no answer
is passed to the caller as its own hang-up cause; on answer both are bridged and either
side's end ends the other (PhoneOutCall's handling)."""
from __future__ import annotations

import logging

from voxcast.phones import routing

from ari_app import language
from ari_app.client import AriError
from ari_app.events import Event
from ari_app.flows.phone_out import SUBSCRIBER_ABSENT, PhoneOutCall, PstnLeg

log = logging.getLogger("voxcast.flows.phone_internal")

RING_TIMEOUT_S = 30  # as the dialplan's Dial() rang before


class PhoneInternalCall(PhoneOutCall):
    async def stasis_start(self, event: Event) -> None:
        route, limit = await self.ctx.writer.run(routing.prepare_pstn, self.endpoint, self.dialled)
        if route.kind != "internal" or not route.target:
            log.warning("phone %s to %s refused in Stasis: %s %s", self.endpoint, self.dialled,
                        route.kind, route.reason)
            await self._refuse("rejected", route.prompt)
            return
        tenant_id, called = route.tenant_id, route.target
        if self.ctx.channels.by_tenant[tenant_id] >= limit:
            log.info("tenant %s at its channel limit (%s): phone %s to %s refused",
                     tenant_id, limit, self.endpoint, called)
            await self._refuse("congestion")
            return
        leg_id = f"{self.channel_id}-ext"
        call_id = await self.ctx.writer.run(routing.open_internal_call, tenant_id,
                                            self.endpoint, called, leg_id)
        leg = PstnLeg(self.ctx, self, leg_id, call_id, tenant_id)
        self.ctx.router.register(leg)
        leg.take_slot()
        self.leg = leg
        if not await self._registered(called):
            log.info("phone %s to %s: not registered", self.endpoint, called)
            leg.hangup_cause = SUBSCRIBER_ABSENT
            await leg.close(SUBSCRIBER_ABSENT, "not registered")
            return
        try:
            await self.ctx.ari.post(f"/channels/{self.channel_id}/ring")
        except AriError:
            pass  # the phone is gone already: its StasisEnd ends the leg
        try:
            await self.ctx.ari.originate(
                f"PJSIP/{called}", leg_id, app_args="phone_leg", caller_id=self.endpoint,
                timeout=RING_TIMEOUT_S, variables=language.variables(route.language))
        except AriError as exc:
            log.warning("phone %s to %s: originate refused: %s", self.endpoint, called, exc)
            leg.hangup_cause = SUBSCRIBER_ABSENT
            await leg.close(SUBSCRIBER_ABSENT, f"originate failed: {exc.message}"[:250])
            return
        log.info("phone %s calls extension %s (call %s)", self.endpoint, called, call_id)

    async def _registered(self, extension: str) -> bool:
        """Asked per call (one REST request): a phone that just registered or left counts."""
        try:
            endpoint = await self.ctx.ari.get(f"/endpoints/PJSIP/{extension}")
        except AriError as exc:
            log.info("endpoint %s: %s", extension, exc)
            return False
        return (endpoint or {}).get("state") == "online"
