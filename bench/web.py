"""The web tier under load: our web UI (`voxcast web`, waitress with its settings) against a
bare Flask app returning a small JSON object on the same waitress settings, in the same run.

Both servers are their own processes on a fresh database (SQLite under a temporary runtime
directory, or the empty PostgreSQL database DATABASE_URL names) with the master tenant, an
API key and `--campaigns` campaigns. `--clients` concurrent clients (aiohttp, keep-alive, one
process) request for `--seconds` each, in `--rounds` rounds, each round in the order bare,
API, portal, login page:

- the bare endpoint (`GET /` of the bare app: `{"ok": true, "n": 1}`),
- our API list: `GET /api/v1/campaigns` with the master tenant's API key,
- a logged-in portal page: `GET /campaigns/` with a session cookie (logged in once through
  the login form, the cookie shared by every client),
- the login page (`GET /login`, no session).

Prints requests/s per path (best round), the server's CPU per request (its processes' user +
system time over the requests served), and last `ratio: X.XX`: our API list's rate over the
bare endpoint's (goal: 0.5 or better). With `--workers N` both run as N processes sharing
their port (SO_REUSEPORT).

    .venv/bin/python bench/web.py [--clients 16] [--seconds 5] [--rounds 2] [--workers 1]
                                  [--dashboards N]   (N open campaign pages: streams vs polls)
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT, cpu_seconds  # noqa: E402

MASTER_PASSWORD = "bench-master-pw-1"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

BARE_APP = textwrap.dedent("""
    import sys
    from flask import Flask, jsonify
    from waitress import serve
    from webui.serve import _shared_socket, waitress_options
    app = Flask("bare")

    @app.get("/")
    def index():
        return jsonify(ok=True, n=1)

    port, shared = int(sys.argv[1]), sys.argv[2] == "shared"
    if shared:  # one of N processes on the port, as `voxcast web --workers N` runs
        serve(app, sockets=[_shared_socket(port)], **waitress_options())
    else:
        serve(app, host="127.0.0.1", port=port, **waitress_options())
""")


def prepare(env: dict, campaigns: int) -> str:
    """The database with the master tenant, its API key and campaigns; returns the key."""
    script = textwrap.dedent(f"""
        import models
        from models import Campaign, Tenant, User
        from voxcast import config
        from voxcast.accounts import api_keys
        settings = config.load()
        models.init_database(settings.db_url)
        models.bootstrap(admin_password="bench-admin-pw-1", master_password={MASTER_PASSWORD!r})
        master = Tenant.get(Tenant.slug == "master")
        user = User.get(User.username == "master")
        for i in range({campaigns}):
            Campaign.create(tenant=master, name=f"Campaign {{i}}", type="voice_message")
        key, secret = api_keys.create(tenant_id=master.id, user=user, name="bench")
        print(secret)
    """)
    out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1:port (one per worker process)."""
    want = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == want and row.split()[3] == "0A")


def wait_port(port: int, procs: list[subprocess.Popen], log: Path, count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            raise SystemExit(f"server exited; see {log}")
        if listeners(port) >= count:
            return
        time.sleep(0.1)
    raise SystemExit(f"server on {port} did not start; see {log}")


async def login(session, base: str) -> None:
    async with session.get(f"{base}/login") as res:
        token = CSRF_RE.search(await res.text()).group(1)
    async with session.post(f"{base}/login", data={"username": "master",
                                                   "password": MASTER_PASSWORD,
                                                   "csrf_token": token},
                            allow_redirects=False) as res:
        if res.status != 302:
            raise SystemExit(f"login failed: {res.status}")


async def load(url: str, headers: dict, cookies, clients: int, seconds: float,
               expect: int = 200) -> tuple[int, int]:
    """(requests completed, errors) by `clients` workers over `seconds`."""
    import aiohttp
    done = errors = 0
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers,
                                     cookie_jar=cookies) as session:
        async def worker():
            nonlocal done, errors
            while time.monotonic() < stop:
                try:
                    async with session.get(url, allow_redirects=False) as res:
                        await res.read()
                        if res.status == expect:
                            done += 1
                        else:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
        await asyncio.gather(*(worker() for _ in range(clients)))
    return done, errors


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


async def main_async(args, ours: str, bare: str, key: str, pids: dict) -> dict:
    import aiohttp
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await login(session, ours)
    paths = {
        "bare endpoint": (f"{bare}/", {}, None, "bare"),
        "API list (/api/v1/campaigns, API key)": (f"{ours}/api/v1/campaigns",
                                                  {"Authorization": f"Bearer {key}"}, None,
                                                  "ours"),
        "portal page (/campaigns/, session)": (f"{ours}/campaigns/", {}, jar, "ours"),
        "login page (/login)": (f"{ours}/login", {}, None, "ours"),
    }
    best: dict[str, tuple[float, float]] = {}
    for rnd in range(args.rounds):
        for name, (url, headers, cookies, server) in paths.items():
            await load(url, headers, cookies, args.clients, 0.5)  # warm-up
            cpu0 = sum(cpu_seconds(p) for p in pids[server])
            t0 = time.monotonic()
            done, errors = await load(url, headers, cookies, args.clients, args.seconds)
            elapsed = time.monotonic() - t0
            cpu = sum(cpu_seconds(p) for p in pids[server]) - cpu0
            rate = done / elapsed
            ms = 1000 * cpu / done if done else float("nan")
            print(f"round {rnd + 1}: {name}: {rate:.0f} requests/s, server CPU {ms:.2f} ms "
                  f"per request, {errors} errors", flush=True)
            if errors and not done:
                raise SystemExit(f"{name}: every request failed")
            if name not in best or rate > best[name][0]:
                best[name] = (rate, ms)
    return best


