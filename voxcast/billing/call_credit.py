"""Billing at call time, the database part: a call is placed only with its first increment
reserved, its reservation grows in chunks while it runs, and it is settled (charged, rest
released) when its CDR closes.

CallBilling is one object, built once by the Stasis app (ari_app.main) and handed to its
admission gates, CDR close and meter; every method runs on the app's writer thread, so each
check-and-reserve is serialised and parallel calls cannot spend the same money. It is an
admission gate (screen: destinations without a rate; admit: reserve; finished: settle). A
tenant without any plan (none of its own, no default plan) is not rated; once a plan applies,
a destination without a rate is not dialed."""
from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from models.db import node_name
from models import Call, Campaign, CampaignContact, Tenant, database, txn
from models.entities import CreditReservation
from models.prepared import statements
from voxcast.campaigns import lifecycle

from . import ledger, plans, rating
from .call_time import (NO_CREDIT, NO_RATE, Grant, NoCredit, NoRate, billed_seconds,
                        chunk_seconds, inbound_rate, is_free)
from .rating import Rate

log = logging.getLogger("voxcast.credit")


class CallBilling:
    def __init__(self):
        # Grants of the calls in progress, by CDR id. Written and read on the writer thread
        # (admission, extensions, settlement); the event loop only reads its call's Grant.
        self._live: dict[int, Grant] = {}
        # CDRs still open whose reservation an earlier run of the app made (found by
        # reconcile at start): closing one settles it; other calls without a Grant have
        # nothing to settle.
        self._adopted: set[int] = set()

    def grant_of(self, call_id: int) -> Grant | None:
        return self._live.get(call_id)

    # -- reserving ----------------------------------------------------------------------------
    def authorize(self, tenant_id: int, rate: Rate, reference: str,
                  call_id: int | None = None) -> Grant:
        """Reserve the first increment of a call at `rate`; NoCredit when it is not covered.
        A free rate reserves nothing: no money moves, so no ledger row and no lock on the
        tenant (this keeps the writer thread free on plans that leave destinations unpriced)."""
        if is_free(rate):
            grant = Grant(None, rate, rating.MAX_CALL_SECONDS, rating.MAX_CALL_SECONDS)
            if call_id is not None:
                self._live[call_id] = grant
            return grant
        auths = ledger.authorize_calls(tenant_id, [ledger.CallWant(rate, reference, call_id,
                                                                  chunk_seconds(rate))])
        if not auths:
            raise NoCredit(f"tenant {tenant_id}: not enough credit for a call")
        covered = auths[0].covered_s or rate.initial_s
        grant = Grant(auths[0].reservation_id, rate, min(covered, auths[0].max_seconds),
                      auths[0].max_seconds, int(tenant_id))
        if call_id is not None:  # reserved for that CDR already
            self._live[call_id] = grant
        return grant

    def authorize_number(self, tenant_id: int, number: str, reference: str,
                         table: rating.RateTable | None = None,
                         call_id: int | None = None) -> Grant | None:
        """Rate and authorize a call to `number`: the Grant, None when no plan applies,
        NoRate when the plan has no rate for it, NoCredit when the credit does not cover it."""
        if table is None:
            table = plans.table_of_tenant(tenant_id)
            if table is None:
                return None
        rate = table.lookup(number)
        if rate is None:
            raise NoRate(NO_RATE)
        return self.authorize(tenant_id, rate, reference, call_id)

    def authorize_leg(self, tenant_id: int, number: str, reference: str) -> Grant | None:
        return self.authorize_number(tenant_id, number, reference)

    def inbound_charged(self, tenant_id: int) -> bool:
        plan = plans.plan_of_tenant(tenant_id)
        return plan is not None and inbound_rate(plan.inbound_per_minute) is not None

    def authorize_inbound(self, tenant_id: int, reference: str) -> Grant | None:
        """Reserve for an inbound call when the tenant's plan charges inbound minutes."""
        plan = plans.plan_of_tenant(tenant_id)
        rate = inbound_rate(plan.inbound_per_minute) if plan is not None else None
        return None if rate is None else self.authorize(tenant_id, rate, reference)

    def link(self, grant: Grant, call_id: int) -> None:
        """Tie a reservation to its CDR: closing the CDR settles it."""
        if grant.reservation_id is not None:
            CreditReservation.update(call=call_id).where(
                CreditReservation.id == grant.reservation_id).execute()
        self._live[call_id] = grant

    def extend(self, grant: Grant, want_s: int) -> int:
        """Grow the reservation by up to `want_s` seconds of talk, as far as this call's share
        of the available credit goes (whole increments); returns the seconds now covered
        (unchanged: no credit left)."""
        if grant.reservation_id is None:  # free: covered to the longest call already
            return grant.covered_s
        if grant.tenant_id is not None and not is_free(grant.rate):  # the same, in fewer queries
            target = min(grant.covered_s + want_s, rating.MAX_CALL_SECONDS)
            grant.covered_s = ledger.extend_call(grant.tenant_id, grant.reservation_id,
                                                 grant.rate, grant.covered_s, target)
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
        # Parallel calls share what is left: each takes its part, so one call does not run
        # on while the others are cut; below one increment's worth it takes one increment.
        calls = (CreditReservation.select().where(CreditReservation.tenant == res.tenant_id,
                                                  CreditReservation.released_at.is_null())
                 .count())
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

    # -- admission gate -----------------------------------------------------------------------
    def screen(self, entries: list, campaign_id: int, now) -> list:
        """Claim-time filter (like DNC): contacts whose destination the tenant's plan has no
        rate for are marked failed with a CDR saying "no rate for destination", never dialed."""
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

    def admit(self, claims: list) -> tuple[list, lifecycle.Cause | None]:
        """Reserve each claimed call's first increment, in order; once the credit does not
        cover one, it and the rest are refused (put back) and the campaign is paused for
        NO_CREDIT, to resume by itself after a top-up. All the claim's reservations are made
        together (ledger.authorize_calls: one locked balance read, one INSERT). The calls of
        a campaign billed per page (fax: PER_PAGE_TYPES) need their rate but reserve nothing
        and are settled at 0: the pages sent are charged on their Message."""
        table = plans.table_of_tenant(claims[0].tenant_id)
        if table is None:
            return [], None
        per_page = billed_per_page(claims[0].campaign_id)
        rates, wants, no_rate_at = [], [], len(claims)
        for i, claim in enumerate(claims):
            rate = table.lookup(claim.phone)
            if rate is None:  # the rate went away since screen: this and the rest later
                no_rate_at = i
                break
            rates.append(rate)
            if per_page:  # allowed by the plan, but its minutes are not charged
                continue
            if not is_free(rate):
                wants.append((i, ledger.CallWant(rate, f"call {claim.call_id} to {claim.phone}",
                                                 claim.call_id, chunk_seconds(rate))))
        auths = ledger.authorize_calls(claims[0].tenant_id, [w for _, w in wants])
        refused_at = wants[len(auths)][0] if len(auths) < len(wants) else no_rate_at
        grants = {}
        paid = iter(auths)
        for claim, rate in zip(claims[:refused_at], rates):
            if per_page or is_free(rate):  # nothing reserved: settled at 0 (the CDR's cost)
                grants[claim.call_id] = Grant(None, rate, rating.MAX_CALL_SECONDS,
                                              rating.MAX_CALL_SECONDS)
                continue
            auth = next(paid)
            covered = auth.covered_s or rate.initial_s
            grants[claim.call_id] = Grant(auth.reservation_id, rate,
                                          min(covered, auth.max_seconds), auth.max_seconds,
                                          claim.tenant_id)
        # Known to the meter once the claim commits (a rolled-back claim is re-run).
        txn.after_commit(lambda: self._live.update(grants))
        if refused_at == len(claims):
            return [], None
        if refused_at == no_rate_at:
            return claims[refused_at:], None
        lifecycle.pause_for(claims[refused_at].campaign_id, NO_CREDIT)
        return claims[refused_at:], NO_CREDIT

    def finished(self, call_id: int, billsec: int | None = None) -> None:
        """Inside the transaction that closes the CDR: charge the call and release the rest
        of its reservation (or all of it when unanswered). In the writer, the settlements of
        a batch's closed calls are gathered (models.txn.gather) and made per tenant just
        before the batch commits."""
        grant = self._live.get(call_id)  # forgotten by settle once its transaction commits
        if grant is not None and grant.reservation_id is None:
            self.settle(grant, call_id, billsec)  # free: one UPDATE, nothing that can fail
            return
        if grant is not None and grant.tenant_id is not None:
            txn.gather(self._settle_gathered, (grant, call_id, billsec))
            return
        try:
            with database.atomic():  # a billing failure never keeps the CDR from closing
                if grant is not None:
                    self.settle(grant, call_id, billsec)
                elif call_id in self._adopted:  # reserved by an earlier run: rated now,
                    txn.after_commit(lambda: self._adopted.discard(call_id))  # as credit allows
                    self.reconcile(call_id)
        except Exception:
            log.exception("settling call %s failed; its reservation is settled at the next "
                          "start", call_id)

    def _settle_gathered(self, items: list[tuple[Grant, int, int | None]]) -> None:
        """The settlements of closed calls, per tenant (in tenant id order, so transactions
        that lock several tenants lock them in one order): ledger.settle_calls. The billed
        seconds are read off the Grants now, after the batch's extensions. In a savepoint: a
        billing failure never keeps the CDRs from closing; then each call is tried alone, and
        one that still fails is logged and settled at the next start (reconcile)."""
        by_tenant: dict[int, list] = {}
        for grant, call_id, billsec in items:
            txn.after_commit(lambda call_id=call_id: self._live.pop(call_id, None))
            if billsec is None:
                call = Call.get_or_none(Call.id == call_id)
                billsec = call.billsec if call is not None and call.answered_at else 0
            seconds = billed_seconds(billsec, grant.covered_s)
            cost = rating.call_cost(grant.rate, seconds) if seconds > 0 else None
            by_tenant.setdefault(grant.tenant_id, []).append(ledger.CallSettlement(
                grant.reservation_id, call_id, cost,
                rating.billable_seconds(grant.rate, seconds) if seconds > 0 else 0))
        try:
            with database.atomic():
                for tenant_id in sorted(by_tenant):
                    ledger.settle_calls(tenant_id, by_tenant[tenant_id])
        except Exception:
            if len(items) == 1:
                log.exception("settling call %s failed; its reservation is settled at the "
                              "next start", items[0][1])
                return
            log.warning("settling %s calls together failed; settling each alone", len(items))
            for item in items:
                self._settle_gathered([item])

    # -- settling -----------------------------------------------------------------------------
    def settle(self, grant: Grant, call_id: int | None, billsec: int | None = None
               ) -> Decimal | None:
        """Charge what the call cost and release the rest of its reservation, or release all
        of it when the call was not answered. `billsec` defaults to the CDR's. The cost."""
        if call_id is not None:  # not before: a rolled-back batch runs this job again
            txn.after_commit(lambda: self._live.pop(call_id, None))
        if billsec is None:
            call = Call.get_or_none(Call.id == call_id) if call_id is not None else None
            billsec = call.billsec if call is not None and call.answered_at else 0
        seconds = billed_seconds(billsec, grant.covered_s)
        if grant.reservation_id is None:  # free destination: rated at 0, nothing to post
            if seconds > 0 and call_id is not None:
                database.execute_sql(statements().free, (call_id,))
            return Decimal("0") if seconds > 0 else None
        if seconds <= 0:
            ledger.release(grant.reservation_id)
            return None
        cost = rating.call_cost(grant.rate, seconds)
        ledger.settle(grant.reservation_id, cost, call_id, kind="call",
                      seconds=rating.billable_seconds(grant.rate, seconds))
        return cost

    def reconcile(self, call_id: int | None = None, node: str | None = None) -> int:
        """Close reservations an earlier run of the app left open: without a CDR (crashed
        before the call was placed) they are released, with a closed CDR settled at its rated
        cost (never more than reserved plus what is available), with an open CDR left until
        that call is closed (then this runs again for it). Returns how many were closed."""
        query = CreditReservation.select().where(CreditReservation.released_at.is_null())
        if call_id is not None:
            query = query.where(CreditReservation.call == call_id)
        else:  # a node's own (or, taking a dead node over, that node's), never a live one's
            query = query.where(CreditReservation.node == (node_name() if node is None
                                                            else node))
        closed = 0
        for res in list(query):
            call = Call.get_or_none(Call.id == res.call_id) if res.call_id else None
            if call is None:
                ledger.release(res.id)
            elif call.ended_at is None:
                if call.id not in self._live:  # an earlier run's call: settled when it closes
                    self._adopted.add(call.id)
                continue
            else:
                rate = _rate_of_call(call)
                if rate is None or not call.answered_at or call.billsec <= 0:
                    ledger.release(res.id)
                else:
                    cost = rating.call_cost(rate, call.billsec)
                    cap = Decimal(res.amount) + max(ledger.available(res.tenant_id),
                                                    Decimal("0"))
                    ledger.settle(res.id, min(cost, cap), call.id, kind="call",
                                  seconds=rating.billable_seconds(rate, call.billsec))
            closed += 1
        return closed

    def resume_paused(self) -> list[int]:
        """Campaigns paused for lack of credit (and only those) whose tenant can now pay the
        first increment of their next contact's call (fax: its pages) go back to running.
        SMS and e-mail campaigns are left to their Dispatcher (DISPATCHER_RESUMED). Their ids."""
        resumed = []
        paused = (lifecycle.paused_for(NO_CREDIT.code).join(Tenant)
                  .where(Tenant.status == "active",
                         Campaign.type.not_in(sorted(DISPATCHER_RESUMED))))
        for campaign in list(paused):
            if not _affordable_next(campaign):
                continue
            if lifecycle.resume_paused(campaign.id, NO_CREDIT.code):
                resumed.append(campaign.id)
        return resumed


