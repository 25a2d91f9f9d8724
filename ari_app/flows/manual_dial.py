"""A call the agent places from the console, and everything the console does with it.

Manual dial: the agent's phone rings first (PJSIP/<extension>, showing the number about to be
called); once the agent answers they hear ringback while the contact is dialled through the
trunk, rated and counted in the channel limits like any campaign call (credit reserved before
the originate, cut when it runs out); the contact's answer bridges both. The agent is
"ringing" from the start (so no ACD call is offered meanwhile), "on_call" from the contact's
answer, in wrap-up after it.

On the call the console can hold the contact (taken out of the bridge, music on hold),
consult a target (the contact held while the agent talks to another agent, a queue, an
extension or an outside number), then complete the transfer, cancel it, or join all three in
a conference; or transfer blind (the agent leaves at once, the contact hears music until the
target answers). Every leg has its own tenant-tagged CDR and channel slot; a leg to the PSTN is
rated like a call.
"""
from __future__ import annotations

import enum
import logging

from models.entities import utcnow
from voxcast.agents import states
from voxcast.billing.call_time import NoCredit, NoRate
from voxcast.console import dialing, live, targets
from voxcast.console.errors import ConsoleError
from voxcast.dialing.pacing import free_slots
from voxcast.i18n import N_

from ari_app.calls import CallHandler
from ari_app.client import AriError
from ari_app.events import Event
from ari_app.leg import CallLeg

log = logging.getLogger("voxcast.console")

MOH_CLASS = "default"
RINGBACK = "tone:ring"
AGENT_RING_S = 30  # how long the agent's own phone rings before the dial is given up
LINES_BUSY = N_("All your lines are busy; try again in a moment.")


def _why(exc: Exception) -> str:
    """What the console says of a leg the billing refused."""
    if isinstance(exc, NoCredit):
        return N_("Your account has no credit for this call.")
    return N_("Calls to that number are not possible.")


class Phase(enum.Enum):
    PHONE = "phone"  # the agent's phone rings
    DIALING = "dialing"  # the agent answered; the contact rings
    TALKING = "talking"
    HELD = "held"
    CONSULTING = "consulting"  # contact held, agent with the third party
    CONFERENCE = "conference"
    TRANSFERRING = "transferring"  # blind: agent gone, contact on hold until the target answers
    TRANSFERRED = "transferred"  # contact and target talking, agent gone
    ENDED = "ended"


class ConsoleLeg(CallLeg):
    """One channel of a console call: its CDR, slot and (to the PSTN) credit; it tells the
    call when it answers and when it is gone."""

    await_close = True

    def __init__(self, ctx, call: "ConsoleCall", role: str, channel_id: str, call_id: int,
                 tenant_id: int, campaign_id: int | None = None, credit=None):
        super().__init__(ctx, channel_id, tenant_id, call_id, campaign_id, credit=credit)
        self.call = call
        self.role = role  # agent | customer | third
        self.up = False
        self.released = False  # the call has handled its end (LegDown), not just the channel's

    async def stasis_start(self, event: Event) -> None:
        self.rang = True
        self.up = True
        self.answered_at = utcnow()
        if self.credit:
            self.credit.answered(self.safe_hangup)
        self.call.enqueue(Event(type="LegUp", channel_id=self.call.channel_id,
                                target_channel_id=self.channel_id))

    async def stasis_end(self, event: Event) -> None:
        """Out of the app (a Local channel's far side, a hang-up): ChannelDestroyed follows."""

    async def closed(self) -> None:
        self.call.enqueue(Event(type="LegDown", channel_id=self.call.channel_id,
                                target_channel_id=self.channel_id))


