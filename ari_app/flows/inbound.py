"""Inbound DID call: find the tenant that owns the DID, answer, then send the caller where the
DID routes (voxcast.numbers.did_routes): the greeting, an IVR (the same runner as IVR
campaigns), a queue (ari_app.flows.queue.QueueRunner), a user's phone (voicemail to their
e-mail when it does not answer, is busy or not registered), or a campaign's inbound flow;
outside the tenant's timeslots to the DID's closed destination.

An unassigned DID is refused before answer (SIP 404), a tenant at its channel limit gets
busy, so neither is billed or leaves a half-open CDR. A phone dialling an IVR number enters
here too (`Stasis(app,ivr,<tenant>,<ivr>)`, PhoneIvrCall).
"""
from __future__ import annotations

import asyncio
import logging

from models.entities import utcnow
from voxcast.audio import sounds

from voxcast.billing.call_time import NoCredit

from voxcast.cdr import records as cdr
from voxcast.numbers import did_routes
from voxcast.numbers.did_routes import DidRoute, Destination
from ari_app import language
from ari_app.client import AriError
from ari_app.events import Event
from ari_app.leg import DialplanLeg
from ari_app.flows.ivr_runner import IvrRunner, RunsIvr, TransferLeg, start_queue
from ari_app.flows.voicemail import VoicemailRunner
from ari_app.flows.fax_receive import FaxReceiver

log = logging.getLogger("voxcast.flows.inbound")

USER_RING_SECONDS = 20
AGENT_WAIT_S = 60  # an inbound caller of a Voice Agent campaign waits this long for an agent
UNAVAILABLE = "sound:vx-agent-unavailable"  # "No agent is available to take your call."
# In the answered caller's channel while a phone rings; stopped before the channel joins a
# bridge (a channel in a playback joins only when the playback ends).
RINGBACK = "tone:ring"


async def ringback(ctx, channel_id: str) -> None:
    """The caller (answered already) hears ringing while we ring someone for them."""
    try:
        await ctx.ari.play(channel_id, RINGBACK, playback_id=f"{channel_id}-ringback")
    except AriError as exc:
        if exc.status == 404:
            raise
        log.warning("%s: no ringback: %s", channel_id, exc)


async def stop_ringback(ctx, channel_id: str) -> None:
    try:
        await ctx.ari.delete(f"/playbacks/{channel_id}-ringback")
    except AriError:
        pass  # it never started, or the channel is gone


