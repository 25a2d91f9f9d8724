"""Inbound calls per second: our Stasis app against plain dialplan, on the same Asterisk.

A sipp UAC calls at rising rates; each call is answered, hears a 2 s prompt and is hung up by
us. Once through a DID owned by a tenant (the Stasis app: DID lookup, CDR, answer, play, hang
up) and once through the `bench-dialplan` extension (Answer, Playback, Hangup). For each, the
highest rate with under 1 % failed calls is printed, then `ratio: X.XX` (Stasis / dialplan).

Runs on its own instance ("bench": own ports, database and Asterisk config), so it can run
beside `make run` and `make test`. Usage: python bench/inbound_cps.py [--seconds 10] [--rates ...]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import (ROOT, asterisk_pid, cpu_seconds, fresh_instance, start_app, use_instance,
                      write_tone)

use_instance("bench", {"VOXCAST_ARI_PORT": "28088", "VOXCAST_SIP_PORT": "25060",
                       "VOXCAST_RTP_START": "20000", "VOXCAST_RTP_END": "29999",
                       "VOXCAST_TRUNK_PORT": "25070", "VOXCAST_WEB_PORT": "28080"})

from models import Did  # noqa: E402
from voxcast import asterisk, config  # noqa: E402

SCENARIO = ROOT / "tests/integration/sipp/uac_call_did.xml"
DID = "19990000001"
DEFAULT_RATES = [50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 1000]


def prepare(settings: config.Settings) -> None:
    master = fresh_instance(settings)
    write_tone(settings.sounds_dir / "bench-prompt.wav", 2)
    Did.create(number=DID, tenant=master, greeting_file="bench-prompt")


def run_rate(settings: config.Settings, service: str, rate: int, seconds: int,
             workdir: Path) -> tuple[int, int]:
    """(successful, failed) calls of one sipp run at `rate` calls per second."""
    calls = rate * seconds
    stat = workdir / f"{service}-{rate}.csv"
    cmd = ["sipp", f"127.0.0.1:{settings.sip_port}", "-sf", str(SCENARIO), "-s", service,
           "-i", "127.0.0.1", "-p", "25090", "-r", str(rate), "-m", str(calls), "-nostdin",
           "-timeout", f"{seconds + 30}s", "-recv_timeout", "10s", "-max_recv_loops", "10000",
           "-trace_stat", "-stf", str(stat), "-fd", "1", "-l", str(rate * 6)]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir,
                   timeout=seconds + 60)
    lines = stat.read_text().strip().splitlines()
    head = lines[0].split(";")
    last = lines[-1].split(";")
    ok = int(last[head.index("SuccessfulCall(C)")])
    failed = int(last[head.index("FailedCall(C)")])
    return ok, failed


def sustained(settings, rates: list[int], seconds: int, workdir: Path,
              app_pid: int) -> dict[str, int]:
    """Both paths at each rate in turn (so background load hits them alike) until each fails.
    Each step also shows the CPU per call of our app and of Asterisk during it."""
    modes = {"stasis": DID, "dialplan": "bench-dialplan"}
    best = {mode: 0 for mode in modes}
    live = set(modes)
    ast_pid = asterisk_pid(settings)
    for rate in rates:
        for mode in [m for m in modes if m in live]:
            app0, ast0 = cpu_seconds(app_pid), cpu_seconds(ast_pid)
            ok, failed = run_rate(settings, modes[mode], rate, seconds, workdir)
            app_ms = 1000 * (cpu_seconds(app_pid) - app0) / max(1, ok + failed)
            ast_ms = 1000 * (cpu_seconds(ast_pid) - ast0) / max(1, ok + failed)
            total = ok + failed
            pct = 100.0 * failed / total if total else 100.0
            print(f"  {mode:9s} {rate:5d} cps: {ok:6d} ok {failed:5d} failed ({pct:.2f} %); "
                  f"CPU per call: app {app_ms:.2f} ms, Asterisk {ast_ms:.2f} ms", flush=True)
            if total < rate * seconds * 0.99 or pct >= 1.0:
                live.discard(mode)
            else:
                best[mode] = rate
            time.sleep(3)  # let the last calls' BYEs and timewaits drain
        if not live:
            break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each rate step")
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                        default=DEFAULT_RATES)
    args = parser.parse_args()
    settings = config.load()
    workdir = Path(tempfile.mkdtemp(prefix="voxcast-bench-"))
    prepare(settings)
    app = start_app(settings, workdir / "stasis-app.log")
    try:
        print(f"inbound CPS benchmark: {args.seconds} s per step, 2 s prompt, "
              f"{os.cpu_count()} cores; logs in {workdir}", flush=True)
        best = sustained(settings, args.rates, args.seconds, workdir, app.pid)
        stasis, dialplan = best["stasis"], best["dialplan"]
    finally:
        app.terminate()
        app.wait(timeout=15)
        asterisk.stop(settings)
    print(f"stasis app: {stasis} cps sustained (< 1 % failed)")
    print(f"dialplan:   {dialplan} cps sustained (< 1 % failed)")
    print(f"ratio: {stasis / dialplan if dialplan else 0:.2f}")


if __name__ == "__main__":
    main()
