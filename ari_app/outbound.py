"""What every campaign call shares, whatever its flow: origination, ringing, answering-machine
detection, recording, the CDR, the channel slot. A flow subclasses OutboundCall and says what
happens once a person (or, with amd_action "leave_message", a machine after its beep) answers.

Calls are originated into the `[voxcast-outbound]` dialplan context rather than straight into
the app, so one answered while the app is down is held there until it is back (a few seconds).
With AMD on, the answered channel is sent from Stasis into the `[voxcast-amd]` dialplan
context (AMD(), and for "leave_message" WaitForSilence() after a machine's greeting) and comes
back with `Stasis(voxcast,amd,<AMDSTATUS>,<AMDCAUSE>)`; the same handler gets it again because
the router keys handlers by channel id.
"""
from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import aiohttp

from models.entities import utcnow

from voxcast.cdr import records as cdr
from ari_app.calls import CallHandler
from voxcast.dialing.campaign_plans import CampaignPlan
from voxcast.dialing import claims
from voxcast.dialing.claims import Claim
from ari_app.channel_traces import channel_traces
from ari_app.client import AriError, AriUnavailable, NotSent
from ari_app.events import Event
from ari_app import language
from ari_app.leg import CallLeg

log = logging.getLogger("voxcast.outbound")

AMD_CONTEXT = "voxcast-amd"
# Originated into this context, extension = call id: on answer it enters Stasis with
# `outbound,<call id>`, or, while the app is away, is held there a few seconds (see
# dialplan/extensions.conf) and enters Stasis when the app is back.
OUTBOUND_CONTEXT = "voxcast-outbound"
HOLD_CONTEXTS = (OUTBOUND_CONTEXT, AMD_CONTEXT)  # where an answered call waits for the app


