"""Billing enforced at call time: a call is placed only with its first increment reserved,
its reservation grows in chunks while it runs, it is cut when no more credit can be
reserved, and it is settled (charged, rest released) when it ends.

Two halves: `*_job` functions are database work for the store's writer thread
(`ctx.store.run`), so every check-and-reserve is serialised and parallel calls cannot spend
the same money; `CallCredit` lives on the event loop, one per call or bridged leg, and runs
its call's metering timer.

The Stasis app hooks this in (`install()`: ari_app.admission check at claim time, settlement
when a CDR closes). A tenant without any plan (none of its own, no default plan) is not rated;
once a plan applies, a destination without a rate is not dialed."""
from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from models import Call, Campaign, CampaignContact, Tenant, database
from models.entities import CreditReservation
from voxcast.billing import ledger, plans, rating
from voxcast.billing.rating import Rate

from models import txn

from voxcast.campaigns import lifecycle

from . import admission

log = logging.getLogger("voxcast.credit")

NO_CREDIT = lifecycle.Cause("no_credit")
NO_RATE = "no rate for destination"
CUT_CAUSE = "credit exhausted: call cut"

CHUNK_S = 30  # a running call reserves about this much more at a time
LEAD_S = 5.0  # ...this long before its reserved time runs out
CUT_EARLY_S = 0.3  # hang up this much before the reserved time ends, so it never overruns


class NoRate(Exception):
    """The tenant's plan has no rate for this destination: it must not be called."""


class NoCredit(Exception):
    """The tenant's credit does not cover the first increment of this call."""


@dataclass
class Grant:
    """A call's reservation: `covered_s` seconds of talk are paid for by it so far.
    A free destination needs none (`reservation_id` None): nothing to reserve or charge."""
    reservation_id: int | None
    rate: Rate
    covered_s: int
    max_seconds: int  # how long the call could last with all credit available at the start


# -- pure arithmetic ------------------------------------------------------------------------

def is_free(rate: Rate) -> bool:
    return rate.per_minute == 0 and rate.connection_fee == 0


