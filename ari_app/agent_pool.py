"""The agents of the Stasis app (ctx.agents): which agents can take a call, offering waiting
callers to them, and the calls they are on.

`connect()` is the one call every flow uses to put a customer through to an agent: a queue's
caller (ari_app.flows.queue.QueueRunner), a Voice Agent campaign's answered contact
(ari_app.flows.voice_agent), a console transfer. It registers the caller as a Waiter; one
dispatcher task offers waiting callers to ready agents in rounds: a round is ONE writer job
for every idle waiter at once (voxcast.acd.store.make_offers: pick by strategy and penalty,
compare-and-set ready -> ringing, open the agent legs' CDRs), then one originate per offer.
Waiters are served in the order they came (the longest waiting first). A round runs when
something changed (a caller came, an offer ended, a bridged call ended, a phone registered),
and every POLL_S while callers wait with nobody to offer them to, since agents also become
ready through the web console and the phone's feature codes (another process).

An agent is offered a call only when their session is "ready" (never paused, ringing, on a
call or in wrap-up) and their extension is registered and on no other call (Presence)."""
from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Sequence

from models.entities import utcnow
from voxcast.acd import store
from voxcast.agents import states

from ari_app.agent_bridge import AgentBridge
from ari_app.agent_leg import ANSWERED, LOST, RINGING, AgentLeg
from ari_app.client import AriError
from ari_app.presence import Presence

log = logging.getLogger("voxcast.agent_pool")

POLL_S = 0.5  # callers waiting and no agent: look again this often
SWEEP_S = 1.0  # wrap-ups past their end go back to ready this often
PRESENCE_REFRESH_S = 60.0  # endpoint states listed again this often
LOGGED_IN_TTL_S = 5.0  # a queue's logged-in member count, for its waiting callers
RING_ALL_MAX = 50  # agents rung at once for one caller under ring all
HOLDTIME_WEIGHT = 0.25  # expected wait: moving average of answered waits, like app_queue's


class Waiter:
    """One customer waiting for an agent, from connect() until an agent answered or it gave
    up. `state`: idle (no offer out), offering (agent legs ringing), bridging (an agent
    answered and the bridge is being made), done."""

    _ids = itertools.count(1)

    def __init__(self, customer, tenant_id: int, *, queue=None, campaign_id=None,
                 user_ids=None, ring_seconds: int, wrapup_seconds: int, caller: str,
                 queue_call_id: int | None, once: bool):
        loop = asyncio.get_running_loop()
        self.id = next(self._ids)
        self.customer = customer
        self.tenant_id = tenant_id
        self.queue = queue
        self.queue_id = queue.id if queue is not None else None
        self.strategy = queue.strategy if queue is not None else "longest_idle"
        self.campaign_id = campaign_id
        self.user_ids = list(user_ids) if user_ids is not None else None
        self.ring_seconds = max(1, int(ring_seconds))
        self.wrapup_seconds = max(0, int(wrapup_seconds or 0))
        self.caller = caller or ""
        self.customer_call_id = getattr(customer, "call_id", None)
        self.queue_call_id = queue_call_id
        self.once = once
        self.future: asyncio.Future = loop.create_future()
        self.entered = loop.time()
        self.state = "idle"
        self.legs: dict[str, AgentLeg] = {}
        self.tried: set[int] = set()
        self.offers = 0
        self.rounds = 0
        self.customer_left = False  # cancelled by the customer's hang-up
        self.before_bridge = None  # the customer's flow stops its playback (connect())

    def request(self, live_channels: int, rr_after: int) -> store.OfferRequest:
        self.rounds += 1
        return store.OfferRequest(
            key=self.id, tenant_id=self.tenant_id, customer_call_id=self.customer_call_id,
            caller=self.caller, channel_prefix=f"{self.customer.channel_id}-ag{self.rounds}-",
            max_legs=RING_ALL_MAX if self.strategy == "ring_all" else 1,
            queue_id=self.queue_id, user_ids=self.user_ids, strategy=self.strategy,
            rr_after=rr_after, exclude=frozenset(self.tried), live_channels=live_channels)

    def resolve(self, result) -> None:
        self.state = "done"
        if not self.future.done():
            self.future.set_result(result)


