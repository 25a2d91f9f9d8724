"""Inbound ACD: our Stasis app's queue against Asterisk's own app_queue, on the same Asterisk,
in the same run.

At least 100 agents are sipp UAS phones registered as the agents' extensions (one sipp
process: one REGISTER "call" per agent from an injection file, and an out-of-call scenario
that answers the agents' INVITEs: rings 1 s, answers, talks 2 s, hangs up). They are members
of one queue (longest idle first, 15 s ring, no wrap-up, no announcements) and logged in as
ready agents. A sipp UAC calls into the queue at rising rates, once through our ACD (a DID
routed to the queue: the Stasis app's QueueRunner; `--entry stasis`: the `queue` Stasis route
from dialplan) and once through app_queue in plain dialplan (a queue with the same members
and strategy, `leastrecent`, in queues_voxcast_bench.conf and a bench-only context
[bench-acd] that this bench renders into its own instance). Paths alternate at each rate, so
the machine's background load hits both alike.

Each caller sends 100 ms of RTP once answered, as a phone does (dialplan Answer() waits up to
500 ms for the caller's first frame, which would otherwise count as app_queue's wait).
Per rate and path: the wait from the caller entering the queue (the answer, as the caller's
sipp saw it) to the agent's phone being rung (the INVITE at the agent's sipp; both sipps log
gettimeofday), p50 / p99 / max, also from the caller's INVITE; calls lost (no agent talked to
them the whole 2 s and hung up: refused, timed out, out of the queue after its maximum wait);
agent answers the ACD cut at once; the CPU per call of our app (event loop thread and the
others) and of Asterisk (utime + stime from /proc). The result per path is the highest rate
with under 1 % lost; last `ratio: X.XX` is ours / app_queue's (goal: 0.9 or better, with a
ringing p99 under 200 ms).

Usage: python bench/acd.py [--agents 100] [--seconds 30] [--rates 5,10,...] [--max-wait 5]
       [--only appqueue|ours] [--entry did|stasis]
Runs on its own instance ("bench-acd", own ports) unless VOXCAST_INSTANCE and
VOXCAST_PORT_OFFSET say otherwise. 100 agents take at most ~33 calls/s (3 s each), so past
that the agents are the limit; with more agents widen VOXCAST_RTP_END of an offset instance
(two RTP ports per channel, two channels per answered call).
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (ROOT, asterisk_pid, cpu_seconds, fresh_instance, start_app, thread_cpu,
                      thread_split, use_instance)

if "VOXCAST_PORT_OFFSET" in os.environ:  # a helper's own instance and port offset
    use_instance("bench-acd", {})
else:
    use_instance("bench-acd", {"VOXCAST_ARI_PORT": "48088", "VOXCAST_SIP_PORT": "45060",
                               "VOXCAST_RTP_START": "50000", "VOXCAST_RTP_END": "53999",
                               "VOXCAST_TRUNK_PORT": "45070", "VOXCAST_WEB_PORT": "48080"})

from models import Did, Extension, User  # noqa: E402
from models.entities import Queue, QueueMember  # noqa: E402
from voxcast import config  # noqa: E402
from voxcast.runtime import asterisk, pjsip_sync  # noqa: E402

BENCH = ROOT / "bench"
REGISTER = BENCH / "acd_agent_register.xml"
ANSWER = BENCH / "acd_agent_answer.xml.in"
CALLER = BENCH / "acd_caller.xml.in"
DID = "19990000012"
QUEUE_NAME = "voxcast-bench"  # app_queue's queue
FIRST_EXTENSION = 8001
DEFAULT_RATES = [5, 10, 15, 20, 25, 30, 35, 40, 50, 60]
PATHS = ("appqueue", "ours")


@dataclass
class Step:
    path: str
    rate: int
    calls: int
    entered: int = 0  # answered by Asterisk / our app: in the queue
    talked: int = 0  # an agent answered and talked the whole time (hung up themselves)
    rings: list[float] = field(default_factory=list)  # ms, queue entry -> agent INVITE
    rings_invite: list[float] = field(default_factory=list)  # ms, caller INVITE -> agent INVITE
    offers: int = 0  # agent INVITEs
    cut: int = 0  # agents who answered and were hung up by the ACD at once
    app_ms: float = 0.0
    ast_ms: float = 0.0
    threads: str = ""
    load: tuple[float, float] = (0.0, 0.0)  # load average (1 min) before, after
    sipp_failed: int = 0

    @property
    def lost(self) -> int:
        return self.calls - self.talked

    @property
    def lost_pct(self) -> float:
        return 100.0 * self.lost / self.calls if self.calls else 100.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- the instance ----------------------------------------------------------------------------

def prepare(settings: config.Settings, agents: int, max_wait: int, workdir: Path) -> dict:
    """A fresh instance: `agents` agent users with an extension each, members of one queue,
    logged in (ready); a DID routed to the queue; the sipp injection file of the extensions;
    app_queue's queue and the bench context rendered into this instance."""
    from voxcast.agents import sessions

    master = fresh_instance(settings)
    numbers = [str(FIRST_EXTENSION + i) for i in range(agents)]
    queue = Queue.create(tenant=master, name="bench", number="", strategy="longest_idle",
                         ring_seconds=15, max_wait_seconds=max_wait, announce_every_seconds=0,
                         announce_position=False, announce_wait=False, wrapup_seconds=0,
                         fallback="message", fallback_text="")
    rows = []
    for number in numbers:
        user = User.create(tenant=master, username=f"bench-agent-{number}", role="agent",
                           password_hash="!", first_name="Agent", last_name=number)
        secret = secrets.token_hex(8)
        Extension.create(number=number, secret=secret, tenant=master, user=user)
        QueueMember.create(tenant=master, queue=queue, user=user, penalty=0)
        rows.append(f"{number};[authentication username={number} password={secret}]")
        sessions.login(master.id, user.id, via="web")
    Did.create(number=DID, tenant=master, route="queue", queue=queue)
    (workdir / "agents.csv").write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")
    etc = settings.host_path(settings.ast_etc)
    members = "\n".join(f"member => PJSIP/{n}" for n in numbers)
    # The same queue for app_queue: longest idle first (leastrecent), 15 s per agent, no
    # wrap-up, an agent on a call is not offered another (ringinuse = no), callers dispatched
    # in parallel (autofill), no announcements; the retry of 1 s is app_queue's minimum.
    pjsip_sync.write(settings, f"""; bench/acd.py: app_queue's side of the comparison.
[{QUEUE_NAME}]
strategy = leastrecent
timeout = 15
retry = 1
wrapuptime = 0
ringinuse = no
autofill = yes
autopause = no
joinempty = yes
leavewhenempty = no
announce-frequency = 0
periodic-announce-frequency = 0
announce-position = no
announce-holdtime = no
reportholdtime = no
musicclass = {queue.music_class}
{members}
""", "queues_voxcast_bench.conf")
    pjsip_sync.write(settings, f"""; bench/acd.py: the callers' way into either queue.
exten => bench-queue,1,Answer()
 same => n,Queue({QUEUE_NAME},,,,{max_wait})
 same => n,Hangup()
exten => bench-queue-ours,1,Stasis({settings.ari_app_name},queue,{master.id},{queue.id})
 same => n,Hangup()
""", "extensions_voxcast_bench.conf")
    assert etc.exists()
    pjsip_sync.sync(settings)
    for command in ("dialplan reload", "module reload app_queue.so"):
        asterisk.cli(settings, command)
    shown = asterisk.cli(settings, f"queue show {QUEUE_NAME}")
    if "No such queue" in shown or f"PJSIP/{numbers[0]}" not in shown:
        raise SystemExit(f"app_queue did not load the bench queue:\n{shown}")
    return {"tenant": master.id, "queue": queue.id, "numbers": numbers}


