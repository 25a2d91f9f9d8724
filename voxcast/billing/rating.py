"""Pure rating: which rate applies to a number, what a call costs, how long money lasts.

No database here, so the Stasis app, the benchmark and the tests use the same arithmetic.
Money is Decimal quantized to 4 places (ROUND_HALF_UP); rates may carry 6 decimals.
Billing model: an answered call (billsec > 0) pays the connection fee plus the initial
increment, then every started further increment; an unanswered call (billsec 0) costs 0."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

CENT4 = Decimal("0.0001")
ZERO = Decimal("0")
MAX_CALL_SECONDS = 86400  # a free rate still does not allow an endless call


@dataclass(frozen=True)
class Rate:
    prefix: str
    per_minute: Decimal
    connection_fee: Decimal = ZERO
    initial_s: int = 60
    increment_s: int = 60
    description: str = ""
    # Exact integer form of the prices in millionths, for fast exact arithmetic.
    _pm_micro: int = field(default=0, init=False, repr=False, compare=False)
    _fee_micro: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self):
        per_minute = Decimal(str(self.per_minute))
        fee = Decimal(str(self.connection_fee or 0))
        if not per_minute.is_finite() or per_minute < 0 or not fee.is_finite() or fee < 0:
            raise ValueError("rates and fees are finite amounts of 0 or more")
        if int(self.initial_s) < 1 or int(self.increment_s) < 1:
            raise ValueError("initial and increment are at least 1 second")
        object.__setattr__(self, "per_minute", per_minute)
        object.__setattr__(self, "connection_fee", fee)
        object.__setattr__(self, "initial_s", int(self.initial_s))
        object.__setattr__(self, "increment_s", int(self.increment_s))
        object.__setattr__(self, "_pm_micro", _micro(per_minute))
        object.__setattr__(self, "_fee_micro", _micro(fee))


def _micro(value: Decimal) -> int:
    """Millionths, rounded half up: rates with more than 6 decimals are not meaningful."""
    return int((value * 1000000).to_integral_value(rounding=ROUND_HALF_UP))


def billable_seconds(rate: Rate, billsec: int) -> int:
    """The seconds a call is billed for: 0 when unanswered, at least the initial increment,
    then rounded up to whole increments."""
    if billsec <= 0:
        return 0
    first = rate.initial_s
    if billsec <= first:
        return first
    inc = rate.increment_s
    return first + -(-(billsec - first) // inc) * inc


def cost_units(rate: Rate, billsec: int) -> int:
    """The cost in ten-thousandths (the smallest money unit), exact integer arithmetic."""
    billed = billable_seconds(rate, billsec)
    if billed == 0:
        return 0
    # micro * 60 * 100 = units of 1/(6000 * 10000)... half-up division by 600000
    numerator = rate._fee_micro * 60 + rate._pm_micro * billed
    return (numerator * 2 + 6000) // 12000


def call_cost(rate: Rate, billsec: int) -> Decimal:
    """What an answered call of `billsec` seconds costs (0 for billsec 0), 4 decimals."""
    return Decimal(cost_units(rate, billsec)).scaleb(-4).quantize(CENT4)


def max_seconds(rate: Rate, available: Decimal, cap: int = MAX_CALL_SECONDS) -> int:
    """The longest call (in seconds, on an increment boundary) whose cost is covered by
    `available`; 0 when not even the connection fee and first increment are; at most `cap`."""
    units = int((Decimal(str(available)) * 10000).to_integral_value(rounding="ROUND_FLOOR"))
    if units < cost_units(rate, 1):
        return 0
    if rate._pm_micro == 0:
        return cap
    first, inc = rate.initial_s, rate.increment_s
    # Estimate the number of further increments, then correct for rounding either way.
    budget_micro = units * 100 - rate._fee_micro
    n = max(0, (budget_micro * 60 // rate._pm_micro - first) // inc)
    while n > 0 and cost_units(rate, first + n * inc) > units:
        n -= 1
    while cost_units(rate, first + (n + 1) * inc) <= units and first + n * inc < cap:
        n += 1
    return min(first + n * inc, cap)


class RateTable:
    """Rates by destination prefix; the longest matching prefix wins.

    One dict keyed by prefix string and the list of prefix lengths present, tried from the
    longest down: a lookup is a handful of slices and hash probes, whatever the table size."""

    __slots__ = ("_by_prefix", "_lengths", "__weakref__")

    def __init__(self, rates: Iterable[Rate] = ()):
        self._by_prefix: dict[str, Rate] = {}
        for rate in rates:
            prefix = rate.prefix.lstrip("+")
            if not prefix.isdigit():
                raise ValueError(f"prefix {rate.prefix!r} is not digits")
            self._by_prefix[prefix] = rate
        self._lengths = tuple(sorted({len(p) for p in self._by_prefix}, reverse=True))

    def __len__(self) -> int:
        return len(self._by_prefix)

    def rates(self) -> list[Rate]:
        return list(self._by_prefix.values())

    def lookup(self, number: str) -> Rate | None:
        if number[:1] == "+":
            number = number[1:]
        get = self._by_prefix.get
        for length in self._lengths:  # a slice past the end is the whole number: still right
            rate = get(number[:length])
            if rate is not None:
                return rate
        return None

    def rate_many(self, cdrs: Iterable[tuple[str, int]]) -> list[int | None]:
        """Cost in ten-thousandths of each (number, billsec), None without a rate: the
        lookup and cost_units inlined in one loop, for rating CDRs in bulk (re-rating, CDR
        imports, the benchmark). Same results as cost_units(lookup(n), s)."""
        get = self._by_prefix.get
        lengths = self._lengths
        out: list[int | None] = []
        append = out.append
        for number, billsec in cdrs:
            if number[:1] == "+":
                number = number[1:]
            for length in lengths:
                rate = get(number[:length])
                if rate is not None:
                    break
            else:
                append(None)
                continue
            if billsec <= 0:
                append(0)
                continue
            first = rate.initial_s
            if billsec > first:
                inc = rate.increment_s
                first += -(-(billsec - first) // inc) * inc
            append(((rate._fee_micro * 60 + rate._pm_micro * first) * 2 + 6000) // 12000)
        return out

    def cost(self, number: str, billsec: int) -> Decimal | None:
        """The cost of a call to `number`, None when no rate covers it."""
        rate = self.lookup(number)
        return None if rate is None else call_cost(rate, billsec)