class UserRinger:
    """Rings all of a user's registered phones at once (ringback to the caller meanwhile) and
    bridges the first that answers, hanging up the others; nobody answering, busy or not
    registered ends in voicemail to the user's e-mail. Driven by the handler's transfer
    events (each phone is a TransferLeg with its own CDR), like IvrRunner."""

    def __init__(self, handler: "InboundCall", target: did_routes.UserTarget):
        self.h = handler
        self.ctx = handler.ctx
        self.target = target
        self.legs: dict[str, TransferLeg] = {}  # ringing (or bridged) phones by channel id
        self.answered: TransferLeg | None = None
        self.bridge_id: str | None = None
        self.ended = False

    async def start(self) -> None:
        numbers = [n for n in self.target.extensions if await self._registered(n)]
        if not numbers:
            log.info("%s: user %s has no registered phone; voicemail", self.h.channel_id,
                     self.target.user_id)
            await self._voicemail()
            return
        await ringback(self.ctx, self.h.channel_id)
        for seq, number in enumerate(numbers, 1):
            await self._ring(number, f"{self.h.channel_id}-u{seq}")
        if not self.legs and not self.ended:  # none could be rung
            await self._voicemail()

    async def _registered(self, number: str) -> bool:
        try:
            endpoint = await self.ctx.ari.get(f"/endpoints/PJSIP/{number}")
        except AriError:
            return False
        return (endpoint or {}).get("state") == "online"

    async def _ring(self, number: str, leg_id: str) -> None:
        call_id = await self.ctx.writer.run(did_routes.open_user_leg, self.h.tenant_id, number,
                                            leg_id)
        leg = TransferLeg(self.ctx, self.h, leg_id, call_id, self.h.tenant_id)
        self.ctx.router.register(leg)
        leg.take_slot()
        self.legs[leg_id] = leg
        try:
            await self.ctx.ari.originate(f"PJSIP/{number}", leg_id, app_args="transfer",
                                         caller_id=self.h.caller, timeout=USER_RING_SECONDS,
                                         variables=language.variables(self.h.language))
        except AriError as exc:
            log.warning("%s: ringing %s refused: %s", self.h.channel_id, number, exc)
            self.legs.pop(leg_id, None)
            leg.rang = True
            await leg.close(0, f"originate failed: {exc.message}"[:250])

    async def _voicemail(self) -> None:
        await stop_ringback(self.ctx, self.h.channel_id)
        self.ended = True
        self.h.runner = VoicemailRunner(self.h, self.h.tenant_id, self.target.email,
                                        caller=self.h.caller, called=self.h.did,
                                        call_id=self.h.call_id)
        await self.h.runner.start()

    async def _hang_up(self, legs) -> None:
        for leg in legs:
            if not leg.done:
                try:
                    await self.ctx.ari.hangup(leg.channel_id)
                except AriError as exc:
                    log.warning("hangup of %s failed: %s", leg.channel_id, exc)

    async def transfer_answered(self, event: Event) -> None:
        leg = self.legs.get(event.target_channel_id)
        if leg is None:
            return
        if self.answered is not None or self.ended:  # another phone was quicker
            await self._hang_up([leg])
            return
        self.answered = leg
        await self._hang_up([other for other in self.legs.values() if other is not leg])
        await stop_ringback(self.ctx, self.h.channel_id)  # before the bridge: see RINGBACK
        self.bridge_id = f"{self.h.channel_id}-ubr"
        await self.ctx.ari.post("/bridges", type="mixing", bridgeId=self.bridge_id)
        await self.ctx.ari.post(f"/bridges/{self.bridge_id}/addChannel",
                                channel=f"{self.h.channel_id},{leg.channel_id}")

    async def transfer_ended(self, event: Event) -> None:
        leg = self.legs.pop(event.target_channel_id, None)
        if leg is None:
            return
        if leg is self.answered:  # the user hung up: so do we
            self.ended = True
            await self.h.safe_hangup()
        elif not self.legs and self.answered is None and not self.ended:
            await self._voicemail()  # no phone answered (no answer, busy, gone)

    async def playback_finished(self, event: Event) -> None:
        """Nothing plays while ringing."""

    async def dtmf(self, event: Event) -> None:
        """Keys mean nothing while ringing."""

    async def timeout(self, event: Event) -> None:
        """No timers: the originate's own timeout ends a ring."""

    async def recording_finished(self, event: Event) -> None:
        """No recording before voicemail takes over."""

    async def recording_failed(self, event: Event) -> None:
        """No recording before voicemail takes over."""

    async def cleanup(self) -> None:
        self.ended = True
        await self._hang_up(list(self.legs.values()))
        if self.bridge_id:
            try:
                await self.ctx.ari.delete(f"/bridges/{self.bridge_id}")
            except AriError:
                pass


class AgentWaiter:
    """An inbound caller of a Voice Agent campaign waits (music on hold) for one of the campaign's
    ready agents through the ACD (ctx.agents.connect, in its own task so the handler keeps
    taking the channel's events); nobody within AGENT_WAIT_S: the unavailable message."""

    def __init__(self, handler: "InboundCall", target: did_routes.CampaignTarget):
        self.h = handler
        self.ctx = handler.ctx
        self.target = target
        self.task = None
        self.bridge = None
        self.playback = f"{handler.channel_id}-unavailable"

    async def start(self) -> None:
        # Music on hold, not a playback: the ACD bridges the channel itself, and a channel in
        # a playback would only join the bridge once the playback ended.
        try:
            await self.ctx.ari.post(f"/channels/{self.h.channel_id}/moh", mohClass="default")
        except AriError as exc:
            if exc.status == 404:
                raise
            log.warning("%s: no music on hold: %s", self.h.channel_id, exc)
        self.task = self.ctx.tasks.spawn(self._connect(), f"agent-{self.h.channel_id}")

    async def _connect(self) -> None:
        try:
            bridge = await self.ctx.agents.connect(
                self.h, self.h.tenant_id, campaign_id=self.target.campaign_id,
                user_ids=list(self.target.agent_ids), ring_seconds=USER_RING_SECONDS,
                wrapup_seconds=self.target.wrapup_seconds, give_up_after=AGENT_WAIT_S,
                caller=self.h.caller)
        except Exception:  # never leave the caller in silence
            log.exception("connecting %s to an agent failed", self.h.channel_id)
            bridge = None
        if not self.h.done:
            try:
                await self.ctx.ari.delete(f"/channels/{self.h.channel_id}/moh")
            except AriError:
                pass
        if bridge is not None:
            self.bridge = bridge
            if self.h.done:  # the caller hung up as the agent answered
                await bridge.customer_gone()
            return
        if not self.h.done:
            await self.ctx.ari.play(self.h.channel_id, UNAVAILABLE, playback_id=self.playback)

    async def playback_finished(self, event: Event) -> None:
        if event.playback_id == self.playback:
            await self.h.safe_hangup()

    async def dtmf(self, event: Event) -> None:
        """Keys mean nothing while waiting."""

    async def timeout(self, event: Event) -> None:
        """The wait's limit is connect's own."""

    async def recording_finished(self, event: Event) -> None:
        """Nothing is recorded."""

    async def recording_failed(self, event: Event) -> None:
        """Nothing is recorded."""

    async def transfer_answered(self, event: Event) -> None:
        """The ACD's agent legs report to the pool, not here."""

    async def transfer_ended(self, event: Event) -> None:
        """The ACD's agent legs report to the pool, not here."""

    async def cleanup(self) -> None:
        if self.task is not None and not self.task.done():  # hung up while waiting
            self.task.cancel()
        elif self.bridge is not None and not self.bridge.ended:
            await self.bridge.customer_gone()