def caller_scenario(workdir: Path) -> Path:
    """The caller's scenario with its 100 ms of voice (a pcap of PCMU RTP) filled in."""
    from tests.integration.speech_pcap import tone_ulaw, write_pcap

    pcap = workdir / "voice.pcap"
    write_pcap(tone_ulaw(0.1, 400), pcap)
    scenario = workdir / "acd_caller.xml"
    scenario.write_text(CALLER.read_text().replace("@PCAP@", str(pcap)))
    return scenario


def start_agents(settings: config.Settings, workdir: Path, agents: int, port: int,
                 talk_ms: int) -> subprocess.Popen:
    """One sipp for every agent phone; returns once each extension is registered."""
    log = workdir / "agents.log"
    answer = workdir / "acd_agent_answer.xml"
    answer.write_text(ANSWER.read_text().replace("@TALK_MS@", str(talk_ms)))
    proc = subprocess.Popen(
        ["sipp", f"127.0.0.1:{settings.sip_port}", "-sf", str(REGISTER), "-oocsf", str(answer),
         "-inf", str(workdir / "agents.csv"), "-i", "127.0.0.1", "-p", str(port),
         "-m", str(agents), "-r", "50", "-l", str(agents), "-nostdin",
         "-trace_logs", "-log_file", str(log), "-trace_err", "-error_file",
         str(workdir / "agents-errors.log"), "-max_recv_loops", "100000",
         "-max_sched_loops", "100000"],
        stdout=open(workdir / "agents-stdout.log", "wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, cwd=workdir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the agents' sipp exited ({proc.returncode}); see {workdir}")
        registered = log.read_text().count("REGISTERED") if log.exists() else 0
        if registered >= agents:
            contacts = asterisk.cli(settings, "pjsip show contacts")
            if contacts.count(f"@127.0.0.1:{port}") >= agents:
                return proc
        time.sleep(0.5)
    raise SystemExit(f"only some agents registered; see {workdir}")


# -- one step --------------------------------------------------------------------------------

def channels(settings: config.Settings) -> int:
    out = asterisk.cli(settings, "core show channels count")
    for line in out.splitlines():
        if "active channel" in line:
            return int(line.split()[0])
    return -1


def drain(settings: config.Settings, timeout: float = 60) -> None:
    """Until Asterisk has no channel left (the last calls' agents hung up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and channels(settings) > 0:
        time.sleep(0.5)


def parse_rings(log: Path, offset: int) -> tuple[list[tuple[str, float, str]], list[str],
                                                  list[str]]:
    """RING (cid, epoch s, agent), DONE (cid: the agent talked the whole time and hung up) and
    CUT (cid: the ACD hung up the answering agent) lines the agents' sipp wrote since offset."""
    rings, talks, cuts = [], [], []
    with open(log, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    for line in data.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] == "RING":
            rings.append((parts[3], float(parts[1]) + float(parts[2]) / 1e6, parts[4]))
        elif len(parts) >= 5 and parts[0] == "DONE":
            talks.append(parts[3])
        elif len(parts) >= 5 and parts[0] == "CUT":
            cuts.append(parts[3])
    return rings, talks, cuts


def run_step(settings: config.Settings, path: str, rate: int, seconds: int, prefix: str,
             workdir: Path, ports: dict, pids: dict, max_wait: int, talk_ms: int,
             agents_log: Path) -> Step:
    service = "bench-queue" if path == "appqueue" else ports["ours_service"]
    step = Step(path, rate, rate * seconds, load=(os.getloadavg()[0], 0.0))
    calls_log = workdir / f"callers-{path}-{rate}.log"
    stat = workdir / f"callers-{path}-{rate}.csv"
    offset = agents_log.stat().st_size if agents_log.exists() else 0
    app0, ast0 = cpu_seconds(pids["app"]), cpu_seconds(pids["asterisk"])
    threads0 = thread_cpu(pids["app"])
    longest = seconds + max_wait + talk_ms / 1000 + 40
    cmd = ["sipp", f"127.0.0.1:{settings.sip_port}", "-sf", str(ports["scenario"]),
           "-s", service, "-i", "127.0.0.1", "-p", str(ports["callers"]), "-r", str(rate), "-m",
           str(step.calls), "-l", str(step.calls), "-key", "cid_prefix", prefix, "-nostdin",
           "-timeout", f"{int(longest)}s", "-recv_timeout", f"{max_wait + 30}s",
           "-max_recv_loops", "100000", "-trace_stat", "-stf", str(stat), "-fd", "1",
           "-trace_logs", "-log_file", str(calls_log)]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir,
                   timeout=longest + 30)
    drain(settings)
    step.app_ms = 1000 * (cpu_seconds(pids["app"]) - app0) / step.calls
    step.ast_ms = 1000 * (cpu_seconds(pids["asterisk"]) - ast0) / step.calls
    step.threads = thread_split(pids["app"], threads0, thread_cpu(pids["app"]), step.calls)
    time.sleep(0.5)  # sipp writes its log lines at its own pace
    entered = {}
    for line in calls_log.read_text(errors="replace").splitlines() if calls_log.exists() else ():
        parts = line.split()
        if len(parts) == 6 and parts[0] == "CALL":
            entered[parts[5]] = (float(parts[1]) + float(parts[2]) / 1e6,
                                 float(parts[3]) + float(parts[4]) / 1e6)
    step.entered = len(entered)
    rings, talks, cuts = parse_rings(agents_log, offset)
    first_ring: dict[str, float] = {}
    for cid, at, _agent in rings:
        if cid.startswith(prefix):
            step.offers += 1
            first_ring.setdefault(cid, at)
    step.talked = len({cid for cid in talks if cid.startswith(prefix)})
    step.cut = sum(1 for cid in cuts if cid.startswith(prefix))
    for cid, at in first_ring.items():
        if cid in entered:
            invited, answered = entered[cid]
            step.rings.append(1000 * (at - answered))
            step.rings_invite.append(1000 * (at - invited))
    last = stat.read_text().strip().splitlines() if stat.exists() else []
    if len(last) > 1:
        head, row = last[0].split(";"), last[-1].split(";")
        step.sipp_failed = int(row[head.index("FailedCall(C)")])
    step.load = (step.load[0], os.getloadavg()[0])
    return step


