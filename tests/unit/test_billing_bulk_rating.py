"""numpy bulk rating gives exactly what the per-CDR Python rating gives."""
from __future__ import annotations

import random
from decimal import Decimal

from voxcast.billing.bulk_rating import BulkRater
from voxcast.billing.rating import Rate, RateTable


def _table(rng: random.Random) -> RateTable:
    rates = []
    for p in {str(rng.randint(1, 99999999))[: rng.randint(1, 8)] for _ in range(3000)}:
        initial, inc = rng.choice([(60, 60), (30, 6), (1, 1), (6, 6)])
        rates.append(Rate(p, Decimal(rng.randint(1, 900000)).scaleb(-6),
                          Decimal(rng.choice([0, 100, 2500])).scaleb(-4), initial, inc))
    return RateTable(rates)


def test_bulk_rating_matches_the_exact_path_on_every_kind_of_number():
    rng = random.Random(7)
    table = _table(rng)
    numbers = []
    for _ in range(20000):
        digits = str(rng.randint(10 ** 10, 10 ** 12))
        numbers.append(rng.choice(["+" + digits, digits, "+" + digits[:rng.randint(1, 6)]]))
    numbers += ["+", "", "+12ab34567", "0049301234567", "+9" * 3]
    billsecs = [rng.choice([0, 1, 5, 29, 30, 31, 59, 60, 61, 3600]) for _ in numbers]
    expected = [-1 if u is None else u for u in table.rate_many(zip(numbers, billsecs))]
    assert BulkRater(table).rate(numbers, billsecs).tolist() == expected


def test_non_ascii_input_falls_back_to_the_exact_path():
    table = RateTable([Rate("49", Decimal("0.012")), Rate("4930", Decimal("0.02"))])
    numbers, billsecs = ["+49301234567", "+49٣٠١", "+44"], [60, 60, 60]
    expected = [-1 if u is None else u for u in table.rate_many(zip(numbers, billsecs))]
    assert BulkRater(table).rate(numbers, billsecs).tolist() == expected == [200, 120, -1]