def _rate_of_call(call: Call) -> Rate | None:
    if call.direction == "inbound":
        plan = plans.plan_of_tenant(call.tenant_id)
        return inbound_rate(plan.inbound_per_minute) if plan is not None else None
    table = plans.table_of_tenant(call.tenant_id)
    return None if table is None else table.lookup(call.number)


def fail_unrated(entry, campaign_id: int, now) -> None:
    """A contact whose destination has no rate: failed, with a CDR saying why; not dialed."""
    (CampaignContact.update(state="failed", last_disposition="FAILED",
                            attempts=CampaignContact.attempts + 1)
     .where(CampaignContact.id == entry.id).execute())
    Call.create(tenant=entry.tenant_id, campaign=campaign_id, contact=entry.contact_id,
                entry=entry.id, direction="outbound", number=entry.phone,
                channel_id=f"vx-norate-{uuid.uuid4().hex}", started_at=now,
                ended_at=now, disposition="FAILED", cause_txt=NO_RATE, cost=Decimal("0"))


# Message campaigns without calls: their Dispatcher judges and resumes them
# (voxcast.messaging.dispatch.Dispatcher.resume_affordable, called by the messaging process);
# the next contact's voice rate says nothing about what their next message costs.
DISPATCHER_RESUMED = frozenset({"sms", "email"})

