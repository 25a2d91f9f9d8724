"""A caller talking to an agent: the mixing bridge holding the customer's channel and the
agent leg after the agent answered. Kept in ctx.agents.bridges[session_id] while it lasts, so
the console's commands (ari_app/agent_commands.py) find it.

Either side hanging up ends the other (unless `keep_customer`: the console moved the caller
elsewhere), moves the agent to wrap-up (voxcast.agents.states.call_ended) and ends the
QueueCall. Only a hang-up ends it: channels may leave and re-enter the bridge (hold,
consultation) without that meaning anything here."""
from __future__ import annotations

import asyncio
import logging

from models.entities import utcnow
from voxcast.acd import store

from ari_app.client import AriError

log = logging.getLogger("voxcast.agent_bridge")


class AgentBridge:
    def __init__(self, pool, waiter, leg):
        self.pool = pool
        self.ctx = pool.ctx
        self.bridge_id = f"vxab-{leg.channel_id}"
        self.tenant_id: int = waiter.tenant_id
        self.customer = waiter.customer  # the customer's call handler
        self.customer_channel_id: str = waiter.customer.channel_id
        self.customer_call_id: int | None = waiter.customer_call_id
        self.agent_leg = leg
        self.agent_channel_id: str = leg.channel_id
        self.agent_call_id: int = leg.offer.agent_call_id
        self.session_id: int = leg.offer.session_id
        self.user_id: int = leg.offer.user_id
        self.extension: str = leg.offer.extension
        self.queue_call_id: int | None = waiter.queue_call_id
        self.queue_id: int | None = waiter.queue_id
        self.campaign_id: int | None = waiter.campaign_id
        self.wrapup_seconds: int = waiter.wrapup_seconds
        self.caller: str = waiter.caller
        self.answered_at = leg.answered_at or utcnow()
        self.keep_customer = False  # the console took the customer elsewhere (transfer)
        self.ended_by = ""
        self._ended = asyncio.Event()

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def start(self) -> bool:
        """Both channels into a new mixing bridge. False when the customer is gone already."""
        ari = self.ctx.ari
        await ari.post("/bridges", type="mixing", bridgeId=self.bridge_id,
                       name=f"agent-{self.session_id}")
        try:
            await ari.post(f"/bridges/{self.bridge_id}/addChannel",
                           channel=f"{self.customer_channel_id},{self.agent_channel_id}",
                           inhibitConnectedLineUpdates="true")
        except AriError as exc:
            log.info("bridging %s to agent %s failed: %s", self.customer_channel_id,
                     self.extension, exc)
            return False
        return True

    async def wait_ended(self) -> str:
        """Until the call is over; which side ended it ("customer", "agent", "console")."""
        await self._ended.wait()
        return self.ended_by

    async def customer_gone(self) -> None:
        """The customer's handler calls this from its cleanup (the customer hung up)."""
        await self._end("customer")

    async def agent_gone(self) -> None:
        await self._end("agent")

    async def hangup(self) -> None:
        """End the call from outside (the console): both legs hung up."""
        await self._end("console")

    async def _end(self, by: str) -> None:
        if self._ended.is_set():
            return
        self.ended_by = by
        self._ended.set()
        if self.pool.bridges.get(self.session_id) is self:
            del self.pool.bridges[self.session_id]
        self.ctx.writer.post(store.bridge_ended, self.session_id, self.wrapup_seconds,
                             self.queue_call_id, utcnow())
        ari = self.ctx.ari
        if by != "agent" and not self.agent_leg.done:
            await self.agent_leg.safe_hangup()
        if by != "customer" and not self.keep_customer:
            try:
                await ari.hangup(self.customer_channel_id)
            except AriError as exc:
                log.warning("hangup of %s failed: %s", self.customer_channel_id, exc)
        try:
            await ari.delete(f"/bridges/{self.bridge_id}")
        except AriError:
            pass  # gone with its last channel, or never made
        if not self.wrapup_seconds:
            self.pool.kick()  # the agent is ready again at once