def chunk_seconds(rate: Rate, target: int = CHUNK_S) -> int:
    """How far one extension reaches: whole increments, at least `target` seconds."""
    inc = rate.increment_s
    return max(1, -(-target // inc)) * inc


def extend_at(covered_s: float, lead: float = LEAD_S) -> float:
    """Seconds after answer when the reservation should grow: `lead` before it runs out."""
    return max(0.0, covered_s - lead)


def cut_at(covered_s: float, early: float = CUT_EARLY_S) -> float:
    """Seconds after answer when a call whose reservation cannot grow is hung up."""
    return max(0.0, covered_s - early)


def billed_seconds(billsec: int, covered_s: int) -> int:
    """The talk time charged: never beyond what was reserved, since we cut the call there
    (the fraction of a second our hang-up takes is not the tenant's)."""
    return max(0, min(billsec, covered_s))


def inbound_rate(per_minute) -> Rate | None:
    """The plan's inbound price as a Rate billed per second; None when inbound is free."""
    price = Decimal(str(per_minute or 0))
    return Rate("", price, Decimal("0"), 1, 1, "inbound") if price > 0 else None


# -- writer-thread jobs -----------------------------------------------------------------------

# CDRs still open whose reservation an earlier run of the app made (found by reconcile_job at
# start): closing one of these settles it; other calls without a Grant have nothing to settle.
_ADOPTED: set[int] = set()
# Grants of the calls in progress, by CDR id. Written and read on the writer thread (the
# admission check, extensions, the finish hook); the event loop only reads its call's Grant.
_LIVE: dict[int, Grant] = {}
INSTALLED = False  # set by install(): the Stasis app rates calls, other users of store don't


def authorize(tenant_id: int, rate: Rate, reference: str, call_id: int | None = None) -> Grant:
    """Reserve the first increment of a call at `rate`; NoCredit when it is not covered.
    A free rate reserves nothing: no money moves, so no ledger row and no lock on the tenant
    (this keeps the writer thread free on plans that leave destinations unpriced)."""
    if is_free(rate):
        grant = Grant(None, rate, rating.MAX_CALL_SECONDS, rating.MAX_CALL_SECONDS)
        if call_id is not None:
            _LIVE[call_id] = grant
        return grant
    try:
        auth = ledger.authorize_call(tenant_id, rate, reference=reference,
                                     want_s=chunk_seconds(rate))
    except ledger.InsufficientCredit as exc:
        raise NoCredit(str(exc)) from None
    covered = auth.covered_s or rate.initial_s
    grant = Grant(auth.reservation_id, rate, min(covered, auth.max_seconds), auth.max_seconds)
    if call_id is not None:
        link_job(grant, call_id)
    return grant


def authorize_number(tenant_id: int, number: str, reference: str,
                     table: rating.RateTable | None = None,
                     call_id: int | None = None) -> Grant | None:
    """Rate and authorize a call to `number`: the Grant, None when no plan applies, NoRate
    when the plan has no rate for it, NoCredit when the credit does not cover it."""
    if table is None:
        table = plans.table_of_tenant(tenant_id)
        if table is None:
            return None
    rate = table.lookup(number)
    if rate is None:
        raise NoRate(NO_RATE)
    return authorize(tenant_id, rate, reference, call_id)


def skip_unrated(entries: list, campaign_id: int, now) -> list:
    """Claim-time filter (like DNC): contacts whose destination the tenant's plan has no rate
    for are marked failed with a CDR saying "no rate for destination" and never dialed."""
    if not entries or not INSTALLED:
        return entries
    table = plans.table_of_tenant(entries[0].tenant_id)
    if table is None:
        return entries
    keep = []
    for entry in entries:
        if table.lookup(entry.phone) is None:
            fail_unrated(entry, campaign_id, now)
        else:
            keep.append(entry)
    return keep


def admission_check(claims: list) -> tuple[list, lifecycle.Cause | None]:
    """ari_app.admission check: reserve each claimed call's first increment, in order; once
    the credit does not cover one, it and the rest are refused (put back) and the campaign
    is paused for NO_CREDIT, to resume by itself after a top-up."""
    if not claims:
        return [], None
    table = plans.table_of_tenant(claims[0].tenant_id)
    if table is None:
        return [], None
    for i, claim in enumerate(claims):
        rate = table.lookup(claim.phone)
        try:
            if rate is None:  # the rate went away since skip_unrated: try again later
                raise NoCredit(NO_RATE)
            authorize(claim.tenant_id, rate, f"call {claim.call_id} to {claim.phone}",
                      claim.call_id)
        except NoCredit:
            refused = claims[i:]
            if rate is not None:
                pause_for_credit(claim.campaign_id)
            return refused, NO_CREDIT if rate is not None else None
    return [], None


def pause_for_credit(campaign_id: int) -> None:
    lifecycle.pause_for(campaign_id, NO_CREDIT)


def on_finish(call_id: int, billsec: int | None = None) -> None:
    """ari_app.admission finish hook, inside the transaction that closes the CDR: charge the
    call and release the rest of its reservation (or all of it when unanswered)."""
    grant = _LIVE.get(call_id)  # forgotten by settle_job once its transaction commits
    if grant is not None and grant.reservation_id is None:
        settle_job(grant, call_id, billsec)  # free: one UPDATE, nothing that can fail midway
        return
    try:
        with database.atomic():  # a billing failure never keeps the CDR from closing
            if grant is not None:
                settle_job(grant, call_id, billsec)
            elif call_id in _ADOPTED:  # reserved by an earlier run of the app: rated now,
                txn.after_commit(lambda: _ADOPTED.discard(call_id))  # as credit allows
                reconcile_job(call_id)
    except Exception:
        log.exception("settling call %s failed; its reservation is settled at the next start",
                      call_id)


def install() -> None:
    """Hook billing into the dialer's claims and every CDR close (the Stasis app does at
    start; without it nothing is rated, as in tests of other parts of the dialer)."""
    global INSTALLED
    INSTALLED = True
    admission.register_check(admission_check)
    admission.register_finish(on_finish)


def grant_of(call_id: int) -> Grant | None:
    return _LIVE.get(call_id)


def authorize_inbound_job(tenant_id: int, reference: str) -> Grant | None:
    """Reserve for an inbound call when the tenant's plan charges inbound minutes."""
    plan = plans.plan_of_tenant(tenant_id)
    rate = inbound_rate(plan.inbound_per_minute) if plan is not None else None
    return None if rate is None else authorize(tenant_id, rate, reference)


def authorize_leg_job(tenant_id: int, number: str, reference: str) -> Grant | None:
    return authorize_number(tenant_id, number, reference)


def link_job(grant: Grant, call_id: int) -> None:
    """Tie a reservation to its CDR: closing the CDR settles it."""
    if grant.reservation_id is not None:
        CreditReservation.update(call=call_id).where(
            CreditReservation.id == grant.reservation_id).execute()
    _LIVE[call_id] = grant


def extend_job(grant: Grant, want_s: int) -> int:
    """Grow the reservation by up to `want_s` seconds of talk, as far as this call's share of
    the available credit goes (whole increments); returns the seconds now covered (unchanged:
    no credit left)."""
    if grant.reservation_id is None:  # free: covered to the longest call already
        return grant.covered_s
    res = CreditReservation.get_or_none(CreditReservation.id == grant.reservation_id)
    covered_s, rate = grant.covered_s, grant.rate
    if res is None or res.released_at is not None:
        return covered_s
    target = min(covered_s + want_s, rating.MAX_CALL_SECONDS)
    if is_free(rate):
        grant.covered_s = target
        return target
    # Free minutes first, in whole increments, as the first increment was authorized.
    free_left = ledger.available_seconds(res.tenant_id)
    if free_left > 0:
        take = min(free_left, target - covered_s)
        take -= take % rate.increment_s if take >= rate.increment_s else 0
        if take > 0 and ledger.extend(grant.reservation_id, 0, seconds=take):
            grant.covered_s = covered_s + take
            return grant.covered_s
    paid = rating.call_cost(rate, covered_s)
    spare = max(ledger.available(res.tenant_id), Decimal("0"))
    # Parallel calls share what is left: each takes its part, so one call does not run on
    # while the others are cut; below one increment's worth it takes one increment if it can.
    calls = (CreditReservation.select().where(CreditReservation.tenant == res.tenant_id,
                                              CreditReservation.released_at.is_null()).count())
    reach = rating.max_seconds(rate, paid + spare / max(1, calls), cap=target)
    if reach <= covered_s:
        one_more = min(target, covered_s + rate.increment_s)
        reach = rating.max_seconds(rate, paid + spare, cap=one_more)
    if reach <= covered_s:
        return covered_s
    delta = rating.call_cost(rate, reach) - paid
    if delta > 0 and not ledger.extend(grant.reservation_id, delta):
        return covered_s
    grant.covered_s = reach
    return reach


def settle_job(grant: Grant, call_id: int | None, billsec: int | None = None) -> Decimal | None:
    """Charge what the call cost and release the rest of its reservation, or release all of
    it when the call was not answered. `billsec` defaults to the CDR's. The cost charged."""
    if call_id is not None:  # not before: a rolled-back batch runs this job again
        txn.after_commit(lambda: _LIVE.pop(call_id, None))
    if billsec is None:
        call = Call.get_or_none(Call.id == call_id) if call_id is not None else None
        billsec = call.billsec if call is not None and call.answered_at else 0
    seconds = billed_seconds(billsec, grant.covered_s)
    if grant.reservation_id is None:  # free destination: rated at 0, nothing to post
        if seconds > 0 and call_id is not None:
            from .store import set_cost_free  # store imports this module
            set_cost_free(call_id)
        return Decimal("0") if seconds > 0 else None
    if seconds <= 0:
        ledger.release(grant.reservation_id)
        return None
    cost = rating.call_cost(grant.rate, seconds)
    ledger.settle(grant.reservation_id, cost, call_id, kind="call",
                  seconds=rating.billable_seconds(grant.rate, seconds))
    return cost


def reconcile_job(call_id: int | None = None) -> int:
    """Close reservations an earlier run of the app left open: without a CDR (crashed before
    the call was placed) they are released, with a closed CDR settled at its rated cost
    (never more than reserved plus what is available), with an open CDR left until that
    call is closed (then this runs again for it). Returns how many were closed."""
    query = CreditReservation.select().where(CreditReservation.released_at.is_null())
    if call_id is not None:
        query = query.where(CreditReservation.call == call_id)
    closed = 0
    for res in list(query):
        call = Call.get_or_none(Call.id == res.call_id) if res.call_id else None
        if call is None:
            ledger.release(res.id)
        elif call.ended_at is None:
            if call.id not in _LIVE:  # an earlier run's call: settled when its CDR closes
                _ADOPTED.add(call.id)
            continue
        else:
            rate = _rate_of_call(call)
            if rate is None or not call.answered_at or call.billsec <= 0:
                ledger.release(res.id)
            else:
                cost = rating.call_cost(rate, call.billsec)
                cap = Decimal(res.amount) + max(ledger.available(res.tenant_id), Decimal("0"))
                ledger.settle(res.id, min(cost, cap), call.id, kind="call",
                              seconds=rating.billable_seconds(rate, call.billsec))
        closed += 1
    return closed


def _rate_of_call(call: Call) -> Rate | None:
    if call.direction == "inbound":
        plan = plans.plan_of_tenant(call.tenant_id)
        return inbound_rate(plan.inbound_per_minute) if plan is not None else None
    table = plans.table_of_tenant(call.tenant_id)
    return None if table is None else table.lookup(call.number)


def fail_unrated(entry: CampaignContact, campaign_id: int, now) -> None:
    """A contact whose destination has no rate: failed, with a CDR saying why; not dialed."""
    (CampaignContact.update(state="failed", last_disposition="FAILED",
                            attempts=CampaignContact.attempts + 1)
     .where(CampaignContact.id == entry.id).execute())
    Call.create(tenant=entry.tenant_id, campaign=campaign_id, contact=entry.contact_id,
                entry=entry.id, direction="outbound", number=entry.phone,
                channel_id=f"vx-norate-{uuid.uuid4().hex}", started_at=now,
                ended_at=now, disposition="FAILED", cause_txt=NO_RATE, cost=Decimal("0"))


def resume_paused_job() -> list[int]:
    """Campaigns paused for lack of credit (and only those) whose tenant can now pay the
    first increment of their next contact's call go back to running. Their ids."""
    resumed = []
    paused = (lifecycle.paused_for(NO_CREDIT.code).join(Tenant)
              .where(Tenant.status == "active"))
    for campaign in list(paused):
        if not _affordable_next(campaign):
            continue
        if lifecycle.resume_paused(campaign.id, NO_CREDIT.code):
            resumed.append(campaign.id)
    return resumed


def _affordable_next(campaign: Campaign) -> bool:
    entry = (CampaignContact.select(CampaignContact.phone)
             .where(CampaignContact.campaign == campaign.id, CampaignContact.state == "pending")
             .order_by(CampaignContact.next_attempt_at, CampaignContact.id).first())
    if entry is None:
        return True  # nothing left to pay for: let the dialer complete it
    table = plans.table_of_tenant(campaign.tenant_id)
    rate = table.lookup(entry.phone) if table is not None else None
    if rate is None:
        return True  # the dialer marks it failed without spending anything
    return ledger.available(campaign.tenant_id) >= rating.call_cost(rate, rate.initial_s)


# -- event-loop side --------------------------------------------------------------------------

class CallCredit:
    """The credit of one call (or bridged leg) on the event loop: started when it answers,
    it keeps the reservation ahead of the talk time and cuts the call when that cannot
    grow; `settle` charges it when it is over. `cut` says we hung up for lack of credit."""

    def __init__(self, ctx, tenant_id: int, grant: Grant):
        self.ctx = ctx
        self.tenant_id = tenant_id
        self.grant = grant
        self.cut = False
        self.settled = False
        self._meter: asyncio.Task | None = None

    @property
    def max_seconds(self) -> int:
        return self.grant.max_seconds

    @property
    def covered_s(self) -> int:
        return self.grant.covered_s

    async def attach(self, call_id: int) -> None:
        """Link the reservation to the call's CDR opened after it: closing that CDR (through
        store.finish_call) settles the call."""
        await self.ctx.store.run(link_job, self.grant, call_id)

    def answered(self, on_cut) -> None:
        """The call is up: start metering. `on_cut()` (a coroutine function) hangs it up."""
        if self._meter is not None or self.settled:
            return
        if self.grant.reservation_id is None:  # free: nothing to extend, only the longest call
            loop = asyncio.get_running_loop()  # a timer, not a task, at a hundred calls a second
            self._meter = loop.call_later(cut_at(self.grant.covered_s),
                                          lambda: asyncio.ensure_future(self._cut(on_cut)))
            return
        self._meter = asyncio.create_task(self._run(on_cut),
                                          name=f"credit-{self.grant.reservation_id}")

    async def _run(self, on_cut) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        step = chunk_seconds(self.grant.rate)
        while True:
            covered = self.grant.covered_s
            await asyncio.sleep(max(0.0, start + extend_at(covered) - loop.time()))
            if await self.ctx.store.run(extend_job, self.grant, step) <= covered:
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
        return await self.ctx.store.run(settle_job, self.grant, call_id, billsec)


def for_call(ctx, tenant_id: int, call_id: int) -> CallCredit | None:
    """The CallCredit of a campaign call the admission check reserved for; None: not rated."""
    grant = grant_of(call_id)
    return None if grant is None else CallCredit(ctx, tenant_id, grant)


class Resumer:
    """Every `interval` seconds: campaigns paused for lack of credit whose tenant has topped
    up go back to running (called from the dialer's loop)."""

    def __init__(self, ctx, interval: float = 2.0):
        self.ctx = ctx
        self.interval = interval
        self._next = 0.0

    async def tick(self) -> list[int]:
        now = asyncio.get_running_loop().time()
        if now < self._next:
            return []
        self._next = now + self.interval
        resumed = await self.ctx.store.run(resume_paused_job)
        for campaign_id in resumed:
            log.info("campaign %s resumed: its tenant's credit covers calls again", campaign_id)
        return resumed


async def guard_leg(ctx, tenant_id: int, number: str, reference: str = "") -> CallCredit | None:
    """For a leg we dial out to the PSTN ourselves (a transfer): rate and reserve it like a
    campaign call. Returns its CallCredit (`max_seconds` says how long it may last now; call
    `answered(on_cut)` when it is up and `settle(cdr_id or None, billsec)` when it ends), None
    when no plan applies; raises NoRate or NoCredit, and then it must not be dialed."""
    grant = await ctx.store.run(authorize_leg_job, tenant_id, number,
                                reference or f"leg to {number}")
    return None if grant is None else CallCredit(ctx, tenant_id, grant)


_inbound_prices: dict[int, tuple[float, bool]] = {}


def inbound_charged_job(tenant_id: int) -> bool:
    plan = plans.plan_of_tenant(tenant_id)
    return plan is not None and inbound_rate(plan.inbound_per_minute) is not None


async def guard_inbound(ctx, tenant_id: int, reference: str, ttl: float = 5.0) -> CallCredit | None:
    """For an inbound call: None when the plan does not charge inbound minutes; NoCredit when
    it does and the tenant cannot pay the first second. Whether a plan charges inbound is
    cached briefly, so free inbound calls cost no database round trip."""
    now = asyncio.get_running_loop().time()
    hit = _inbound_prices.get(tenant_id)
    if hit is None or hit[0] < now:
        hit = _inbound_prices[tenant_id] = (now + ttl, await ctx.store.run(inbound_charged_job,
                                                                           tenant_id))
    if not hit[1]:
        return None
    grant = await ctx.store.run(authorize_inbound_job, tenant_id, reference)
    return None if grant is None else CallCredit(ctx, tenant_id, grant)