FAX_DETECTED = "fax_detected"  # Stasis(app,fax_detected): a fax tone heard (Did.fax_detect)
FAX_DETECT_S = 20  # how long into the call a fax tone is listened for


class InboundCall(RunsIvr, DialplanLeg):
    fax_armed = False
    hangup_requested = False

    def __init__(self, ctx, event: Event):
        super().__init__(ctx, event.channel_id)  # tenant, CDR and credit once the DID is known
        self.did = event.args[1] if len(event.args) > 1 else event.exten
        self.caller = event.caller_number
        self.route: DidRoute | None = None
        self.destination: Destination | None = None
        self.playback_id = f"{event.channel_id}-greeting"

    async def stasis_start(self, event: Event) -> None:
        if event.args and event.args[0] == FAX_DETECTED:  # back from [from-pstn] exten fax
            await self.runner.start()
            return
        if self.ctx.overload.behind(event):  # refused busy at once: past its limit the app degrades
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        route = await self.ctx.dids.find(self.did)
        if route is None:
            log.info("inbound call to unassigned DID %s refused", self.did)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="unallocated")
            return
        if route.tenant_status != "active":  # suspended: refused as such (Q.850 21)
            log.info("inbound call to DID %s refused: tenant %s is %s", self.did,
                     route.tenant_id, route.tenant_status)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="rejected")
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
        # Kept at once: live statistics show the call answered, and a crash still bills it.
        self.ctx.writer.post(cdr.mark_answered, self.call_id, self.answered_at)
        if self.credit:
            self.credit.answered(self.safe_hangup)
        await language.apply(self, route.tenant_id)  # prompts and TTS in the tenant's language
        dest = self.destination = did_routes.destination(route, utcnow())
        if route.fax_detect and dest.kind != "fax":
            await self._arm_fax_detect()
        target = None
        if dest.kind != "greeting":  # checked again: still the tenant's?
            target = await self.ctx.writer.run(did_routes.resolve, route.tenant_id, dest,
                                               self.caller, self.call_id)
            if target is None:
                log.warning("DID %s: %s %s is not tenant %s's (or gone); greeting instead",
                            route.number, dest.kind, dest.target, route.tenant_id)
        if target is not None and await self._run(dest, target):
            return
        await self._greeting(dest)

    async def _run(self, dest: Destination, target) -> bool:
        """Start the destination's flow; False sends the caller to the greeting."""
        if dest.kind == "ivr":
            self.runner = IvrRunner(self, target)
        elif dest.kind == "queue":
            await start_queue(self, target)
            return True
        elif dest.kind == "user":
            self.runner = UserRinger(self, target)
        elif dest.kind == "fax":  # ReceiveFAX in dialplan (ari_app.flows.fax_receive)
            self.runner = FaxReceiver(self, self.route.fax_emails)
        elif dest.kind == "campaign":
            if target.spec is None:  # voice_agent: straight to one of its agents
                return await self._campaign_agents(target)
            self.runner = IvrRunner(self, target.spec)
        else:
            return False
        await self.runner.start()
        return True

    async def _campaign_agents(self, target: did_routes.CampaignTarget) -> bool:
        if getattr(self.ctx, "agents", None) is None or not target.agent_ids:
            log.warning("DID %s: campaign %s has no agents (or no ACD here); greeting instead",
                        self.did, target.campaign_id)
            return False
        self.runner = AgentWaiter(self, target)
        await self.runner.start()
        return True

    async def _greeting(self, dest: Destination) -> None:
        route = self.route
        voice = sounds.voice_for(self.language)
        if dest.closed and route.closed_text:
            name = await sounds.tts_async(route.closed_text, self.ctx.settings.sounds_dir, voice)
        else:
            name = route.greeting_file or await sounds.tts_async(
                route.greeting_text, self.ctx.settings.sounds_dir, voice)
        await self.ctx.ari.play(self.channel_id, self.ctx.settings.sound_uri(name),
                                playback_id=self.playback_id)

    async def playback_finished(self, event: Event) -> None:
        if isinstance(self.runner, FaxReceiver):  # the greeting stopped by a fax tone
            return
        if event.playback_id == self.playback_id and self.fax_armed:
            # A fax tone sends the channel out of Stasis, which ends the greeting just before
            # StasisEnd: wait for that a moment rather than hang up the fax.
            self.ctx.tasks.spawn(self._hang_up_unless_fax(), f"faxwait-{self.channel_id}")
            return
        if event.playback_id == self.playback_id:
            await self.ctx.ari.hangup(self.channel_id)
        elif self.runner:
            await self.runner.playback_finished(event)

    async def _arm_fax_detect(self) -> None:
        """res_fax listens for a fax calling tone (CNG) or a T.38 re-INVITE for the first
        FAX_DETECT_S; on one it sends the channel out of Stasis to [from-pstn] exten `fax`, which
        comes back with Stasis(app,fax_detected): then the fax is received (FaxReceiver)."""
        try:
            await self.ctx.ari.post(f"/channels/{self.channel_id}/variable",
                                    variable="FAXOPT(faxdetect)", value=f"yes,{FAX_DETECT_S}")
            self.fax_armed = True
        except AriError as exc:
            if exc.status == 404:
                raise
            log.warning("%s: fax detection not armed: %s", self.channel_id, exc)

    async def _hang_up_unless_fax(self, wait_s: float = 1.0) -> None:
        await asyncio.sleep(wait_s)
        if not self.done and not isinstance(self.runner, FaxReceiver):
            await self.safe_hangup()

    async def channel_hangup_request(self, event: Event) -> None:
        self.hangup_requested = True
        await super().channel_hangup_request(event)

    async def stasis_end(self, event: Event) -> None:
        if getattr(self.runner, "in_dialplan", False):  # a fax being received: ChannelDestroyed
            return
        if self.fax_armed and not self.hangup_requested:  # left Stasis on a fax tone
            log.info("%s: fax tone detected on DID %s", self.channel_id, self.did)
            old, self.runner = self.runner, FaxReceiver(self, self.route.fax_emails)
            self.runner.in_dialplan = True  # until it is back: CDR closed at ChannelDestroyed
            if old is not None:
                await old.cleanup()
            return
        await super().stasis_end(event)

    async def channel_userevent(self, event: Event) -> None:
        if hasattr(self.runner, "channel_userevent"):  # the fax receive's result
            await self.runner.channel_userevent(event)


