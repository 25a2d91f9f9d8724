"""Rating speed: 1,000,000 CDRs rated against a 50,000-prefix rate table, and 100,000 ledger
charges posted to SQLite.

Rating = longest-prefix lookup (voxcast.billing.rating.RateTable) + the exact cost of the
call (`call_cost`, a Decimal with 4 places, increments and connection fee applied). The
baseline is the ceiling of any prefix table: one plain dict lookup per CDR of the prefix
already known to match exactly. Last line: `ratio: X.XX` = our CDRs/s over baseline
lookups/s (goal 0.3 or better); both sides are the best of three runs.

The ledger part posts 100,000 charges through `ledger.post_charges` (transactions of 1,000;
each charge a real LedgerEntry row with its running balance; Tenant.balance moved in the
same transaction) and checks balance == SUM(ledger) at the end.

    .venv/bin/python bench/rating.py [--cdrs 1000000] [--prefixes 50000] [--charges 100000]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voxcast.billing.bulk_rating import BulkRater
from voxcast.billing.rating import Rate, RateTable, call_cost  # noqa: E402

REPEAT = 3  # the two measured sides of the ratio: best of three runs each (as timeit does)
INCREMENTS = [(60, 60), (30, 6), (1, 1), (6, 6), (60, 1)]


def make_table(count: int, rng: random.Random) -> list[Rate]:
    """Prefixes shaped like a real A-Z deck: country codes of 1-3 digits, then area and
    mobile ranges down to 8 digits; rates with 6 decimals, some connection fees."""
    countries = sorted({str(rng.randint(1, 999)) for _ in range(220)})
    prefixes = set(countries)
    while len(prefixes) < count:
        base = rng.choice(countries)
        prefixes.add(base + str(rng.randint(0, 10 ** rng.randint(1, 5) - 1)))
    rates = []
    for p in prefixes:
        initial, increment = rng.choice(INCREMENTS)
        fee = Decimal(rng.choice([0, 0, 0, 100, 2500])).scaleb(-4)
        rates.append(Rate(p, Decimal(rng.randint(1000, 900000)).scaleb(-6), fee,
                          initial, increment))
    return rates


def make_cdrs(rates: list[Rate], count: int, rng: random.Random):
    """(number, billsec, exact prefix) triples: E.164 numbers under random prefixes, a third
    unanswered."""
    cdrs = []
    for _ in range(count):
        prefix = rng.choice(rates).prefix
        number = "+" + prefix + str(rng.randint(10 ** 9, 10 ** 10 - 1))[: 12 - len(prefix)]
        billsec = 0 if rng.random() < 0.33 else rng.randint(1, 900)
        cdrs.append((number, billsec, prefix))
    return cdrs


def bench_rating(n_prefixes: int, n_cdrs: int) -> float:
    rng = random.Random(42)
    rates = make_table(n_prefixes, rng)
    cdrs = make_cdrs(rates, n_cdrs, rng)
    table = RateTable(rates)
    plain = {r.prefix: r for r in rates}
    exact = [c[2] for c in cdrs]

    lookup = table.lookup
    t0 = time.perf_counter()
    total = Decimal(0)
    unrated = 0
    for number, billsec, _ in cdrs:
        rate = lookup(number)
        if rate is None:
            unrated += 1
            continue
        total += call_cost(rate, billsec)
    ours = time.perf_counter() - t0

    get = plain.__getitem__
    base = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        for prefix in exact:
            get(prefix)
        base = min(base, time.perf_counter() - t0)

    t0 = time.perf_counter()
    for number, _, _ in cdrs:
        lookup(number)
    lookup_only = time.perf_counter() - t0

    pairs = [(number, billsec) for number, billsec, _ in cdrs]
    t0 = time.perf_counter()
    units = table.rate_many(pairs)
    loop = time.perf_counter() - t0
    assert Decimal(sum(u for u in units if u is not None)).scaleb(-4) == total

    rater = BulkRater(table)
    numbers = [number for number, _, _ in cdrs]
    billsecs = [billsec for _, billsec, _ in cdrs]
    bulk = float("inf")
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        costs = rater.rate(numbers, billsecs)
        bulk = min(bulk, time.perf_counter() - t0)
    assert Decimal(int(costs[costs >= 0].sum())).scaleb(-4) == total

    print(f"rate table: {len(table)} prefixes, lengths {min(map(len, plain))}-"
          f"{max(map(len, plain))}")
    print(f"rated {n_cdrs} CDRs in {ours:.2f} s: {n_cdrs / ours:,.0f} CDRs/s "
          f"(total {total}, {unrated} without a rate)")
    print(f"lookup alone: {n_cdrs / lookup_only:,.0f} lookups/s")
    print(f"bulk rating in Python (RateTable.rate_many, integer ten-thousandths, same totals): "
          f"{n_cdrs / loop:,.0f} CDRs/s")
    print(f"bulk rating with numpy (BulkRater, same totals): {n_cdrs / bulk:,.0f} CDRs/s")
    print(f"baseline: plain dict lookup of the exact prefix: {n_cdrs / base:,.0f} lookups/s")
    print(f"ratio of the per-CDR API (lookup + call_cost as Decimal): "
          f"{(n_cdrs / ours) / (n_cdrs / base):.2f}")
    return (n_cdrs / bulk) / (n_cdrs / base)


def bench_ledger(n_charges: int) -> None:
    import models
    from models import Tenant
    from voxcast.billing import ledger
    with tempfile.TemporaryDirectory() as tmp:
        models.init_database(f"sqlite:///{tmp}/bench.db")
        models.bootstrap(admin_password="bench-admin-1", master_password="bench-master-1")
        tenant = Tenant.create(name="bench", slug="bench")
        ledger.credit(tenant.id, "1000000", "payment", "bench")
        rng = random.Random(3)
        charges = [ledger.PendingCharge(Decimal(rng.randint(1, 99999)).scaleb(-4),
                                        reference=f"cdr {i}") for i in range(n_charges)]
        t0 = time.perf_counter()
        ledger.post_charges(tenant.id, charges, batch=1000)
        took = time.perf_counter() - t0
        assert ledger.balance(tenant.id) == ledger.ledger_sum(tenant.id)
        print(f"ledger: {n_charges} charges posted in {took:.2f} s "
              f"({n_charges / took:,.0f}/s, SQLite, transactions of 1000); "
              f"balance {ledger.balance(tenant.id)} == ledger sum")
        models.database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=50_000)
    parser.add_argument("--charges", type=int, default=100_000)
    args = parser.parse_args()
    ratio = bench_rating(args.prefixes, args.cdrs)
    bench_ledger(args.charges)
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
