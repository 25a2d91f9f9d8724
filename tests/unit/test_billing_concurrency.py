"""Parallel workers charging and paying at once leave the ledger and the cached balance
equal to the smallest unit, on SQLite (threads, each with its own connection) and on
PostgreSQL (threads and separate processes). PostgreSQL runs in its own database,
voxcast_billing_test, so it never meets the integration suite's; it is skipped only when
the server cannot be started."""
from __future__ import annotations

import multiprocessing
import random
import threading
from decimal import Decimal as D


import models
from models import Call, Tenant
from models.entities import CreditReservation, LedgerEntry
from tests.pg_support import pg_fixtures
from voxcast.billing import ledger

CHARGES, PAYMENTS, WORKERS = 1000, 50, 8
PG_DB = "voxcast_billing_test"


def plan(seed: int):
    """The same work every run: (op, amount, key) per task, split round-robin over workers.
    Every 10th charge goes through reserve + settle; every 25th is sent twice (the same
    CDR charged by two workers) to prove a CDR is charged once."""
    rng = random.Random(seed)
    tasks = [("charge", D(rng.randint(1, 99999)).scaleb(-4), i) for i in range(CHARGES)]
    tasks += [("payment", D(rng.randint(100, 500000)).scaleb(-2), i) for i in range(PAYMENTS)]
    tasks += [("charge", tasks[i][1], i) for i in range(0, CHARGES, 25)]  # duplicates
    rng.shuffle(tasks)
    return tasks


def expected_total(tasks, opening: D) -> D:
    charges = {key: amount for op, amount, key in tasks if op == "charge"}
    payments = sum(amount for op, amount, _ in tasks if op == "payment")
    return opening + payments - sum(charges.values())


def run_tasks(tenant_id: int, call_ids: dict[int, int], tasks) -> None:
    models.database.connect(reuse_if_open=True)
    try:
        for op, amount, key in tasks:
            if op == "payment":
                ledger.credit(tenant_id, amount, "payment", f"pay-{key}")
            elif key % 10 == 0:
                try:
                    res = ledger.reserve(tenant_id, D("0.0001"), f"call-{key}",
                                         call_id=call_ids[key])
                except ledger.InsufficientCredit:  # the balance ran below 0 for a moment
                    ledger.charge(tenant_id, amount, "call", call_id=call_ids[key])
                else:
                    ledger.settle(res, amount, call_ids[key], seconds=60)
            else:
                ledger.charge(tenant_id, amount, "call", call_id=call_ids[key])
    finally:
        models.database.close()


def setup_world(opening: D) -> tuple[int, dict[int, int]]:
    tenant = Tenant.create(name="busy", slug="busy")
    ledger.credit(tenant.id, opening, "opening", "start")
    calls = {}
    with models.database.atomic():
        for i in range(CHARGES):
            calls[i] = Call.create(tenant=tenant, number="+12025550100", channel_id=f"ch-{i}",
                                   billsec=60).id
    return tenant.id, calls


def check(tenant_id: int, tasks, opening: D) -> None:
    expected = expected_total(tasks, opening)
    assert ledger.balance(tenant_id) == expected
    assert ledger.ledger_sum(tenant_id) == expected
    entries = LedgerEntry.select().where(LedgerEntry.tenant == tenant_id)
    assert entries.where(LedgerEntry.kind == "call").count() == CHARGES
    assert entries.where(LedgerEntry.kind == "payment").count() == PAYMENTS
    # the running balances form one unbroken chain: no two transactions interleaved
    running = D("0")
    for entry in entries.order_by(LedgerEntry.id):
        running += entry.amount
        assert entry.balance_after == running, entry.id
    assert not CreditReservation.select().where(CreditReservation.released_at.is_null()).exists()
    costs = {c.id: c.cost for c in Call.select().where(Call.tenant == tenant_id)}
    assert all(cost is not None for cost in costs.values())


def in_threads(tenant_id, calls, tasks):
    errors = []

    def work(chunk):
        try:
            run_tasks(tenant_id, calls, chunk)
        except Exception as exc:  # reported below, with the worker's traceback lost
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(tasks[i::WORKERS],)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_given_parallel_threads_on_sqlite_then_ledger_and_balance_exact(db):
    opening = D("100")
    tenant_id, calls = setup_world(opening)
    tasks = plan(1)
    in_threads(tenant_id, calls, tasks)
    check(tenant_id, tasks, opening)


# -- PostgreSQL ----------------------------------------------------------------------------

pg_url, pg = pg_fixtures(PG_DB, "pg")


