"""Billing at call time on the event loop: each answered call's meter keeps its reservation
ahead of the talk time and cuts the call when it cannot grow. The reservations themselves are
voxcast.billing.call_credit.CallBilling's, run on the writer thread."""
from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from voxcast.billing.call_credit import CallBilling
from voxcast.billing.call_time import Grant, chunk_seconds, cut_at, extend_at

from ari_app.tasks import TaskSet
from ari_app.writer import Writer

log = logging.getLogger("voxcast.credit")


class CreditMeter:
    """Built once (ari_app.main): hands out the CallCredit of each rated call or leg."""

    def __init__(self, writer: Writer, billing: CallBilling, tasks: TaskSet,
                 inbound_ttl: float = 5.0):
        self.writer = writer
        self.billing = billing
        self.tasks = tasks
        self.inbound_ttl = inbound_ttl
        self._inbound_prices: dict[int, tuple[float, bool]] = {}

    def for_call(self, tenant_id: int, call_id: int) -> CallCredit | None:
        """The CallCredit of a campaign call its claim reserved for; None: not rated."""
        grant = self.billing.grant_of(call_id)
        return None if grant is None else CallCredit(self, tenant_id, grant)

    async def guard_leg(self, tenant_id: int, number: str, reference: str = ""
                        ) -> CallCredit | None:
        """For a leg we dial out to the PSTN ourselves (a transfer): rate and reserve it like
        a campaign call. Its CallCredit (`max_seconds` says how long it may last now), None
        when no plan applies; raises NoRate or NoCredit, and then it must not be dialed."""
        grant = await self.writer.run(self.billing.authorize_leg, tenant_id, number,
                                      reference or f"leg to {number}")
        return None if grant is None else CallCredit(self, tenant_id, grant)

    async def guard_inbound(self, tenant_id: int, reference: str) -> CallCredit | None:
        """For an inbound call: None when the plan does not charge inbound minutes; NoCredit
        when it does and the tenant cannot pay the first second. Whether a plan charges
        inbound is cached briefly, so free inbound calls cost no database round trip."""
        now = asyncio.get_running_loop().time()
        hit = self._inbound_prices.get(tenant_id)
        if hit is None or hit[0] < now:
            charged = await self.writer.run(self.billing.inbound_charged, tenant_id)
            hit = self._inbound_prices[tenant_id] = (now + self.inbound_ttl, charged)
        if not hit[1]:
            return None
        grant = await self.writer.run(self.billing.authorize_inbound, tenant_id, reference)
        return None if grant is None else CallCredit(self, tenant_id, grant)


class CallCredit:
    """The credit of one call (or bridged leg): started when it answers, it keeps the
    reservation ahead of the talk time and cuts the call when that cannot grow; `settle`
    charges a leg without a CDR of its own. `cut` says we hung up for lack of credit."""

    def __init__(self, meter: CreditMeter, tenant_id: int, grant: Grant):
        self.meter = meter
        self.tenant_id = tenant_id
        self.grant = grant
        self.cut = False
        self.settled = False
        self._meter: asyncio.Task | asyncio.TimerHandle | None = None

    @property
    def max_seconds(self) -> int:
        return self.grant.max_seconds

    @property
    def covered_s(self) -> int:
        return self.grant.covered_s

    async def attach(self, call_id: int) -> None:
        """Link the reservation to the call's CDR opened after it: closing that CDR settles
        the call."""
        await self.meter.writer.run(self.meter.billing.link, self.grant, call_id)

    def answered(self, on_cut) -> None:
        """The call is up: start metering. `on_cut()` (a coroutine function) hangs it up."""
        if self._meter is not None or self.settled:
            return
        tasks = self.meter.tasks
        if self.grant.reservation_id is None:  # free: nothing to extend, only the longest call
            loop = asyncio.get_running_loop()  # a timer, not a task, at a hundred calls a second
            self._meter = loop.call_later(cut_at(self.grant.covered_s),
                                          lambda: tasks.spawn(self._cut(on_cut), "credit-cut"))
            return
        self._meter = tasks.spawn(self._run(on_cut), f"credit-{self.grant.reservation_id}")

    async def _run(self, on_cut) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        step = chunk_seconds(self.grant.rate)
        while True:
            covered = self.grant.covered_s
            await asyncio.sleep(max(0.0, start + extend_at(covered) - loop.time()))
            extended = await self.meter.writer.run(self.meter.billing.extend, self.grant, step)
            if extended <= covered:
                break
        await asyncio.sleep(max(0.0, start + cut_at(self.grant.covered_s) - loop.time()))
        await self._cut(on_cut)

    async def _cut(self, on_cut) -> None:
        log.info("credit of tenant %s exhausted after %ss: cutting the call",
                 self.tenant_id, self.grant.covered_s)
        self.cut = True
        await on_cut()

    def stop(self) -> None:
        """The call is over: no more extensions or cut (settling happens with its CDR)."""
        meter = self._meter
        if meter is None:
            return
        if not isinstance(meter, asyncio.Future):  # the timer of a free call (uvloop's or not)
            meter.cancel()
        elif not meter.done() and meter is not asyncio.current_task():
            meter.cancel()

    async def settle(self, call_id: int | None, billsec: int | None = None) -> Decimal | None:
        """For a leg without a CDR of its own (or settled by hand): charge `billsec` (else the
        CDR's) and release the rest. Calls with a linked CDR are settled when it closes."""
        self.stop()
        if self.settled:
            return None
        self.settled = True
        return await self.meter.writer.run(self.meter.billing.settle, self.grant, call_id,
                                           billsec)


class Resumer:
    """Every `interval` seconds: campaigns paused for lack of credit whose tenant has topped
    up go back to running (called from the dialer's loop)."""

    def __init__(self, writer: Writer, billing: CallBilling, interval: float = 2.0):
        self.writer = writer
        self.billing = billing
        self.interval = interval
        self._next = 0.0

    async def tick(self) -> list[int]:
        now = asyncio.get_running_loop().time()
        if now < self._next:
            return []
        self._next = now + self.interval
        resumed = await self.writer.run(self.billing.resume_paused)
        for campaign_id in resumed:
            log.info("campaign %s resumed: its tenant's credit covers calls again", campaign_id)
        return resumed
