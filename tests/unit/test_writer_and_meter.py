"""The Stasis app's plumbing that tests through Asterisk would only reach by luck: the writer
thread's results, failures and fire-and-forget jobs, and the free call's cap timer, on
asyncio's loop and on uvloop (whose timer handles are not asyncio's)."""
from __future__ import annotations

import asyncio
import logging
import threading
from decimal import Decimal

import pytest
import uvloop

import datetime as dt

import models
from ari_app.meter import CallCredit, CreditMeter
from ari_app.tasks import TaskSet
from ari_app.writer import Writer
from models import Call, Tenant
from voxcast.billing import ledger, plans
from voxcast.billing.call_time import Grant
from voxcast.billing.rating import Rate

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def _run(loop_name: str, coro):
    """Runs on a thread of its own: earlier tests in the session (Playwright's sync API) leave
    a loop registered as running on the main thread, and a second loop refuses to start there."""
    box: dict = {}

    def work():
        loop = LOOPS[loop_name]()
        try:
            box["result"] = loop.run_until_complete(coro)
        except BaseException as error:  # handed back to the test's thread
            box["error"] = error
        finally:
            loop.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.fixture
def store(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    models.create_schema()
    plans._cache.clear()  # plan ids repeat across throwaway databases
    writer = Writer()
    yield writer
    writer.close()
    models.database.close()


def _boom():
    raise ValueError("bad input")


def _note(key: str) -> None:
    models.SystemStatus.create(key=key, value="x")


@pytest.mark.parametrize("loop_name", LOOPS)
def test_results_failures_and_queued_jobs_keep_their_order(store, loop_name, caplog):
    async def go():
        store.post(_note, "first")
        store.post(_boom)  # nobody waits: logged, and the jobs after it still run
        return await asyncio.gather(
            store.run(lambda: models.SystemStatus.select().count()), store.run(_boom),
            store.run(lambda: "ok"), return_exceptions=True)

    with caplog.at_level(logging.ERROR, logger="voxcast.writer"):
        count, error, ok = _run(loop_name, go())
    assert count == 1 and ok == "ok"  # a rolled-back batch re-runs its jobs: still one row
    assert isinstance(error, ValueError) and str(error) == "bad input"
    assert "_boom" in caplog.text  # the queued job's failure is not silent


def test_a_call_closed_in_a_batch_that_rolls_back_is_still_settled(store):
    """Settling forgets the call's Grant only after commit: in the re-run of a rolled-back
    batch the Grant is still there, so the charge is not lost."""
    from tests.unit.test_billing_credit import NOW, App, _campaign, _open_reserved, _tenant

    app = App()
    tenant = _tenant("1.00")
    (claim,) = app.claims.claim_due(_campaign(tenant, ["+15550000001"]).id, 1, now=NOW)
    ended = NOW + dt.timedelta(seconds=10)
    batch = [(lambda: app.cdrs.finish_call(claim.call_id, NOW, ended, 16, "Normal"), None),
             (_boom, None)]
    store._run_batch(batch)  # on this thread, as the writer would run it

    assert Call.get_by_id(claim.call_id).cost == Decimal("0.10")
    assert _open_reserved(tenant) == 0 and app.billing.grant_of(claim.call_id) is None
    tenant = Tenant.get_by_id(tenant.id)
    assert tenant.balance == Decimal("0.90") == ledger.ledger_sum(tenant.id)


@pytest.mark.parametrize("loop_name", LOOPS)
def test_a_free_call_is_cut_at_its_cap_and_a_stopped_one_is_not(loop_name):
    free = Rate("1", Decimal("0"), Decimal("0"), 1, 1)

    async def go():
        cuts = []

        async def on_cut():
            cuts.append("cut")

        meter = CreditMeter(writer=None, billing=None, tasks=TaskSet())  # a free call needs neither
        capped = CallCredit(meter, 1, Grant(None, free, 1, 1))
        stopped = CallCredit(meter, 1, Grant(None, free, 1, 1))
        capped.answered(on_cut)
        stopped.answered(on_cut)
        stopped.stop()
        await asyncio.sleep(1.0)  # the cap is 1 s less CUT_EARLY_S
        capped.stop()  # after the cut: harmless
        return cuts, capped.cut, stopped.cut

    cuts, capped_cut, stopped_cut = _run(loop_name, go())
    assert cuts == ["cut"] and capped_cut and not stopped_cut
