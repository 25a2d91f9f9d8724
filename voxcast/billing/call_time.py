"""Billing at call time, the pure part: how far a reservation reaches, when it grows, when a
call is cut and what is charged. No database, no event loop (voxcast.billing.call_credit does
the reservations, ari_app.meter the timers)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from voxcast.campaigns import lifecycle

from .rating import Rate

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
    tenant_id: int | None = None  # known: its settlement can join its tenant's batch


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