class OutboundCall(CallLeg):
    def __init__(self, ctx, claim: Claim, plan: CampaignPlan, record: bool = False):
        super().__init__(ctx, claim.channel_id, claim.tenant_id, claim.call_id,
                         claim.campaign_id,
                         ctx.credit.for_call(claim.tenant_id, claim.call_id))  # None: not rated
        self.claim = claim
        self.plan = plan
        self.machine = False
        self.amd_result = ""
        self.record = record  # decided by the dialer: the campaign asks and the quota allows
        self.holding = False  # adopted while held in dialplan: answered, its StasisStart to come
        self.unplaced = False  # refused because Asterisk was away: closed NOT PLACED
        self.language = language.normalize(getattr(plan, "language", "en"))  # set at originate

    def endpoint(self) -> str:
        return f"PJSIP/{self.claim.phone}@pstn"

    def variables(self) -> dict:
        """Channel variables of the originate: the tenant's language (prompts, numbers) and
        what the dialplan parts of the call need (AMD)."""
        out = language.variables(getattr(self.plan, "language", "en"))
        if self.plan.amd_enabled:
            out["VOXCAST_AMD_WAIT"] = "1" if self.plan.amd_action == "leave_message" else "0"
        return out

    async def place(self) -> bool:
        """Originate; a refused originate still ends with a CDR and frees its channel slot.
        True when Asterisk accepted it (the dialer then records placed_at, in batches)."""
        self.originated_at = utcnow()
        try:
            await self._originate()
            return True
        except AriError as exc:
            if exc.status == 409:  # our channel id exists already: this claim was placed
                return True
            log.warning("originate to %s failed: %s", self.claim.phone, exc)
            if await self._asterisk_away(exc):
                self.unplaced = True
                await self.close(0, f"not placed: {exc.message}; Asterisk was stopping or "
                                    "down, the contact is queued again"[:250])
                return False
            if isinstance(exc, AriUnavailable):  # sent, its answer lost: Asterisk's record tells
                self.ctx.tasks.spawn(self._settle_unanswered(exc), f"unanswered-{self.call_id}")
                return False
            self.rang = True  # refused outright: the cause text says why
            await self.close(0, f"originate failed: {exc.message}"[:250])
            return False

    ANSWER_LOST_WAIT_S = 60.0  # for ARI to be back, before the attempt counts as dialled
    IN_FLIGHT_S = 2.0  # for a request Asterisk was still handling to show in its record

    async def _settle_unanswered(self, exc: AriError) -> None:
        """An originate that may have reached Asterisk (the socket closed before its answer,
        or none came in time). Once ARI is back: the channel live means it was placed; a
        channel Asterisk has no record of (cel_custom's channel log) was never dialled, and
        the contact is queued again with its attempt uncounted (NOT PLACED). A recorded
        channel, no record kept, or no ARI within the wait: the attempt counts, the
        conservative side (never a second dial of a contact that was rung). Runs apart from
        its batch, whose accepted calls get placed_at at once; the call keeps its channel
        slot until closed."""
        self.settling = True  # the reconnect's reconcile leaves it to this
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ANSWER_LOST_WAIT_S
        reached, live = True, False
        await asyncio.sleep(self.IN_FLIGHT_S)
        while loop.time() < deadline:
            try:
                await asyncio.wait_for(self.ctx.ari.connected.wait(), deadline - loop.time())
                await self.ctx.ari.get(f"/channels/{self.channel_id}")
            except asyncio.TimeoutError:
                break
            except AriUnavailable:  # the socket still closing, or back only a moment ago
                await asyncio.sleep(0.5)
                continue
            except AriError as gone:
                if gone.status == 404:
                    found, traced = await channel_traces(self.ctx, [SimpleNamespace(
                        channel_id=self.channel_id, started_at=self.originated_at)])
                    reached = not traced or self.channel_id in found
                break
            else:
                live = True
                break
        self.settling = False
        if self.done:
            return  # closed meanwhile: its channel's end was reported
        if live:  # Asterisk took it: a call like any other from here on
            await self.ctx.writer.run(claims.mark_placed, [self.call_id], utcnow())
            return
        if not reached:
            self.unplaced = True
            await self.close(0, f"not placed: {exc.message}; Asterisk has no record of the "
                                "channel, the contact is queued again"[:250])
            return
        self.rang = True
        await self.close(0, f"originate failed: {exc.message}"[:250])

    SHUTDOWN_SOCKET_S = 3.0  # a stopping Asterisk closes the ARI socket within this

    async def _asterisk_away(self, exc: AriError) -> bool:
        """The originate was refused before any channel existed because Asterisk was not
        there to dial: not listening (the connection refused: the request never left), or
        stopping (once a shutdown began it refuses every channel allocation, "Allocation
        failed", and its ARI socket closes a moment later). The contact was not called, so
        the attempt is not counted. An allocation refused while the socket stays up (a broken
        trunk, no memory) stays a failed attempt, as before: a misconfiguration cannot redial
        a campaign for ever. A request that may have reached Asterisk (a timeout, a socket
        lost mid-request) stays one too: it may have dialled."""
        if isinstance(exc.__cause__, (aiohttp.ClientConnectorError, NotSent)):
            return True  # refused, or the socket closed before the request was written
        if exc.status != 500 or "Allocation failed" not in exc.message:
            return False
        connected = self.ctx.ari.connected
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.SHUTDOWN_SOCKET_S
        while connected.is_set() and loop.time() < deadline:
            await asyncio.sleep(0.1)
        return not connected.is_set()

    def close_job(self):
        if not self.unplaced:
            return super().close_job()
        not_placed = self.ctx.cdrs.close_not_placed
        return lambda call_id, _answered, _ended, _cause, cause_txt, *_: not_placed(
            call_id, cause_txt)

    async def _originate(self) -> None:
        """Into dialplan rather than straight into the app (ARI takes `app` or
        context/extension, not both): [voxcast-outbound] holds an answered call while the app
        is away. Its events before the answer come through the app's `channel:` subscription."""
        variables = self.variables()
        await self.ctx.ari.request("POST", "/channels", {
            "endpoint": self.endpoint(), "context": OUTBOUND_CONTEXT,
            "extension": str(self.claim.call_id), "priority": 1, "channelId": self.channel_id,
            "callerId": self.plan.caller_id or None, "timeout": self.plan.dial_timeout,
        }, {"variables": variables} if variables else None, parse=False)

    async def stasis_start(self, event: Event) -> None:
        self.holding = False
        if event.args and event.args[0] == "amd":
            await self._amd_done(event)
            return
        self.rang = True
        self.answered_at = utcnow()
        if self.credit:  # from now on the call runs on reserved credit, cut when it ends
            self.credit.answered(self.safe_hangup)
        self.ctx.writer.post(cdr.mark_answered, self.claim.call_id, self.answered_at)
        if self.record:
            await self._start_recording()
        if self.plan.amd_enabled:  # its events keep coming through the `channel:` subscription
            await self.ctx.ari.post(f"/channels/{self.channel_id}/continue",
                                    context=AMD_CONTEXT, extension="s", priority=1)
            return
        await self.answered(event)

    async def _amd_done(self, event: Event) -> None:
        status = event.args[1] if len(event.args) > 1 else ""
        cause = event.args[2] if len(event.args) > 2 else ""
        self.amd_result = f"{status} {cause}".strip()
        log.info("AMD on %s: %s", self.claim.phone, self.amd_result)
        if status == "MACHINE":
            self.machine = True
            if self.plan.amd_action != "leave_message":
                await self.ctx.ari.hangup(self.channel_id)
                return
        await self.answered(event)

    async def _start_recording(self) -> None:
        """Both directions through a snoop channel (spy both), so a recording also holds what
        we play; file <tenant>-<call>.wav in the instance's recordings dir."""
        name = f"{self.claim.tenant_id}-{self.claim.call_id}"
        snoop_id = f"{self.channel_id}-rec"
        self.ctx.router.register(_Snoop(self.ctx, snoop_id))
        try:
            await self.ctx.ari.post(f"/channels/{self.channel_id}/snoop", spy="both",
                                    app=self.ctx.ari.app, appArgs="snoop", snoopId=snoop_id)
            await self.ctx.ari.post(f"/channels/{snoop_id}/record", name=name, format="wav",
                                    ifExists="overwrite", maxDurationSeconds=3600)
            await self.ctx.writer.run(cdr.set_recording, self.claim.call_id, f"{name}.wav")
        except AriError as exc:  # the call goes on unrecorded rather than not at all
            log.warning("recording of %s failed: %s", self.channel_id, exc)
            self.ctx.router.forget(snoop_id)

    async def answered(self, event: Event) -> None:
        """The contact (or the machine, after its greeting) picked up; the channel is ours."""
        raise NotImplementedError

    async def adopted(self, answered_at) -> None:
        """A call an earlier run placed and Asterisk still has. Not yet answered: the flow
        starts as usual at StasisStart. Answered: where the flow was is lost with the crash,
        so by default the call ends here; flows that can finish on their own override this."""
        self.rang = True
        self.answered_at = answered_at
        if answered_at is not None:
            await self.safe_hangup()

    def held(self, answered_at) -> None:
        """A call an earlier run placed, answered and now held in dialplan (or entering Stasis)
        until the app is back: its StasisStart (`outbound`, or `amd` after AMD) comes to this
        handler and the flow runs as for any call. `answered_at` None: not answered before."""
        self.rang = True
        self.holding = True
        if answered_at is not None:  # the answer is past: AMD brings it back (amd args)
            self.answered_at = answered_at
            if self.credit:
                self.credit.answered(self.safe_hangup)

    async def channel_destroyed(self, event: Event) -> None:
        if self.holding and self.answered_at is None:  # answered, hung up before the flow
            await self.close(0, f"answered while voxcast was not running; hung up while held "
                                f"(cause {event.cause})")
            return
        await super().channel_destroyed(event)

    def describe(self, cause_txt: str) -> str:
        if self.amd_result and not cause_txt.startswith("AMD"):
            return f"AMD {self.amd_result}; {cause_txt}"
        return cause_txt

    def close_args(self) -> tuple:
        return self.rang, self.machine, getattr(self.plan, "retry_settings", None)


class _Snoop(CallHandler):
    """The recording's snoop channel: nothing to do but be known, so the router does not hang
    it up as a stranger; it ends with the call it spies on."""

    async def stasis_start(self, event: Event) -> None:
        pass

    async def channel_destroyed(self, event: Event) -> None:
        self.finish()


async def watchdog(handler: CallHandler, seconds: float) -> None:
    """Hang up an adopted call whose flow cannot say when it is over."""
    await asyncio.sleep(seconds)
    if not handler.done:
        await handler.safe_hangup()
