"""Console commands on a call the ACD bridged (a queue caller or a Voice Agent campaign contact
talking to the agent: ari_app.agent_bridge.AgentBridge in ctx.agents.bridges).

At the first command the console takes the call over: both channels move from the ACD's
mixing bridge into one of the console's own, and the ACD bridge is told to keep the customer
(`keep_customer`) should the agent's leg end first, so hold, consultation, conference and
transfers work as on a manual call (ari_app.flows.manual_dial.ConsoleCall), the agent's state
staying the ACD's (wrap-up when its bridge ends). The channels stay their handlers' (their
CDRs close as before); the console learns of their end from ChannelDestroyed."""
from __future__ import annotations

import logging

from voxcast.console import dialing

from ari_app.client import AriError
from ari_app.events import Event
from ari_app.flows.manual_dial import ConsoleCall, Phase

log = logging.getLogger("voxcast.console")


class ExternalLeg:
    """A channel of the call that another handler owns (the customer, the ACD's agent leg)."""

    def __init__(self, ctx, role: str, channel_id: str, call_id: int | None):
        self.ctx = ctx
        self.role = role
        self.channel_id = channel_id
        self.call_id = call_id
        self.up = True
        self.done = False
        self.released = False  # see ConsoleCall._maybe_finish

    async def safe_hangup(self) -> None:
        try:
            await self.ctx.ari.hangup(self.channel_id)
        except AriError as exc:
            log.warning("hangup of %s failed: %s", self.channel_id, exc)


class AcdConsoleCall(ConsoleCall):
    def __init__(self, ctx, plan: dialing.DialPlan, seq: int, bridge):
        super().__init__(ctx, plan, seq)
        self.acd = bridge
        self.phase = Phase.TALKING
        self.dialled = True  # both channels are long up
        self.customer_call_id = bridge.customer_call_id
        self.agent = ExternalLeg(ctx, "agent", bridge.agent_channel_id, bridge.agent_call_id)
        self.customer = ExternalLeg(ctx, "customer", bridge.customer_channel_id,
                                    bridge.customer_call_id)

    async def take_over(self) -> None:
        ari = self.ctx.ari
        self.acd.keep_customer = True
        await ari.post("/bridges", type="mixing", bridgeId=self.bridge_id)
        self.bridged = True
        for leg in (self.customer, self.agent):
            try:
                await ari.post(f"/bridges/{self.acd.bridge_id}/removeChannel",
                               channel=leg.channel_id)
            except AriError as exc:
                log.info("console %s: %s not in the ACD bridge: %s", self.channel_id,
                         leg.channel_id, exc)
        await self._add(self.agent, self.customer)

    def gone(self, channel_id: str) -> None:
        """ChannelDestroyed of the customer's or the agent's channel."""
        for leg in (self.agent, self.customer):
            if isinstance(leg, ExternalLeg) and leg.channel_id == channel_id and not leg.done:
                leg.done = True
                self.enqueue(Event(type="LegDown", channel_id=self.channel_id,
                                   target_channel_id=channel_id))

    async def _agent_released(self) -> None:
        """The ACD moves the agent on when its bridge ends (agent_gone)."""
        if not self.acd.ended:
            await self.acd.agent_gone()
        await self.publish("ended")


async def control_acd_call(commands, bridge, variables: dict[str, str]) -> None:
    """Hand the command to the console's controller of this ACD call, made at the first one."""
    session_id = int(variables["session_id"])
    call = commands.calls.get(session_id)
    if not isinstance(call, AcdConsoleCall) or call.acd is not bridge:
        plan = await commands.ctx.writer.run(
            dialing.acd_plan, bridge.tenant_id, bridge.user_id, session_id, bridge.extension,
            bridge.caller, bridge.customer_call_id, bridge.campaign_id, bridge.wrapup_seconds,
            bridge.queue_id)
        commands._seq += 1
        call = AcdConsoleCall(commands.ctx, plan, commands._seq, bridge)
        commands.adopt(call)
        await call.take_over()
    call.enqueue(Event(type="AgentCommand", channel_id=call.channel_id, raw=variables))