def report(step: Step) -> str:
    line = (f"  {step.path:8s} {step.rate:4d} cps: {step.calls:5d} calls, {step.entered:5d} in "
            f"the queue, {step.talked:5d} to an agent, {step.lost:4d} lost "
            f"({step.lost_pct:.2f} %); ringing after entry p50 {pct(step.rings, .5):.0f} ms "
            f"p99 {pct(step.rings, .99):.0f} ms max {max(step.rings, default=float('nan')):.0f}"
            f" ms (from the INVITE p50 {pct(step.rings_invite, .5):.0f} p99 "
            f"{pct(step.rings_invite, .99):.0f}); {step.offers} offers, {step.cut} answers cut; "
            f"CPU per call: app "
            f"{step.app_ms:.2f} ms, Asterisk {step.ast_ms:.2f} ms; load {step.load[0]:.2f} -> "
            f"{step.load[1]:.2f}")
    if step.path == "ours":
        line += f"\n           app: {step.threads}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=30, help="length of each rate step")
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                        default=DEFAULT_RATES)
    parser.add_argument("--talk", type=float, default=2.0,
                        help="seconds an agent talks after answering (answers after 1 s)")
    parser.add_argument("--max-wait", type=int, default=5,
                        help="the queue's maximum wait: a caller still waiting then is lost "
                             "(with 30 s steps, a rate about 15 %% past what the agents or "
                             "the ACD keep up with loses calls)")
    parser.add_argument("--past", type=int, default=1,
                        help="steps to run each path past its first failing one")
    parser.add_argument("--only", choices=PATHS, help="run one path only")
    parser.add_argument("--entry", choices=("did", "stasis"), default="did",
                        help="our callers' way in: a DID routed to the queue, or the `queue` "
                             "Stasis route from dialplan")
    args = parser.parse_args()
    settings = config.load()
    workdir = Path(tempfile.mkdtemp(prefix="voxcast-bench-acd-"))
    os.chmod(workdir, 0o755)
    talk_ms = int(args.talk * 1000)
    ports = {"callers": settings.sip_port + 37, "agents": settings.sip_port + 38,
             "ours_service": DID if args.entry == "did" else "bench-queue-ours",
             "scenario": caller_scenario(workdir)}
    prepare(settings, args.agents, args.max_wait, workdir)
    app = agents = None
    try:
        app = start_app(settings, workdir / "stasis-app.log")
        agents = start_agents(settings, workdir, args.agents, ports["agents"], talk_ms)
        best, fast, p99_at_best = run_all(settings, args, workdir, ports, talk_ms,
                                          {"app": app.pid, "asterisk": asterisk_pid(settings)})
    finally:
        for proc in (agents, app):
            if proc is not None:
                proc.terminate()
        for proc in (agents, app):
            if proc is not None:
                proc.wait(timeout=15)
        asterisk.stop(settings)
    for path in best:
        print(f"{path:8s}: {best[path]} cps sustained (< 1 % lost), ringing p99 there "
              f"{p99_at_best[path]:.0f} ms; {fast[path]} cps with a ringing p99 under 200 ms")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    ours, theirs = best.get("ours", 0), best.get("appqueue", 0)
    if fast.get("appqueue"):
        print(f"ours / app_queue with a ringing p99 under 200 ms: "
              f"{fast.get('ours', 0) / fast['appqueue']:.2f}")
    print(f"ratio: {ours / theirs if theirs else 0:.2f}")