class ConsoleCall(CallHandler):
    """The controller of one console call. It is no channel itself (its id names the call):
    the legs hand it their answers and ends, the command bus hands it the agent's commands,
    all through its queue, so they are handled one at a time and in order."""

    def __init__(self, ctx, plan: dialing.DialPlan, seq: int):
        super().__init__(ctx, f"vxc-{plan.session_id}-{seq}")
        self.plan = plan
        self.session_id = plan.session_id
        self.user_id = plan.user_id
        self.tenant_id = plan.tenant_id
        self.phase = Phase.PHONE
        self.agent: ConsoleLeg | None = None
        self.customer: ConsoleLeg | None = None
        self.third: ConsoleLeg | None = None
        self.third_target: targets.Target | None = None
        self.third_session: int | None = None  # an agent target's session
        self.bridge_id = f"{self.channel_id}-br"
        self.bridged = False
        self.ringback: str | None = None
        self.agent_on_call = False  # the session reached on_call (wrap-up follows)
        self.before: tuple[str, int | None] = ("ready", None)  # state to go back to
        self.customer_call_id: int | None = None
        self.dialled = False  # the contact's originate was sent
        self.on_end = None  # called with the call once every leg is gone
        self.end_message = ""  # told to the console when the agent's part ends
        self._seq = 0

    @property
    def agent_here(self) -> bool:
        """The agent is still on this call (their phone leg is up or being set up)."""
        return self.agent is not None and not self.agent.done

    # -- set-up ---------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        self._seq += 1
        return f"{self.channel_id}-{prefix}{self._seq}"

    async def start(self) -> bool:
        """Open both CDRs, mark the agent ringing, ring the agent's phone. False (and the
        console told why) when the dial is not possible."""
        ctx, plan = self.ctx, self.plan
        agent_ch, contact_ch = self._id("a"), self._id("c")
        try:
            agent_call, contact_call, before = await ctx.writer.run(
                _begin, plan, agent_ch, contact_ch)
        except ConsoleError as exc:
            await self.publish("refused", message=str(exc))
            return False
        self.before = before
        self.customer_call_id = contact_call
        self.agent = ConsoleLeg(ctx, self, "agent", agent_ch, agent_call, plan.tenant_id)
        self.customer = ConsoleLeg(ctx, self, "customer", contact_ch, contact_call,
                                   plan.tenant_id, plan.campaign_id)
        try:  # rated and reserved like a campaign call, before the agent's phone rings
            credit = await ctx.credit.guard_leg(plan.tenant_id, plan.number,
                                                f"console call to {plan.number}")
        except (NoRate, NoCredit) as exc:
            why = _why(exc)
            for leg in (self.customer, self.agent):
                await self._close_unplaced(leg, f"not placed: {why}")
            state, reason = before
            await ctx.writer.run(states.set_state, plan.session_id, state, expect=("ringing",),
                                 pause_reason_id=reason)
            await self.publish("refused", message=why)
            return False
        if credit:
            await credit.attach(contact_call)
            self.customer.credit = credit
        ctx.router.register(self.agent)
        self.agent.take_slot()
        await self.publish("phone", number=plan.number)
        try:
            await ctx.ari.originate(f"PJSIP/{plan.extension}", agent_ch, app_args="console",
                                    caller_id=f'"{plan.number}" <{plan.number}>',
                                    timeout=AGENT_RING_S)
        except AriError as exc:
            log.warning("console %s: agent phone %s not rung: %s", self.channel_id,
                        plan.extension, exc)
            await self.agent.close(0, f"originate failed: {exc.message}"[:250])
        return True

    async def _dial_contact(self) -> None:
        ctx, plan, leg = self.ctx, self.plan, self.customer
        ctx.router.register(leg)
        leg.take_slot()
        self.dialled = True
        self.phase = Phase.DIALING
        await self._ring(self.agent)
        await self.publish("dialing", number=plan.number)
        try:
            await ctx.ari.originate(f"PJSIP/{plan.number}@pstn", leg.channel_id,
                                    app_args="console", caller_id=plan.caller_id,
                                    timeout=plan.dial_timeout)
        except AriError as exc:
            log.warning("console %s: contact %s not dialled: %s", self.channel_id,
                        plan.number, exc)
            leg.rang = True
            await leg.close(0, f"originate failed: {exc.message}"[:250])

    async def _close_unplaced(self, leg: ConsoleLeg, why: str) -> None:
        """A leg whose CDR exists but that was never dialled."""
        leg.released = True  # no LegDown follows: it never had a channel
        if not leg.done:
            leg.finish()
            await self.ctx.writer.run(self.ctx.cdrs.finish_call, leg.call_id, None, utcnow(),
                                      0, why, False)

    # -- events from the legs ---------------------------------------------------------------
    def _leg(self, channel_id: str) -> ConsoleLeg | None:
        for leg in (self.agent, self.customer, self.third):
            if leg is not None and leg.channel_id == channel_id:
                return leg
        return None

    async def leg_up(self, event: Event) -> None:
        leg = self._leg(event.target_channel_id)
        if leg is None or self.phase is Phase.ENDED:
            return
        if leg.role == "agent":
            if self.customer is not None and not self.customer.done:
                await self._dial_contact()
        elif leg.role == "customer":
            await self._stop_ring()
            await self.ctx.ari.post("/bridges", type="mixing", bridgeId=self.bridge_id)
            self.bridged = True
            await self._add(self.agent, self.customer)
            self.phase = Phase.TALKING
            # Before the CDR can close: its close moves the linked campaign entry on.
            await self.ctx.writer.run(dialing.link_answered, self.plan, self.customer_call_id)
            self.agent_on_call = await self.ctx.writer.run(
                states.set_state, self.session_id, "on_call", expect=("ringing",),
                call_id=self.customer_call_id)
            await self.publish("talking")
        elif leg.role == "third":
            await self._third_up()

    async def leg_down(self, event: Event) -> None:
        leg = self._leg(event.target_channel_id)
        if leg is None or leg.released:
            return
        leg.released = True
        if leg.role == "agent":
            await self._agent_gone()
        elif leg.role == "customer":
            await self._customer_gone()
        else:
            await self._third_gone()
        await self._maybe_finish()

    async def _agent_gone(self) -> None:
        await self._agent_released()
        phase = self.phase
        if phase is Phase.CONSULTING and self.third is not None and self.third.up:
            await self._join_customer()  # hanging up while consulting completes the transfer
            self.phase = Phase.TRANSFERRED
        elif phase is Phase.CONFERENCE:
            self.phase = Phase.TRANSFERRED  # the other two stay together
        elif phase in (Phase.TRANSFERRING, Phase.TRANSFERRED):
            pass
        else:
            self.phase = Phase.ENDED
            if self.customer is not None and not self.dialled:
                await self._close_unplaced(self.customer, "not placed: the agent did not answer")
            await self._hangup(self.customer)
            await self._hangup(self.third)

    async def _agent_released(self) -> None:
        """The agent's part of the call is over: wrap-up, or back to where they were."""
        if self.agent_on_call:
            self.agent_on_call = False
            await self.ctx.writer.run(states.call_ended, self.session_id,
                                      self.plan.wrapup_seconds)
        else:  # the contact never answered: back to ready, or to the pause it came from
            state, reason = self.before
            await self.ctx.writer.run(states.set_state, self.session_id, state,
                                      expect=("ringing",), pause_reason_id=reason)
        await self.publish("ended", message=self.end_message or None)

    async def _customer_gone(self) -> None:
        if self.phase is Phase.DIALING:
            self.end_message = N_("The number did not answer.")
        if self.phase in (Phase.TRANSFERRING, Phase.TRANSFERRED):
            self.phase = Phase.ENDED
            await self._hangup(self.third)
            return
        self.phase = Phase.ENDED
        await self._hangup(self.agent)
        await self._hangup(self.third)

    async def _third_gone(self) -> None:
        third, self.third = self.third, None
        await self._third_released()
        if self.phase is Phase.CONSULTING:
            await self._stop_ring()
            await self._join_customer()  # back to the contact
            self.phase = Phase.TALKING
            await self.publish("talking", message=f"{self.third_target.label} left"
                               if self.third_target else None)
        elif self.phase is Phase.CONFERENCE:
            self.phase = Phase.TALKING
            await self.publish("talking")
        elif self.phase in (Phase.TRANSFERRING, Phase.TRANSFERRED):
            self.phase = Phase.ENDED
            await self._hangup(self.customer)
        if third is not None and third.up and self.third_target is not None:
            log.info("console %s: %s left", self.channel_id, self.third_target.label)

    async def _third_up(self) -> None:
        if self.phase is Phase.CONSULTING:
            await self._stop_ring()
            await self._add(self.third)
            await self._third_answered()
            await self.publish("consulting", target=self.third_target.label, answered=True)
        elif self.phase is Phase.TRANSFERRING:
            await self._add(self.third)
            await self._join_customer()
            await self._third_answered()
            self.phase = Phase.TRANSFERRED

    async def _third_answered(self) -> None:
        if self.third_session is not None:
            await self.ctx.writer.run(states.offer_answered, self.third_session,
                                      self.third.call_id)

    async def _third_released(self) -> None:
        sid, self.third_session = self.third_session, None
        if sid is None:
            return
        moved = await self.ctx.writer.run(states.call_ended, sid, 0)
        if not moved:  # never answered: the offer is withdrawn, not a miss
            await self.ctx.writer.run(states.set_state, sid, "ready", expect=("ringing",))

    async def _maybe_finish(self) -> None:
        """Ends the call once each leg's LegDown was handled here. A leg's `done` is not
        enough: two channels may die at once, and the call finished on the first LegDown
        would drop the second one, leaving the agent on_call with no call."""
        if all(leg is None or leg.released for leg in (self.agent, self.customer, self.third)):
            self.phase = Phase.ENDED
            if self.bridged:
                self.bridged = False
                try:
                    await self.ctx.ari.delete(f"/bridges/{self.bridge_id}")
                except AriError:
                    pass
            self.finish()
            if self.on_end is not None:
                self.on_end(self)

    # -- commands ---------------------------------------------------------------------------
    async def agent_command(self, event: Event) -> None:
        command = event.raw  # the user event's variables, checked by the command bus
        action = command.get("action")
        if self.phase is Phase.ENDED:
            return
        if action == "hangup":
            if self.phase in (Phase.PHONE, Phase.DIALING):
                await self._hangup(self.customer)
                await self._hangup(self.agent)
            else:
                await self._hangup(self.customer)
            return
        if self.phase not in (Phase.TALKING, Phase.HELD, Phase.CONSULTING, Phase.CONFERENCE):
            return
        if action == "hold" and self.phase is Phase.TALKING:
            await self._hold_customer()
            self.phase = Phase.HELD
            await self.publish("held")
        elif action == "unhold" and self.phase is Phase.HELD:
            await self._join_customer()
            self.phase = Phase.TALKING
            await self.publish("talking")
        elif action in ("consult", "transfer") and self.phase in (Phase.TALKING, Phase.HELD) \
                and self.third is None:
            await self._dial_third(command, blind=action == "transfer")
        elif action == "complete" and self.phase in (Phase.CONSULTING, Phase.CONFERENCE) \
                and self.third is not None and self.third.up:
            if self.phase is Phase.CONSULTING:
                await self._join_customer()
            self.phase = Phase.TRANSFERRED
            await self._hangup(self.agent)
        elif action == "cancel" and self.phase is Phase.CONSULTING and self.third is not None:
            await self._hangup(self.third)  # its end brings the contact back
        elif action == "conference" and self.phase is Phase.CONSULTING \
                and self.third is not None and self.third.up:
            await self._join_customer()
            self.phase = Phase.CONFERENCE
            await self.publish("conference", target=self.third_target.label)

    async def _dial_third(self, command: dict, blind: bool) -> None:
        """Dial a transfer or consultation target (checked again here, on the writer)."""
        ctx = self.ctx
        try:
            target, third_session = await ctx.writer.run(
                _resolve_target, self.tenant_id, command.get("target_kind", ""),
                command.get("target", ""), self.user_id)
        except ConsoleError as exc:
            await self.publish(self.phase.value, message=str(exc))
            return
        if ctx.channels.by_tenant[self.tenant_id] >= self.plan.tenant_channel_limit:
            await self.publish(self.phase.value, message=LINES_BUSY)
            return
        credit = None
        if target.pstn:
            try:
                credit = await ctx.credit.guard_leg(self.tenant_id, target.number,
                                                    f"console transfer to {target.number}")
            except (NoRate, NoCredit) as exc:
                await self.publish(self.phase.value, message=f"{target.label}: {_why(exc)}")
                return
        leg_id = self._id("t")
        try:
            call_id = await ctx.writer.run(
                dialing.open_transfer_leg, self.tenant_id, target.number, leg_id,
                self.plan.campaign_id, self.plan.contact_id,
                target.user_id if third_session is not None else None)
            if credit:
                await credit.attach(call_id)
        except Exception:
            if credit:
                await credit.settle(None, 0)
            raise
        if third_session is not None:
            offered = await ctx.writer.run(states.offer_started, third_session, call_id)
            if not offered:
                await ctx.writer.run(ctx.cdrs.finish_call, call_id, None, utcnow(), 0,
                                     "not placed: the agent is not ready", False)
                await self.publish(self.phase.value, message=N_("That agent is not ready."))
                return
        self.third = ConsoleLeg(ctx, self, "third", leg_id, call_id, self.tenant_id,
                                credit=credit)
        self.third_target, self.third_session = target, third_session
        ctx.router.register(self.third)
        self.third.take_slot()
        if self.phase is not Phase.HELD:
            await self._hold_customer()
        if blind:
            self.phase = Phase.TRANSFERRING
            await self.publish("transferring", target=target.label)
        else:
            self.phase = Phase.CONSULTING
            await self._ring(self.agent)
            await self.publish("consulting", target=target.label, answered=False)
        caller = self.plan.number if not target.pstn else self.plan.caller_id
        try:
            if target.endpoint.startswith("Local/"):
                # A Local channel has no codecs of its own: the phones' (the app loads no
                # translators to signed linear at every rate).
                await ctx.ari.request("POST", "/channels", {
                    "endpoint": target.endpoint, "app": ctx.ari.app, "appArgs": "console",
                    "channelId": leg_id, "callerId": caller or None, "timeout": 30,
                    "formats": "ulaw,alaw"}, parse=False)
            else:
                await ctx.ari.originate(target.endpoint, leg_id, app_args="console",
                                        caller_id=caller, timeout=30)
        except AriError as exc:
            log.warning("console %s: target %s refused: %s", self.channel_id,
                        target.endpoint, exc)
            self.third.rang = True
            await self.third.close(0, f"originate failed: {exc.message}"[:250])
        if blind:
            await self._hangup(self.agent)

    # -- channel moves --------------------------------------------------------------------
    async def _add(self, *legs: ConsoleLeg | None) -> None:
        ids = [leg.channel_id for leg in legs if leg is not None and not leg.done]
        if ids:
            await self.ctx.ari.post(f"/bridges/{self.bridge_id}/addChannel", channel=",".join(ids))

    async def _hold_customer(self) -> None:
        c = self.customer
        if c is None or c.done:
            return
        try:
            await self.ctx.ari.post(f"/bridges/{self.bridge_id}/removeChannel",
                                    channel=c.channel_id)
        except AriError as exc:
            if exc.status != 422:  # not in the bridge: already held
                raise
        await self.ctx.ari.post(f"/channels/{c.channel_id}/moh",
                                mohClass=self.plan.music_class or MOH_CLASS)

    async def _join_customer(self) -> None:
        c = self.customer
        if c is None or c.done:
            return
        try:
            await self.ctx.ari.delete(f"/channels/{c.channel_id}/moh")
        except AriError:
            pass
        try:
            await self._add(c)
        except AriError as exc:
            if exc.status != 409 and exc.status != 422:
                raise

    async def _ring(self, leg: ConsoleLeg | None) -> None:
        if leg is None or leg.done:
            return
        self.ringback = self._id("rb")
        try:
            await self.ctx.ari.play(leg.channel_id, RINGBACK, playback_id=self.ringback)
        except AriError as exc:
            log.info("console %s: no ringback: %s", self.channel_id, exc)
            self.ringback = None

    async def _stop_ring(self) -> None:
        playback, self.ringback = self.ringback, None
        if playback:
            try:
                await self.ctx.ari.delete(f"/playbacks/{playback}")
            except AriError:
                pass

    async def _hangup(self, leg: ConsoleLeg | None) -> None:
        if leg is not None and not leg.done:
            await leg.safe_hangup()

    async def safe_hangup(self) -> None:
        """A failing step ends the whole call: every leg hung up."""
        for leg in (self.third, self.customer, self.agent):
            await self._hangup(leg)

    async def publish(self, kind: str, **details) -> None:
        details.setdefault("number", self.plan.number)
        await self.ctx.writer.run(live.publish, self.session_id, kind, **details)


