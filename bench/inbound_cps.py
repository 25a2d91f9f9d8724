"""Inbound calls per second: our Stasis app against a minimal Stasis app and plain dialplan,
on the same Asterisk, in the same run.

A sipp UAC calls at rising rates; each call is answered, hears a 2 s prompt and is hung up.
Three paths per rate step: a DID owned by a tenant (our Stasis app: DID lookup, CDR, answer,
play, hang up), the `bench-minimal` extension (bench/minimal_ari_app.py: answer, play, hang up
on PlaybackFinished, through the same ARI client) and the `bench-dialplan` extension (Answer,
Playback, Hangup). For each, the highest rate with under 1 % failed calls is printed, then
ours / dialplan and last `ratio: X.XX` (ours / the minimal app).

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

import sys

from benchlib import (ROOT, asterisk_pid, cpu_seconds, fresh_instance, start_app, use_instance,
                      write_tone)

use_instance("bench", {"VOXCAST_ARI_PORT": "28088", "VOXCAST_SIP_PORT": "25060",
                       "VOXCAST_RTP_START": "20000", "VOXCAST_RTP_END": "29999",
                       "VOXCAST_TRUNK_PORT": "25070", "VOXCAST_WEB_PORT": "28080"})

from models import Did  # noqa: E402
from voxcast import config  # noqa: E402
from voxcast.runtime import asterisk

SCENARIO = ROOT / "tests/integration/sipp/uac_call_did.xml"
DID = "19990000001"
DEFAULT_RATES = [50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 1000]


def prepare(settings: config.Settings) -> None:
    master = fresh_instance(settings)
    write_tone(settings.sounds_dir / "bench-prompt.wav", 2)
    Did.create(number=DID, tenant=master, greeting_file="bench-prompt")


def run_rate(settings: config.Settings, service: str, rate: int, seconds: int,
             workdir: Path) -> tuple[int, int, dict[str, int]]:
    """(successful, failed, why) calls of one sipp run at `rate` calls per second; `why`
    splits the failures into refused (an error answer, such as our busy when behind), timed
    out (no answer or no BYE within 10 s) and other."""
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
    refused = int(last[head.index("FailedUnexpectedMessage(C)")])
    timed_out = int(last[head.index("FailedTimeoutOnRecv(C)")])
    why = {"refused": refused, "timed out": timed_out, "other": failed - refused - timed_out}
    return ok, failed, why


def start_minimal_app(settings: config.Settings, log: Path) -> subprocess.Popen:
    """bench/minimal_ari_app.py for the instance; returns once its event socket is up."""
    ready = log.with_suffix(".ready")
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench/minimal_ari_app.py"), str(ready)],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if ready.exists():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"the minimal ARI app did not connect; see {log}")


def sustained(settings, rates: list[int], seconds: int, workdir: Path,
              app_pids: dict[str, int], past: int) -> dict[str, int]:
    """The three paths at each rate in turn (so background load hits them alike) until each
    fails, then `past` steps more (how it degrades past its limit). Each step also shows the
    CPU per call of the app serving it and of Asterisk."""
    modes = {"stasis": DID, "minimal": "bench-minimal", "dialplan": "bench-dialplan"}
    best = {mode: 0 for mode in modes}
    failing = {mode: 0 for mode in modes}  # steps run since the path first failed
    live = set(modes)
    ast_pid = asterisk_pid(settings)
    for rate in rates:
        for mode in [m for m in modes if m in live]:
            app_pid = app_pids.get(mode, app_pids["stasis"])
            app0, ast0 = cpu_seconds(app_pid), cpu_seconds(ast_pid)
            ok, failed, why = run_rate(settings, modes[mode], rate, seconds, workdir)
            app_ms = 1000 * (cpu_seconds(app_pid) - app0) / max(1, ok + failed)
            ast_ms = 1000 * (cpu_seconds(ast_pid) - ast0) / max(1, ok + failed)
            total = ok + failed
            pct = 100.0 * failed / total if total else 100.0
            detail = ", ".join(f"{n} {k}" for k, n in why.items() if n)
            print(f"  {mode:9s} {rate:5d} cps: {ok:6d} ok {failed:5d} failed ({pct:.2f} %"
                  f"{'; ' + detail if detail else ''}); "
                  f"CPU per call: app {app_ms:.2f} ms, Asterisk {ast_ms:.2f} ms; "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
            if total < rate * seconds * 0.99 or pct >= 1.0 or failing[mode]:
                failing[mode] += 1
                if failing[mode] > past:
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
    parser.add_argument("--past", type=int, default=1,
                        help="steps to run each path past its first failing one")
    args = parser.parse_args()
    settings = config.load()
    workdir = Path(tempfile.mkdtemp(prefix="voxcast-bench-"))
    prepare(settings)
    app = start_app(settings, workdir / "stasis-app.log")
    minimal = start_minimal_app(settings, workdir / "minimal-app.log")
    try:
        print(f"inbound CPS benchmark: {args.seconds} s per step, 2 s prompt, "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; logs in {workdir}",
              flush=True)
        best = sustained(settings, args.rates, args.seconds, workdir,
                         {"stasis": app.pid, "minimal": minimal.pid}, args.past)
        stasis, floor, dialplan = best["stasis"], best["minimal"], best["dialplan"]
    finally:
        for proc in (app, minimal):
            proc.terminate()
        for proc in (app, minimal):
            proc.wait(timeout=15)
        asterisk.stop(settings)
    print(f"stasis app:  {stasis} cps sustained (< 1 % failed)")
    print(f"minimal app: {floor} cps sustained (< 1 % failed)")
    print(f"dialplan:    {dialplan} cps sustained (< 1 % failed)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"ours / dialplan: {stasis / dialplan if dialplan else 0:.2f}")
    print(f"ratio: {stasis / floor if floor else 0:.2f}")


if __name__ == "__main__":
    main()