def run_all(settings: config.Settings, args, workdir: Path, ports: dict, talk_ms: int,
            pids: dict) -> tuple[dict, dict, dict]:
    """Both paths at each rate in turn until each loses 1 % (then `--past` steps more)."""
    paths = [args.only] if args.only else list(PATHS)
    best = {p: 0 for p in paths}  # highest rate with < 1 % lost
    fast = {p: 0 for p in paths}  # ... and a ringing p99 under 200 ms
    p99_at_best = {p: float("nan") for p in paths}
    failing = {p: 0 for p in paths}
    live = set(paths)
    print(f"ACD benchmark: {args.agents} agents (ring 1 s, talk {args.talk:g} s: at most "
          f"{args.agents / (1 + args.talk):.0f} calls/s), queue max wait {args.max_wait} s, "
          f"{args.seconds} s per step, our entry: {args.entry}; {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; logs in {workdir}", flush=True)
    for index, rate in enumerate(args.rates):
        for path in [p for p in paths if p in live]:
            prefix = f"9{index:02d}{PATHS.index(path)}"
            step = run_step(settings, path, rate, args.seconds, prefix, workdir, ports,
                            pids, args.max_wait, talk_ms, workdir / "agents.log")
            print(report(step), flush=True)
            if step.lost_pct >= 1.0 or failing[path]:
                failing[path] += 1
                if failing[path] > args.past:
                    live.discard(path)
            else:
                best[path], p99_at_best[path] = rate, pct(step.rings, .99)
                if p99_at_best[path] < 200:
                    fast[path] = rate
            time.sleep(2)
        if not live:
            break
    return best, fast, p99_at_best


if __name__ == "__main__":
    main()