class PhoneIvrCall(RunsIvr, DialplanLeg):
    """A tenant's phone dialled one of its IVR numbers: the dialplan (after the AGI's
    authorisation) enters `Stasis(app,ivr,<tenant id>,<ivr id>)`. Checked again here: the
    calling extension and the IVR must both be that active tenant's."""

    def __init__(self, ctx, event: Event):
        super().__init__(ctx, event.channel_id)
        self.args = event.args
        self.channel_name = (event.raw.get("channel") or {}).get("name", "")
        self.caller = event.caller_number

    async def stasis_start(self, event: Event) -> None:
        try:
            tenant_id, ivr_id = int(self.args[1]), int(self.args[2])
        except (IndexError, ValueError):
            log.warning("ivr call %s with bad arguments %s refused", self.channel_id, self.args)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="unallocated")
            return
        extension = self.channel_name.partition("/")[2].rpartition("-")[0]
        found = await self.ctx.writer.run(did_routes.phone_ivr, tenant_id, ivr_id, extension,
                                          self.channel_id)
        if found is None:
            log.warning("ivr call %s: extension %r may not run IVR %s of tenant %s",
                        self.channel_id, extension, ivr_id, tenant_id)
            self.finish()
            await self.ctx.ari.hangup(self.channel_id, reason="unallocated")
            return
        spec, channel_limit = found
        self.tenant_id, self.call_id = tenant_id, spec.call_id
        if self.ctx.channels.by_tenant[tenant_id] >= channel_limit:
            log.info("tenant %s at its channel limit; IVR call refused busy", tenant_id)
            await self.close(17, "tenant channel limit")
            await self.ctx.ari.hangup(self.channel_id, reason="busy")
            return
        self.take_slot()
        await self.ctx.ari.answer(self.channel_id)
        self.answered_at = utcnow()
        await language.apply(self, tenant_id)
        self.runner = IvrRunner(self, spec)
        await self.runner.start()

    async def playback_finished(self, event: Event) -> None:
        if self.runner:
            await self.runner.playback_finished(event)