# -- writer-thread jobs ------------------------------------------------------------------------

def _begin(plan: dialing.DialPlan, agent_ch: str, contact_ch: str):
    """Check the dial again, open both CDRs and mark the agent ringing, in one transaction:
    a state change that won the race (an ACD offer, a logout) refuses the dial."""
    from models.entities import AgentSession
    from models.txn import atomic
    with atomic():
        again = dialing.check(plan.tenant_id, plan.user_id, plan.number, plan.campaign_id,
                              plan.session_id)
        session = AgentSession.get_by_id(plan.session_id)
        before = ("paused" if session.state == "paused" else "ready",
                  session.pause_reason_id if session.state == "paused" else None)
        agent_call, contact_call = dialing.open_legs(again, agent_ch, contact_ch)
        if not states.set_state(plan.session_id, "ringing", expect=dialing.DIAL_FROM,
                                call_id=contact_call):
            from voxcast.console.errors import Refused
            raise Refused(N_("Your state changed; try again."))
    return agent_call, contact_call, before


def _resolve_target(tenant_id: int, kind: str, value: str, user_id: int):
    """The target, and an agent target's session (it must be ready to be offered a call)."""
    from voxcast.console.errors import BadTarget
    from voxcast.console.view import open_session
    target = targets.resolve(tenant_id, kind, value, user_id)
    session = None
    if target.user_id is not None:
        row = open_session(target.user_id)
        if kind == "agent" and (row is None or row.state != "ready"):
            raise BadTarget(N_("%(name)s is not ready."), "target", name=target.label)
        session = row.id if row is not None and row.state == "ready" else None
    return target, session


async def start(ctx, plan: dialing.DialPlan, seq: int, max_channels: int):
    """Place a manual dial; None when it is refused (the console is told why). Both legs
    count in the channel limits, the contact's in its campaign's as well."""
    channels = ctx.channels
    campaign_room = (plan.campaign_channel_limit - channels.by_campaign[plan.campaign_id]
                     if plan.campaign_id else 1)
    room = free_slots(campaign_room, 0, plan.tenant_channel_limit - 1,
                      channels.by_tenant[plan.tenant_id], max_channels - 1, channels.total)
    call = ConsoleCall(ctx, plan, seq)
    if room < 1:
        await call.publish("refused", message=LINES_BUSY)
        return None
    if not await call.start():
        return None
    return call
