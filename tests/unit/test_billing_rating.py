"""Rating: increments, connection fees, longest prefix, how long money lasts."""
from __future__ import annotations

import random
from decimal import Decimal as D

import pytest

from voxcast.billing.rating import (Rate, RateTable, billable_seconds, call_cost,
                                    max_seconds)


def test_given_60_60_increments_when_rated_then_every_started_minute_is_paid():
    rate = Rate("1", D("0.0200"))
    assert call_cost(rate, 0) == D("0")
    assert call_cost(rate, 1) == D("0.0200")
    assert call_cost(rate, 60) == D("0.0200")
    assert call_cost(rate, 61) == D("0.0400")
    assert call_cost(rate, 120) == D("0.0400")
    assert call_cost(rate, 121) == D("0.0600")


def test_given_30_6_increments_when_rated_then_initial_30s_then_6s_steps():
    rate = Rate("44", D("0.0600"), initial_s=30, increment_s=6)
    assert billable_seconds(rate, 1) == 30
    assert billable_seconds(rate, 30) == 30
    assert billable_seconds(rate, 31) == 36
    assert billable_seconds(rate, 36) == 36
    assert billable_seconds(rate, 37) == 42
    assert call_cost(rate, 10) == D("0.0300")
    assert call_cost(rate, 31) == D("0.0360")
    assert call_cost(rate, 37) == D("0.0420")


def test_given_1_1_increments_when_rated_then_per_second():
    rate = Rate("49", D("0.0600"), initial_s=1, increment_s=1)
    assert call_cost(rate, 1) == D("0.0010")
    assert call_cost(rate, 59) == D("0.0590")
    assert call_cost(rate, 61) == D("0.0610")


def test_given_connection_fee_when_answered_then_fee_plus_time_and_unanswered_costs_nothing():
    rate = Rate("33", D("0.0133"), connection_fee=D("0.05"), initial_s=30, increment_s=6)
    assert call_cost(rate, 0) == D("0")
    # 0.05 + 0.0133 * 30/60 = 0.05665 -> rounded half up to 4 places
    assert call_cost(rate, 1) == D("0.0567")
    assert call_cost(rate, 31) == D("0.0580")
    assert call_cost(rate, 0).as_tuple().exponent == -4
    assert call_cost(rate, 125).as_tuple().exponent == -4


def test_given_six_decimal_rate_when_rated_then_exact_against_decimal_arithmetic():
    rng = random.Random(5)
    for _ in range(2000):
        pm = D(rng.randint(0, 2_000_000)).scaleb(-6)
        fee = D(rng.randint(0, 100_000)).scaleb(-6)
        init, inc = rng.choice([(60, 60), (30, 6), (1, 1), (6, 6), (60, 1)])
        rate = Rate("1", pm, fee, init, inc)
        secs = rng.randint(0, 7200)
        billed = billable_seconds(rate, secs)
        expected = (fee + pm * billed / 60).quantize(D("0.0001"), "ROUND_HALF_UP") \
            if secs else D("0")
        assert call_cost(rate, secs) == expected, (rate, secs)


def test_given_money_when_max_seconds_then_longest_covered_call_on_increment_boundary():
    rate = Rate("44", D("0.0600"), connection_fee=D("0.0100"), initial_s=30, increment_s=6)
    assert max_seconds(rate, D("0.0399")) == 0  # the fee + first 30 s cost 0.04
    assert max_seconds(rate, D("0.04")) == 30
    assert max_seconds(rate, D("0.0459")) == 30
    assert max_seconds(rate, D("0.046")) == 36
    for available in (D("0.5"), D("1.2345"), D("10"), D("33.3333")):
        secs = max_seconds(rate, available)
        assert call_cost(rate, secs) <= available < call_cost(rate, secs + 1)
        assert (secs - 30) % 6 == 0


def test_given_free_rate_when_max_seconds_then_capped():
    assert max_seconds(Rate("800", D("0")), D("0"), cap=3600) == 3600
    assert max_seconds(Rate("800", D("0"), connection_fee=D("0.01")), D("0")) == 0


def test_given_overlapping_prefixes_when_lookup_then_longest_wins():
    table = RateTable([Rate("1", D("0.01")), Rate("1212", D("0.02")), Rate("12125", D("0.03")),
                       Rate("44", D("0.04")), Rate("447", D("0.10"))])
    assert table.lookup("+12125551234").per_minute == D("0.03")
    assert table.lookup("12125551234").per_minute == D("0.03")
    assert table.lookup("+12124551234").per_minute == D("0.02")
    assert table.lookup("+13125551234").per_minute == D("0.01")
    assert table.lookup("+447700900123").per_minute == D("0.10")
    assert table.lookup("+442071234567").per_minute == D("0.04")
    assert table.lookup("+33123456789") is None
    assert table.lookup("") is None
    assert table.lookup("+1").per_minute == D("0.01")
    assert table.cost("+447700900123", 61) == D("0.2000")
    assert table.cost("+33123456789", 61) is None


def test_given_large_table_when_lookup_then_matches_a_brute_force_search():
    rng = random.Random(7)
    prefixes = {str(rng.randint(1, 99999999))[: rng.randint(1, 8)] for _ in range(5000)}
    table = RateTable(Rate(p, D(len(p))) for p in prefixes)
    for _ in range(3000):
        number = str(rng.randint(10**9, 10**12))
        best = max((p for p in prefixes if number.startswith(p)), key=len, default=None)
        found = table.lookup(number)
        assert (found.prefix if found else None) == best


def test_given_bad_rate_when_built_then_refused():
    with pytest.raises(ValueError):
        Rate("1", D("-1"))
    with pytest.raises(ValueError):
        Rate("1", D("0.1"), increment_s=0)
    with pytest.raises(ValueError):
        RateTable([Rate("1a", D("0.1"))])


def test_given_many_cdrs_when_rated_in_bulk_then_same_as_one_by_one():
    rng = random.Random(11)
    rates = [Rate(str(rng.randint(1, 99999))[: rng.randint(1, 5)],
                  D(rng.randint(0, 999999)).scaleb(-6), D(rng.choice([0, 250])).scaleb(-4),
                  *rng.choice([(60, 60), (30, 6), (1, 1)])) for _ in range(500)]
    table = RateTable(rates)
    cdrs = [("+" * rng.randint(0, 1) + str(rng.randint(10**8, 10**11)), rng.randint(0, 999))
            for _ in range(5000)]
    for (number, billsec), units in zip(cdrs, table.rate_many(cdrs)):
        rate = table.lookup(number)
        assert (None if rate is None else call_cost(rate, billsec)) == \
            (None if units is None else D(units).scaleb(-4))
