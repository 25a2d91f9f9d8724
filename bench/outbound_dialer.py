"""Outbound dialer throughput: a Voice Message campaign of 2,000 contacts against a sipp UAS
that rings 1 s, answers and is hung up by us after a 2 s message.

Prints the sustained originate rate (calls per second), the peak of concurrent calls, the
CPU seconds per call of the Stasis app and of Asterisk (utime+stime from /proc before/after),
and last `ratio: X.XX` (our app's CPU over Asterisk's; the goal is under 0.25).

Runs on its own instance ("bench-out": own ports, database and Asterisk config), so it can run
beside `make run`, `make test` and bench/inbound_cps.py. Usage:
python bench/outbound_dialer.py [--contacts 2000] [--cps 100] [--channels 400]
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import (ROOT, asterisk_pid, cpu_seconds, fresh_instance, start_app, thread_cpu,
                      thread_split, use_instance, write_tone)

use_instance("bench-out", {"VOXCAST_ARI_PORT": "38088", "VOXCAST_SIP_PORT": "35060",
                           "VOXCAST_RTP_START": "40000", "VOXCAST_RTP_END": "49999",
                           "VOXCAST_TRUNK_PORT": "35070", "VOXCAST_WEB_PORT": "38080"})

from models import Call, Campaign, Contact, ContactGroup, database  # noqa: E402
from voxcast import config  # noqa: E402
from voxcast.runtime import asterisk
from voxcast.campaigns import services as campaign_service

SCENARIO = ROOT / "bench/uas_answer_1s.xml"


def priced(master) -> None:
    """--priced: the master tenant on a plan that charges (0.60/min, 6/6 s) with credit for
    every call, so each call reserves, is metered and is settled into the ledger."""
    from decimal import Decimal

    from models import RatePlan
    from models.entities import Rate
    from voxcast.billing import ledger

    plan = RatePlan.create(name="bench priced")
    Rate.create(plan=plan, prefix="1", per_minute=Decimal("0.60"), connection_fee=Decimal("0"),
                initial_s=6, increment_s=6, description="bench")
    master.rate_plan = plan
    master.save()
    ledger.credit(master.id, "100000", reference="bench")


def prepare(settings: config.Settings, contacts: int, with_prices: bool = False) -> Campaign:
    master = fresh_instance(settings)
    if with_prices:
        priced(master)
    group = ContactGroup.create(tenant=master, name="bench")
    with database.atomic():
        Contact.insert_many([{"tenant": master.id, "group": group.id,
                              "phone": f"+1202555{i:04d}"} for i in range(contacts)]).execute()
    campaign = Campaign.create(tenant=master, name="bench", group=group, channel_limit=100000,
                               dial_timeout=10, retry_noanswer=0, retry_busy=0)
    prompt = write_tone(settings.sounds_dir / f"campaign-{campaign.id}.wav", 2)
    Campaign.update(message_file=prompt.stem, message_seconds=2).where(
        Campaign.id == campaign.id).execute()
    return Campaign.get_by_id(campaign.id)


def peak_concurrency(calls) -> int:
    points = sorted([(c.placed_at or c.started_at, 1) for c in calls]
                    + [(c.ended_at, -1) for c in calls if c.ended_at])
    best = cur = 0
    for _, step in points:
        cur += step
        best = max(best, cur)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--cps", type=int, default=100)
    parser.add_argument("--channels", type=int, default=400)
    parser.add_argument("--priced", action="store_true",
                        help="rate the calls (the Default plan is free): reserve, meter, settle")
    args = parser.parse_args()
    settings = config.load()
    workdir = Path(tempfile.mkdtemp(prefix="voxcast-bench-out-"))
    campaign = prepare(settings, args.contacts, args.priced)
    app = start_app(settings, workdir / "stasis-app.log",
                    {"VOXCAST_MAX_CPS": str(args.cps), "VOXCAST_MAX_CHANNELS": str(args.channels)})
    uas = subprocess.Popen(["sipp", "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p",
                            str(settings.trunk_port), "-m", str(args.contacts), "-nostdin",
                            "-timeout", "600s", "-max_recv_loops", "10000", "-l", "100000",
                            "-trace_stat", "-fd", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    try:
        ast = asterisk_pid(settings)
        time.sleep(1)
        app_cpu0, ast_cpu0 = cpu_seconds(app.pid), cpu_seconds(ast)
        threads0 = thread_cpu(app.pid)
        began = time.monotonic()
        campaign_service.start(campaign, settings)
        while Campaign.get_by_id(campaign.id).status != "completed":
            if time.monotonic() - began > 900:
                raise SystemExit("the campaign did not complete within 15 minutes")
            time.sleep(0.5)
        wall = time.monotonic() - began
        app_cpu, ast_cpu = cpu_seconds(app.pid) - app_cpu0, cpu_seconds(ast) - ast_cpu0
        threads1 = thread_cpu(app.pid)
    finally:
        uas.terminate()
        app.terminate()
        app.wait(timeout=15)
        asterisk.stop(settings)
    calls = list(Call.select().where(Call.campaign == campaign.id))
    answered = sum(1 for c in calls if c.disposition == "ANSWERED")
    starts = sorted(c.placed_at or c.started_at for c in calls)
    span = (starts[-1] - starts[0]).total_seconds() or 1
    print(f"contacts: {args.contacts}, calls: {len(calls)}, answered: {answered}, "
          f"wall: {wall:.1f} s (VOXCAST_MAX_CPS={args.cps}, VOXCAST_MAX_CHANNELS={args.channels})")
    print(f"sustained originate rate: {(len(starts) - 1) / span:.1f} calls/s")
    print(f"peak concurrent calls: {peak_concurrency(calls)}")
    print(f"Stasis app CPU: {app_cpu:.2f} s ({1000 * app_cpu / len(calls):.2f} ms per call)")
    print(f"  of which {thread_split(app.pid, threads0, threads1, len(calls))}")
    print(f"Asterisk CPU: {ast_cpu:.2f} s ({1000 * ast_cpu / len(calls):.2f} ms per call)")
    print(f"ratio: {app_cpu / ast_cpu:.2f}")


if __name__ == "__main__":
    main()