async def dashboards(base: str, count: int, seconds: float, pids: list[int]) -> None:
    """`count` open campaign pages of one tenant, `seconds` each way: as live streams
    (/status/campaigns.events) and as the polling fallback (campaigns.json + health.json
    every 2 s); prints the server's CPU in % of a core for each."""
    import aiohttp
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await login(session, base)

        async def stream(stop):
            while time.monotonic() < stop:
                async with session.get(f"{base}/status/campaigns.events") as res:
                    if res.status != 200:
                        raise SystemExit(f"stream refused: {res.status} (VOXCAST_LIVE_STREAMS)")
                    async for _ in res.content:
                        if time.monotonic() >= stop:
                            return

        async def poll(stop):
            while time.monotonic() < stop:
                for path in ("/status/campaigns.json", "/status/health.json"):
                    async with session.get(f"{base}{path}") as res:
                        await res.read()
                await asyncio.sleep(2)

        for name, run in (("live streams", stream), ("polling every 2 s", poll)):
            stop = time.monotonic() + seconds
            cpu0, t0 = sum(cpu_seconds(p) for p in pids), time.monotonic()
            await asyncio.gather(*(run(stop) for _ in range(count)))
            share = (sum(cpu_seconds(p) for p in pids) - cpu0) / (time.monotonic() - t0)
            print(f"{count} open campaign pages as {name}: server CPU {100 * share:.1f} % of "
                  f"a core", flush=True)


def children(pid: int) -> list[int]:
    """The pid and its child processes (the web UI's workers with --workers N)."""
    out = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids = (task / "children").read_text().split()
            out += [int(k) for k in kids]
    except OSError:
        pass
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--port", type=int, default=28180, help="ours; the bare app's is +1")
    parser.add_argument("--workers", type=int, default=1,
                        help="voxcast web --workers N, and the bare app in N processes too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary runtime")
    parser.add_argument("--dashboards", type=int, default=0,
                        help="also N open campaign pages, streamed vs polled (30 s each)")
    args = parser.parse_args()

    print(f"start: {uptime()}", flush=True)
    runtime = Path(tempfile.mkdtemp(prefix="bench-web-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOXCAST_RUNTIME": str(runtime),
           "VOXCAST_INSTANCE": "bench-web", "VOXCAST_WEB_PORT": str(args.port)}
    if args.dashboards:  # every page gets its stream (the bare app's threads grow alike)
        env["VOXCAST_LIVE_STREAMS"] = str(max(args.dashboards, 8))
    key = prepare(env, args.campaigns)
    procs = []
    try:
        log = runtime / "web.log"
        cmd = [sys.executable, "-m", "voxcast.cli", "web"]
        if args.workers > 1:
            cmd += ["--workers", str(args.workers)]
        ours = subprocess.Popen(cmd, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        procs.append(ours)
        bare_log = runtime / "bare.log"
        mode = "shared" if args.workers > 1 else "own"
        bare = [subprocess.Popen([sys.executable, "-c", BARE_APP, str(args.port + 1), mode],
                                 env=env, stdout=open(bare_log, "ab"), stderr=subprocess.STDOUT)
                for _ in range(args.workers)]
        procs += bare
        wait_port(args.port, [ours], log, args.workers)
        wait_port(args.port + 1, bare, bare_log, args.workers)
        time.sleep(0.5)
        pids = {"ours": children(ours.pid), "bare": [p.pid for p in bare]}
        best = asyncio.run(main_async(args, f"http://127.0.0.1:{args.port}",
                                      f"http://127.0.0.1:{args.port + 1}", key, pids))
        if args.dashboards:
            asyncio.run(dashboards(f"http://127.0.0.1:{args.port}", args.dashboards, 30,
                                   pids["ours"]))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not args.keep:
            subprocess.run(["rm", "-rf", str(runtime)])
    print(f"end: {uptime()}")
    print(f"{args.clients} clients, {args.seconds:g} s per path, best of {args.rounds} rounds, "
          f"database {'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}, "
          f"web workers {args.workers}:")
    for name, (rate, ms) in best.items():
        print(f"  {name}: {rate:.0f} requests/s ({ms:.2f} ms server CPU per request)")
    api = best["API list (/api/v1/campaigns, API key)"][0]
    print(f"ratio: {api / best['bare endpoint'][0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