def test_given_parallel_threads_on_postgresql_then_ledger_and_balance_exact(pg):
    opening = D("100")
    tenant_id, calls = setup_world(opening)
    tasks = plan(2)
    in_threads(tenant_id, calls, tasks)
    check(tenant_id, tasks, opening)


def _process_worker(url, tenant_id, calls, tasks, errors):
    try:
        models.init_database(url)  # a connection of this process, not the parent's
        run_tasks(tenant_id, calls, tasks)
    except Exception as exc:
        errors.put(repr(exc))


def test_given_parallel_processes_on_postgresql_then_ledger_and_balance_exact(pg, pg_url):
    opening = D("5")
    tenant_id, calls = setup_world(opening)
    tasks = plan(3)
    models.database.close()
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(pg_url, tenant_id, calls,
                                                       tasks[i::WORKERS], errors))
             for i in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert all(p.exitcode == 0 for p in procs)
    assert errors.empty(), errors.get()
    models.database.connect(reuse_if_open=True)
    check(tenant_id, tasks, opening)


# -- the Stasis app's batched path beside the others ---------------------------------------

BATCHED, BATCH = 240, 6


def run_batches(tenant_id: int, call_ids: list[int], costs: dict[int, D]) -> None:
    """As the writer batches claims and closes: each batch reserves for several calls at once
    (ledger.authorize_calls) and settles them at once (ledger.settle_calls); a call the credit
    did not cover at that moment is charged on its own."""
    from voxcast.billing.rating import Rate
    rate = Rate("1", D("0.60"), D("0"), 1, 1)
    models.database.connect(reuse_if_open=True)
    try:
        for i in range(0, len(call_ids), BATCH):
            chunk = call_ids[i:i + BATCH]
            with models.database.atomic():
                auths = ledger.authorize_calls(tenant_id, [
                    ledger.CallWant(rate, f"call {c}", c, 30) for c in chunk])
            with models.database.atomic():
                ledger.settle_calls(tenant_id, [
                    ledger.CallSettlement(a.reservation_id, c, costs[c], 60)
                    for a, c in zip(auths, chunk)])
            for c in chunk[len(auths):]:
                ledger.charge(tenant_id, costs[c], "call", call_id=c)
    finally:
        models.database.close()


def _batched_world(opening: D):
    tenant_id, calls = setup_world(opening)
    with models.database.atomic():
        extra = [Call.create(tenant=tenant_id, number="+12025550100", channel_id=f"b-{i}",
                             billsec=60).id for i in range(BATCHED)]
    rng = random.Random(4)
    costs = {c: D(rng.randint(1, 99999)).scaleb(-4) for c in extra}
    return tenant_id, calls, extra, costs


def _batched_beside_others(tenant_id, calls, extra, costs, tasks):
    errors = []

    def work(target, *args):
        try:
            target(*args)
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(run_batches, tenant_id, extra[i::4], costs))
               for i in range(4)]
    threads += [threading.Thread(target=work, args=(run_tasks, tenant_id, calls,
                                                    tasks[i::WORKERS // 2]))
                for i in range(WORKERS // 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _check_batched(tenant_id, tasks, opening, extra, costs):
    expected = expected_total(tasks, opening) - sum(costs.values())
    assert ledger.balance(tenant_id) == expected == ledger.ledger_sum(tenant_id)
    running = D("0")
    for entry in LedgerEntry.select().where(LedgerEntry.tenant == tenant_id).order_by(
            LedgerEntry.id):
        running += entry.amount
        assert entry.balance_after == running, entry.id
    charged = LedgerEntry.select().where(LedgerEntry.call.in_(extra), LedgerEntry.kind == "call")
    assert charged.count() == BATCHED
    assert not CreditReservation.select().where(CreditReservation.released_at.is_null()).exists()
    assert all(Call.get_by_id(c).cost == costs[c] for c in extra)


def test_given_batched_reservations_beside_parallel_charges_on_sqlite_then_exact(db):
    opening = D("60")
    tenant_id, calls, extra, costs = _batched_world(opening)
    tasks = plan(5)
    _batched_beside_others(tenant_id, calls, extra, costs, tasks)
    _check_batched(tenant_id, tasks, opening, extra, costs)


def test_given_batched_reservations_beside_parallel_charges_on_postgresql_then_exact(pg):
    opening = D("60")
    tenant_id, calls, extra, costs = _batched_world(opening)
    tasks = plan(6)
    _batched_beside_others(tenant_id, calls, extra, costs, tasks)
    _check_batched(tenant_id, tasks, opening, extra, costs)
