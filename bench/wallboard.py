"""What one wallboard poll costs on a busy tenant: the time of voxcast.supervision.wallboard.build
(agents, queues with today's figures, every call in progress) and of
voxcast.reports.live.active_calls alone, with thousands of calls open and a long CDR history.

Data (one seeded run): `--closed` closed CDRs over the last 30 days (default 500,000) and
`--open` open ones (default 3,000: outbound ringing / answered, inbound callers waiting in 10
queues, agent legs talking), `--agents` live sessions (default 300, each in 3 queues), `--queued` queue calls of
today already ended (default 20,000; ten times as many over the 30 days before). Prints the median and the 95th percentile of 30 polls
each, and last `ratio: X.XX`: the median wallboard poll over 2,000 ms (the page polls every
2 s; goal well under 0.1).

    .venv/bin/python bench/wallboard.py [--closed N] [--open N] [--agents N]
    DATABASE_URL=postgresql://.../empty_db .venv/bin/python bench/wallboard.py   (PostgreSQL)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from models import Call, Campaign, Extension, Tenant, User, database  # noqa: E402
from models.entities import AgentSession, Queue, QueueCall, QueueMember, utcnow  # noqa: E402
from voxcast.reports import live  # noqa: E402
from voxcast.supervision import wallboard  # noqa: E402

POLLS = 30
BATCH = 5000


def load(args, rng: random.Random) -> int:
    now = utcnow()
    tenant = Tenant.create(name="Busy", slug="busy")
    Tenant.create(name="Other", slug="other")
    campaigns = [Campaign.create(tenant=tenant, name=f"C{i}", type="voice_agent",
                                 amd_enabled=i % 2 == 0).id for i in range(20)]
    queues = [Queue.create(tenant=tenant, name=f"Q{i}", number=f"6{i:02d}").id for i in range(10)]
    agents = []
    for i in range(args.agents):
        user = User.create(tenant=tenant, username=f"agent{i}", role="agent", password_hash="-")
        ext = Extension.create(number=f"7{i:04d}", secret="x", tenant=tenant, user=user)
        agents.append((user.id, ext.id))
    seq = iter(range(1, 10 ** 9))

    def insert(model, rows):
        with database.atomic():
            for i in range(0, len(rows), BATCH):
                model.insert_many(rows[i:i + BATCH]).execute()

    closed = []
    for _ in range(args.closed):
        start = now - dt.timedelta(seconds=rng.uniform(60, 30 * 86400))
        closed.append({"tenant": tenant.id, "campaign": rng.choice(campaigns), "number": "+1202555",
                       "channel_id": f"c{next(seq)}", "started_at": start,
                       "answered_at": start + dt.timedelta(seconds=5),
                       "ended_at": start + dt.timedelta(seconds=60), "disposition": "ANSWERED"})
        if len(closed) >= 50_000:
            insert(Call, closed)
            closed = []
    insert(Call, closed)
    opened = []
    for i in range(args.open):
        start = now - dt.timedelta(seconds=rng.uniform(1, 600))
        kind = i % 4
        row = {"tenant": tenant.id, "number": f"+1202555{i:04d}", "channel_id": f"o{next(seq)}",
               "started_at": start}
        if kind == 0:
            row.update(campaign=rng.choice(campaigns), placed_at=start)
        elif kind == 1:
            row.update(campaign=rng.choice(campaigns), placed_at=start,
                       answered_at=start + dt.timedelta(seconds=1))
        elif kind == 2:
            row.update(direction="inbound", answered_at=start)
        else:
            row.update(direction="agent", answered_at=start, agent=rng.choice(agents)[0])
        opened.append(row)
    insert(Call, opened)
    inbound = [c.id for c in Call.select(Call.id).where(Call.direction == "inbound",
                                                        Call.ended_at.is_null())]
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    waits = [{"tenant": tenant.id, "queue": rng.choice(queues), "call": cid, "caller": "+1",
              "entered_at": now - dt.timedelta(seconds=rng.uniform(1, 300))} for cid in inbound]
    done = []
    for _ in range(args.queued * 10):  # the last 30 days: today's are args.queued
        entered = now - dt.timedelta(seconds=rng.uniform(86400, 30 * 86400))
        done.append({"tenant": tenant.id, "queue": rng.choice(queues), "caller": "+1",
                     "entered_at": entered, "ended_at": entered + dt.timedelta(seconds=90),
                     "outcome": "answered", "wait_seconds": rng.randint(0, 120)})
    for _ in range(args.queued):
        entered = today + dt.timedelta(seconds=rng.uniform(0, max(1.0, (now - today).total_seconds())))
        outcome = rng.choice(["answered", "answered", "answered", "abandoned", "timeout"])
        done.append({"tenant": tenant.id, "queue": rng.choice(queues), "caller": "+1",
                     "entered_at": entered, "ended_at": entered + dt.timedelta(seconds=90),
                     "outcome": outcome, "wait_seconds": rng.randint(0, 120)})
    insert(QueueCall, waits)
    insert(QueueCall, done)  # apart: insert_many takes its columns from the first row
    insert(QueueMember, [{"tenant": tenant.id, "queue": qid, "user": uid, "penalty": i % 3}
                         for i, (uid, _ext) in enumerate(agents)
                         for qid in rng.sample(queues, 3)])  # each agent in 3 queues
    states = ["ready", "on_call", "wrapup", "paused", "ringing"]
    insert(AgentSession, [{"tenant": tenant.id, "user": uid, "extension": ext,
                           "state": rng.choice(states), "state_since": now - dt.timedelta(minutes=5),
                           "started_at": now - dt.timedelta(hours=2)} for uid, ext in agents])
    database.execute_sql("ANALYZE")  # both backends: plan with real row counts
    return tenant.id


def timed(fn, polls: int = POLLS) -> tuple[float, float]:
    times = []
    for _ in range(polls):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--closed", type=int, default=500_000)
    ap.add_argument("--open", type=int, default=3_000)
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--queued", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/wallboard.sqlite3"
    models.init_database(url)
    models.bootstrap(admin_password="bench-admin-1", master_password="bench-master-1")
    if Tenant.get_or_none(Tenant.slug == "busy") is not None:
        sys.exit("bench/wallboard.py fills its database: give it an empty one (DATABASE_URL)")
    t0 = time.perf_counter()
    tenant_id = load(args, random.Random(args.seed))
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"{backend}: {args.closed:,} closed CDRs, {args.open:,} open calls, {args.agents} "
          f"agents, {args.queued:,} ended queue calls today (loaded in "
          f"{time.perf_counter() - t0:.0f} s)")
    now = utcnow()
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    n = len(live.active_calls(tenant_id, now))
    med, p95 = timed(lambda: live.active_calls(tenant_id, utcnow()))
    print(f"active_calls ({n:,} rows): median {med:.1f} ms, p95 {p95:.1f} ms")
    med_b, p95_b = timed(lambda: json.dumps(wallboard.build(tenant_id, utcnow(), since).as_dict()))
    print(f"wallboard.build + JSON (what one poll of the page costs the server): median "
          f"{med_b:.1f} ms, p95 {p95_b:.1f} ms")
    print(f"ratio: {med_b / 2000:.2f}")


if __name__ == "__main__":
    main()
