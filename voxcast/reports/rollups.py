"""The report rollups and live campaign counters as the domain sees them: rebuild them from
the raw tables (`voxcast reports rebuild`) and compare them with a full recount (the check
the rebuild command prints, and the tests' proof that the triggers keep them exact).

The rows themselves are kept by database triggers (models.rollups), in the transaction of
each change to a CDR, a campaign entry, a Voice Agent queue call or an agent state row."""
from __future__ import annotations

import time
from dataclasses import dataclass

from models import rollups as triggers
from models.db import database

# The columns that make a row of each table, key first; measures after.
SHAPES = {
    "campaign_tally": ("campaign_id, kind, key", "n"),
    "call_rollup": ("tenant_id, bucket, campaign_id, agent_id, direction, disposition",
                    "calls, answered, billsec, duration, cost"),
    "call_hour": ("tenant_id, bucket, campaign_id, direction",
                  "calls, answered, billsec, duration, cost"),
    "call_quarter": ("tenant_id, bucket, campaign_id, direction",
                     "calls, answered, billsec, duration, cost"),
    "agent_state_quarter": ("tenant_id, bucket, user_id, state, pause_reason_id", "ms"),
}


@dataclass(frozen=True)
class Rebuilt:
    seconds: float
    rows: dict[str, int]


def rebuild() -> Rebuilt:
    """Recompute every rollup and counter from the raw rows, in one transaction."""
    started = time.perf_counter()
    triggers.rebuild(database)
    rows = {t: database.execute_sql(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in SHAPES}
    return Rebuilt(time.perf_counter() - started, rows)


def snapshot() -> dict[str, set[tuple]]:
    """Every non-zero rollup row, as comparable tuples (costs and buckets normalised)."""
    out = {}
    for table, (keys, measures) in SHAPES.items():
        zero = " AND ".join(f"{m} = 0" for m in measures.split(", "))
        rows = database.execute_sql(f"SELECT {keys}, {measures} FROM {table} "
                                    f"WHERE NOT ({zero})").fetchall()
        out[table] = {tuple(_norm(v) for v in row) for row in rows}
    return out


def recount() -> dict[str, set[tuple]]:
    """What the rollups should hold now, recomputed from the raw tables (inside a
    transaction that is rolled back, so the live rows are left as they are)."""
    with database.atomic() as txn:
        triggers.rebuild(database)
        fresh = snapshot()
        txn.rollback()
    return fresh


def differences() -> dict[str, tuple[set, set]]:
    """{table: (rows only in the rollup, rows only in a recount)} for tables that differ."""
    live, fresh = snapshot(), recount()
    return {t: (live[t] - fresh[t], fresh[t] - live[t]) for t in SHAPES if live[t] != fresh[t]}


def _norm(value):
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")[:19]
    if isinstance(value, float) or type(value).__name__ == "Decimal":
        return round(float(value), 4)
    return value