# Campaign types whose calls carry no minute charge: a fax campaign is billed per page sent
# (voxcast.messaging.fax.records), its calls only need a rate for the destination to exist.
PER_PAGE_TYPES = frozenset({"fax"})


def billed_per_page(campaign_id: int) -> bool:
    """Whether the calls of this campaign are billed per page instead of per minute."""
    kind = Campaign.select(Campaign.type).where(Campaign.id == campaign_id).scalar()
    return kind in PER_PAGE_TYPES


def _affordable_next(campaign: Campaign) -> bool:
    entry = (CampaignContact.select(CampaignContact.phone)
             .where(CampaignContact.campaign == campaign.id, CampaignContact.state == "pending")
             .order_by(CampaignContact.next_attempt_at, CampaignContact.id).first())
    if entry is None:
        return True  # nothing left to pay for: let the dialer complete it
    if campaign.type in PER_PAGE_TYPES:  # only the pages of its document are charged
        from voxcast.messaging.fax.records import pages_affordable
        return pages_affordable(campaign.tenant_id, campaign.fax_document_id)
    table = plans.table_of_tenant(campaign.tenant_id)
    rate = table.lookup(entry.phone) if table is not None else None
    if rate is None:
        return True  # the dialer marks it failed without spending anything
    if ledger.available_seconds(campaign.tenant_id) >= rate.initial_s:
        return True  # free or included minutes cover its first increment
    return ledger.available(campaign.tenant_id) >= rating.call_cost(rate, rate.initial_s)
