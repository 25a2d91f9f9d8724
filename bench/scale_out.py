"""How many nodes one PostgreSQL can feed (issue 16's benchmark).

The dialer's claim, place and close path (tests/cluster_worker.py: the Stasis app's writer,
claims with FOR UPDATE SKIP LOCKED, the DNC, cluster channel and billing gates, the CDR close
with its rollup triggers) runs in 1, 2, 4 and 8 processes, each a node of its own, against one
PostgreSQL and one campaign of 200,000 contacts with channel limits on; Asterisk is replaced
by an immediate answer and hang-up. Each step runs for --seconds on the same campaign (its
contacts are plenty for all four). Prints calls per second per step, contacts claimed twice
(must be 0), and last `ratio: X.XX`: the 8-process rate over the originate rate one real node
sustains in bench/outbound_dialer.py, run first in the same session (goal: 20 or more).

Usage: python bench/scale_out.py [--contacts 200000] [--seconds 20] [--limit 400]
       [--node-rate N (skip the real-node run and take N calls/s)]
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def real_node_rate() -> float:
    """bench/outbound_dialer.py's sustained originate rate (a real Asterisk and sipp)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench/outbound_dialer.py")],
                         capture_output=True, text=True, timeout=1800, cwd=ROOT)
    print(out.stdout.strip())
    found = re.search(r"sustained originate rate: ([\d.]+)", out.stdout)
    if not found:
        raise SystemExit(f"outbound_dialer.py gave no rate:\n{out.stderr[-2000:]}")
    return float(found.group(1))


def prepare(url: str, contacts: int, limit: int) -> int:
    import models
    from models import Campaign, CampaignContact, Contact, ContactGroup, Tenant
    from tests.pg_support import fresh_schema

    fresh_schema(url)
    tenant = Tenant.create(name="Scale", slug="scale", channel_limit=limit)
    group = ContactGroup.create(tenant=tenant, name="all")
    campaign = Campaign.create(tenant=tenant, name="scale-out", group=group, status="running",
                               channel_limit=limit, max_attempts=1)
    due = dt.datetime(2026, 1, 1, 12, 0)
    step = 5000
    for start in range(0, contacts, step):
        with models.database.atomic():
            rows = Contact.insert_many(
                [{"tenant": tenant.id, "group": group.id, "phone": f"+1202{i:07d}"}
                 for i in range(start, min(contacts, start + step))]).returning(
                Contact.id, Contact.phone).execute()
            CampaignContact.insert_many(
                [{"tenant": tenant.id, "campaign": campaign.id, "contact": r.id,
                  "phone": r.phone, "next_attempt_at": due} for r in rows]).execute()
    models.database.close()
    return campaign.id


def step(url: str, campaign_id: int, processes: int, seconds: float, first: int) -> float:
    from tests.cluster_worker import run_node

    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    procs = [spawn.Process(target=run_node, args=(url, f"bench-{first + i}", campaign_id),
                           kwargs={"batch": 50, "deadline_s": seconds, "out": out,
                                   "watch_peak": False})
             for i in range(processes)]
    for p in procs:
        p.start()
    runs = [out.get(timeout=seconds + 300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    calls = sum(r.calls for r in runs)
    longest = max(r.seconds for r in runs)
    return calls / longest


def twice(url: str) -> tuple[int, int, int]:
    """(contacts with more than one CDR, CDRs left open, calls in all)."""
    from peewee import fn

    import models
    from models import Call

    models.init_database(url)
    per_entry = (Call.select(Call.entry, fn.COUNT(Call.id).alias("n")).group_by(Call.entry)
                 .having(fn.COUNT(Call.id) > 1))
    doubled = per_entry.count()
    open_ = Call.select().where(Call.ended_at.is_null()).count()
    total = Call.select().count()
    models.database.close()
    return doubled, open_, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--limit", type=int, default=400, help="tenant and campaign channels")
    parser.add_argument("--node-rate", type=float, default=0.0)
    args = parser.parse_args()
    from tests.pg_support import postgres_url

    node_rate = args.node_rate or real_node_rate()
    url = postgres_url("voxcast_bench_scale")
    if url is None:
        raise SystemExit("PostgreSQL could not be started")
    began = time.monotonic()
    campaign_id = prepare(url, args.contacts, args.limit)
    print(f"campaign of {args.contacts} contacts made in {time.monotonic() - began:.1f} s; "
          f"channel limit {args.limit}; load {os.getloadavg()[0]:.1f}")
    rates = {}
    first = 0
    for n in (1, 2, 4, 8):
        rates[n] = step(url, campaign_id, n, args.seconds, first)
        first += n
        print(f"{n} process(es): {rates[n]:.0f} calls/s (load {os.getloadavg()[0]:.1f})")
    doubled, open_, total = twice(url)
    print(f"calls: {total}, contacts claimed twice: {doubled}, CDRs left open: {open_}")
    print(f"one real node (bench/outbound_dialer.py): {node_rate:.1f} calls/s")
    print(f"ratio: {rates[8] / node_rate:.2f}")


if __name__ == "__main__":
    main()