class AgentPool:
    def __init__(self, ctx):
        self.ctx = ctx
        self.presence = Presence(self.kick)
        self.bridges: dict[int, AgentBridge] = {}  # by AgentSession id, while bridged
        self.waiting: dict[int, Waiter] = {}  # by id, in the order they came
        self._wake = asyncio.Event()
        self._rr: dict[tuple, int] = {}  # round robin: the user offered last, per queue
        self._holdtime: dict[int, float] = {}  # queue id -> moving average of answered waits
        self._logged_in: dict[int, tuple[float, int]] = {}  # queue id -> (until, members)

    # -- what flows ask ------------------------------------------------------------------
    def registered(self, extension: str) -> bool:
        """Is the extension's phone registered (PJSIP endpoint online)?"""
        return self.presence.registered(extension)

    def kick(self) -> None:
        """Something changed that may let a waiting caller through: run a round now."""
        self._wake.set()

    def position(self, customer_channel_id: str, queue_id: int) -> int:
        """1 for the longest-waiting caller of the queue; 0 when not waiting."""
        n = 0
        for w in self.waiting.values():
            if w.queue_id == queue_id and w.state != "done":
                n += 1
                if w.customer.channel_id == customer_channel_id:
                    return n
        return 0

    async def logged_in(self, tenant_id: int, queue_id: int) -> int:
        """How many members of the queue are logged in, read at most every LOGGED_IN_TTL_S
        per queue however many callers wait in it."""
        now = asyncio.get_running_loop().time()
        hit = self._logged_in.get(queue_id)
        if hit is None or hit[0] < now:
            count = await self.ctx.writer.run(store.logged_in_members, tenant_id, queue_id)
            hit = self._logged_in[queue_id] = (now + LOGGED_IN_TTL_S, count)
        return hit[1]

    def expected_wait(self, queue_id: int) -> float | None:
        """Seconds: the moving average of answered waits of the queue (None: none yet)."""
        return self._holdtime.get(queue_id)

    async def connect(self, customer, tenant_id: int, *, queue=None,
                      campaign_id: int | None = None, user_ids: Sequence[int] | None = None,
                      ring_seconds: int = 15, wrapup_seconds: int = 0,
                      give_up_after: float | None = None, caller: str = "",
                      queue_call_id: int | None = None,
                      before_bridge=None) -> AgentBridge | None:
        """Put the (answered, in Stasis) customer through to an agent: a queue's members
        (`queue`, a store.QueuePlan: its strategy and penalties), or `user_ids` (a campaign's
        agents), offered one at a time (ring all: all at once), each ringing `ring_seconds`,
        the next agent after no answer or busy. The AgentBridge once an agent answered and
        both are bridged; None when nobody did within `give_up_after` seconds (None: wait
        until cancelled; 0: only agents ready now are tried). Cancelling the task withdraws
        the offer (a ringing phone stops, the agent is ready again, no miss counted); a
        bridge made meanwhile is ended as if the customer hung up. `before_bridge()` (a
        coroutine function) runs once an agent answered, before the customer is moved into
        the bridge: stop any playback on the customer's channel there (Asterisk would hold
        the bridging until it ended)."""
        waiter = Waiter(customer, tenant_id, queue=queue, campaign_id=campaign_id,
                        user_ids=user_ids, ring_seconds=ring_seconds,
                        wrapup_seconds=wrapup_seconds, caller=caller,
                        queue_call_id=queue_call_id, once=give_up_after == 0)
        waiter.before_bridge = before_bridge
        self.waiting[waiter.id] = waiter
        self.kick()
        try:
            try:
                if give_up_after:
                    await asyncio.wait_for(asyncio.shield(waiter.future), give_up_after)
                else:
                    await asyncio.shield(waiter.future)
            except asyncio.TimeoutError:
                if waiter.state != "bridging":
                    self._withdraw(waiter)
                    return None
                await asyncio.shield(waiter.future)  # an agent answered just now: that wins
        except asyncio.CancelledError:
            self._withdraw(waiter, cancelled=True)
            raise
        return waiter.future.result()

    def _withdraw(self, waiter: Waiter, cancelled: bool = False) -> None:
        """The customer gives up waiting (synchronously: safe inside a cancellation)."""
        self.waiting.pop(waiter.id, None)
        for leg in list(waiter.legs.values()):
            if leg.outcome == RINGING:
                self.ctx.tasks.spawn(leg.withdraw(), f"withdraw-{leg.channel_id}")
        bridge = waiter.future.result() if waiter.future.done() else None
        if waiter.state != "bridging":
            waiter.resolve(None)
        waiter.customer_left = waiter.customer_left or cancelled
        if cancelled and bridge is not None:
            self.ctx.tasks.spawn(bridge.customer_gone(), f"gone-{bridge.bridge_id}")

    # -- the dispatcher ---------------------------------------------------------------------
    async def run(self) -> None:
        """The dispatcher task (one per app)."""
        while True:
            idle = any(w.state == "idle" for w in self.waiting.values())
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_S if idle else None)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._round()
            except Exception:
                log.exception("dispatch round failed")
                await asyncio.sleep(POLL_S)

    async def _round(self) -> None:
        idle = [w for w in self.waiting.values() if w.state == "idle"]
        if not idle:
            return
        by_tenant = self.ctx.channels.by_tenant
        requests = [w.request(by_tenant[w.tenant_id], self._rr.get(self._rr_key(w), 0))
                    for w in idle]
        offers = await self.ctx.writer.run(store.make_offers, requests, self.presence.usable)
        for waiter in idle:
            got = offers.get(waiter.id, [])
            if waiter.state != "idle" or waiter.id not in self.waiting:
                for offer in got:  # it gave up while the round ran: nothing to ring
                    self._discard(waiter, offer)
                continue
            if not got:
                if waiter.once:
                    self.waiting.pop(waiter.id, None)
                    waiter.resolve(None)
                continue
            waiter.state = "offering"
            waiter.offers += len(got)
            if waiter.strategy == "round_robin":
                self._rr[self._rr_key(waiter)] = got[0].user_id
            for offer in got:
                leg = AgentLeg(self, waiter, offer)
                self.ctx.router.register(leg)
                leg.take_slot()
                self.presence.ours.add(leg.channel_id)
                waiter.legs[leg.channel_id] = leg
                self.ctx.tasks.spawn(leg.place(), f"offer-{leg.channel_id}")

    @staticmethod
    def _rr_key(waiter: Waiter) -> tuple:
        return (waiter.tenant_id, waiter.queue_id, waiter.campaign_id)

    def _discard(self, waiter: Waiter, offer: store.Offer) -> None:
        self.ctx.writer.post(store.offer_lost, offer.session_id)
        self.ctx.writer.post(self.ctx.cdrs.finish_call, offer.agent_call_id, None, utcnow(), 0,
                             "offer withdrawn before ringing", False)

    # -- the agent legs report ----------------------------------------------------------------
    async def leg_answered(self, leg: AgentLeg) -> None:
        waiter = leg.waiter
        if leg.outcome != RINGING or waiter.state != "offering" or waiter.future.done():
            leg.outcome = LOST  # another agent was faster, or the caller left
            await leg.safe_hangup()
            return
        leg.outcome = ANSWERED
        waiter.state = "bridging"
        for other in list(waiter.legs.values()):
            if other is not leg and other.outcome == RINGING:
                self.ctx.tasks.spawn(other.withdraw(), f"withdraw-{other.channel_id}")
        bridge = AgentBridge(self, waiter, leg)
        leg.bridge = bridge
        self.bridges[leg.session_id] = bridge
        wait = asyncio.get_running_loop().time() - waiter.entered
        self.ctx.writer.post(store.answered, leg.session_id, leg.offer.user_id,
                             waiter.customer_call_id, leg.offer.agent_call_id,
                             waiter.queue_call_id, waiter.offers, bridge.answered_at,
                             round(wait))
        self.waiting.pop(waiter.id, None)
        if waiter.queue_id is not None:
            old = self._holdtime.get(waiter.queue_id)
            self._holdtime[waiter.queue_id] = wait if old is None else (
                old + HOLDTIME_WEIGHT * (wait - old))
        try:
            if waiter.before_bridge is not None:
                try:
                    await waiter.before_bridge()
                except Exception:  # the bridge matters more than the flow's tidying
                    log.exception("before_bridge of %s failed", waiter.customer.channel_id)
            ok = await bridge.start()
        except AriError as exc:
            log.warning("bridge for %s failed: %s", waiter.customer.channel_id, exc)
            ok = False
        if not ok or getattr(waiter, "customer_left", False):
            waiter.resolve(None)
            await bridge.customer_gone()
            return
        waiter.resolve(bridge)

    async def leg_closed(self, leg: AgentLeg) -> None:
        self.presence.ours.discard(leg.channel_id)
        waiter = leg.waiter
        waiter.legs.pop(leg.channel_id, None)
        if leg.bridge is not None:
            await leg.bridge.agent_gone()
            return
        if leg.outcome == LOST or leg.outcome == ANSWERED:
            self.ctx.writer.post(store.offer_lost, leg.session_id)
        else:  # no answer, busy, unreachable: the next agent; this one maybe paused
            waiter.tried.add(leg.offer.user_id)
            self.ctx.writer.post(store.offer_missed, leg.session_id, leg.offer.max_missed)
            log.info("agent %s did not take the call of %s (cause %s)", leg.offer.extension,
                     waiter.caller, leg.cause)
        if not waiter.legs and waiter.state == "offering":
            waiter.state = "idle"
            if waiter.once:
                self.waiting.pop(waiter.id, None)
                waiter.resolve(None)
        self.kick()

    # -- housekeeping -------------------------------------------------------------------------
    async def sweep_wrapups(self) -> None:
        """Wrap-ups past their end back to ready (every SWEEP_S), a round when any did; every
        PRESENCE_REFRESH_S the endpoints are listed again (a missed event cannot leave a phone
        marked busy or offline for long)."""
        loop = asyncio.get_running_loop()
        refresh_at = loop.time() + PRESENCE_REFRESH_S
        while True:
            await asyncio.sleep(SWEEP_S)
            if loop.time() >= refresh_at and self.ctx.ari.connected.is_set():
                refresh_at = loop.time() + PRESENCE_REFRESH_S
                await self.presence.refresh(self.ctx.ari)
            try:
                done = await self.ctx.writer.run(states.finish_wrapups)
            except Exception:
                log.exception("wrap-up sweep failed")
                continue
            if done:
                self.kick()
