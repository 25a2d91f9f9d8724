"""Reliability under faults (issue 16 item 6): a priced Voice Message campaign of 2,000
contacts on PostgreSQL, run once without faults and once with faults injected at random
moments: the Stasis app SIGKILLed 5 times (each started again after the delay `voxcast run`'s
supervisor would wait: voxcast.runtime.supervisor.RestartPolicy), Asterisk restarted,
PostgreSQL restarted (`pg_ctlcluster <version> voxcastfaults restart`: the bench's own
cluster), and the web UI (`voxcast web`) SIGKILLed while it imports a large CSV (uploaded and
mapped through the portal with a logged-in session), then started again and the import posted
again with the same upload.

Prints, for the run with faults: contacts dialled twice and contacts never dialled (counted
at the far end from sipp's message log, one dialog per INVITE, as
tests/integration/test_dialer_crash.py does), CDRs left open, credit reservations left open,
ledger differences (the tenant's balance against the sum of its ledger entries), imports left
half-done (each must be 0), the time to resume after each fault (from the fault to the next
call placed and the next call answered), and last `ratio: X.XX`: calls completed per second
with faults over the same campaign's rate without faults, both measured in this run (goal 0.8).

Its own instance "bench-faults" (ARI 29088, SIP 29060, trunk 29070, web 29080, RTP
30000-31999) and its own PostgreSQL cluster `voxcastfaults` (bench/pg_cluster.py: created on
a free port on loopback, or reused; stopped and dropped at the end), database
voxcast_bench_faults: its restarts never touch `<version> main`, where test suites run.
Usage: python bench/faults.py [--contacts 2000] [--cps 25] [--import-rows 150000] [--seed N]
       [--restart-delay S (instead of the supervisor's backoff)] [--keep-cluster]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchlib import ROOT, start_app, use_instance, write_tone
from pg_cluster import Cluster

# Below the kernel's ephemeral range (32768-60999): a listening port in it can be taken by
# any outgoing connection's local port first (seen: the app's metrics port "in use").
use_instance("bench-faults", {"VOXCAST_ARI_PORT": "29088", "VOXCAST_SIP_PORT": "29060",
                              "VOXCAST_RTP_START": "30000", "VOXCAST_RTP_END": "31999",
                              "VOXCAST_TRUNK_PORT": "29070", "VOXCAST_WEB_PORT": "29080",
                              "VOXCAST_AGI_PORT": "29573", "VOXCAST_WSS_PORT": "29089",
                              "VOXCAST_METRICS_PORT": "29464", "VOXCAST_BOUNCE_PORT": "29525"})

from tests.pg_support import fresh_schema  # noqa: E402

CLUSTER = "voxcastfaults"  # the bench's own: never Debian's `main`
DBNAME = "voxcast_bench_faults"
MASTER_PASSWORD = "x-master-secret"  # tests.pg_support.fresh_schema's
SCENARIO = ROOT / "bench/uas_answer_1s.xml"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# -- the database, reached again after PostgreSQL restarts -----------------------------------

def db(query, tries: int = 200):
    """Run `query()` (a read of the bench's own), reconnecting while the server restarts."""
    from models import database
    for attempt in range(tries):
        try:
            database.connect(reuse_if_open=True)
            return query()
        except Exception:  # noqa: BLE001 - the server is away: wait and connect again
            try:
                database.close()
            except Exception:  # noqa: BLE001
                database._state.reset()
            if attempt == tries - 1:
                raise
            time.sleep(0.1)


# -- set-up ----------------------------------------------------------------------------------

def prepare(settings, contacts: int):
    """A fresh schema, Asterisk restarted, the master tenant priced (0.60/min, 6/6 s, credit
    for every call), two groups of `contacts` numbers and a campaign on each (CPS from the
    provider cap), and an empty group for the import."""
    from decimal import Decimal

    from models import Campaign, Contact, ContactGroup, RatePlan, Tenant, database
    from models.entities import Rate
    from voxcast.billing import ledger
    from voxcast.runtime import asterisk

    asterisk.provision(settings)
    asterisk.stop(settings)
    asterisk.start(settings)
    fresh_schema(settings.database_url)
    master = Tenant.get(Tenant.slug == "master")
    Tenant.update(channel_limit=100000).where(Tenant.id == master.id).execute()
    plan = RatePlan.create(name="bench priced")
    Rate.create(plan=plan, prefix="1", per_minute=Decimal("0.60"), connection_fee=Decimal("0"),
                initial_s=6, increment_s=6, description="bench")
    Tenant.update(rate_plan=plan).where(Tenant.id == master.id).execute()
    ledger.credit(master.id, "100000", reference="bench")
    master = Tenant.get_by_id(master.id)
    campaigns = {}
    for name, prefix in (("no faults", "+1202556"), ("faults", "+1202557")):
        group = ContactGroup.create(tenant=master, name=name)
        with database.atomic():
            Contact.insert_many([{"tenant": master.id, "group": group.id,
                                  "phone": f"{prefix}{i:04d}"} for i in range(contacts)]).execute()
        campaign = Campaign.create(tenant=master, name=name, group=group, channel_limit=100000,
                                   dial_timeout=10, retry_noanswer=0, retry_busy=0)
        prompt = write_tone(settings.sounds_dir / f"campaign-{campaign.id}.wav", 2)
        Campaign.update(message_file=prompt.stem, message_seconds=2).where(
            Campaign.id == campaign.id).execute()
        campaigns[name] = (Campaign.get_by_id(campaign.id),
                           [f"{prefix}{i:04d}" for i in range(contacts)])
    import_group = ContactGroup.create(tenant=master, name="imported")
    return master, campaigns, import_group


def import_csv(rows: int) -> bytes:
    """`rows` distinct valid US numbers with names and e-mails (every row imports)."""
    areas = ("303", "312", "415", "646", "213", "617", "206", "512")
    out = ["phone,first_name,last_name,email"]
    for i in range(rows):
        j = i // len(areas)
        out.append(f"+1{areas[i % len(areas)]}{220 + j // 10000}{j % 10000:04d},"
                   f"First{i},Last{i},person{i}@example.com")
    return ("\n".join(out) + "\n").encode()


# -- processes -------------------------------------------------------------------------------

class StasisApp:
    """`voxcast ari-app` as the supervisor runs it: SIGKILLed, it is started again after the
    RestartPolicy's delay for its uptime."""

    def __init__(self, settings, workdir: Path, env: dict, fixed_delay: float | None = None):
        from voxcast.runtime.supervisor import RestartPolicy
        self.settings, self.workdir, self.env = settings, workdir, env
        self.policy = RestartPolicy()
        self.fixed_delay = fixed_delay
        self.starts = 0
        self.proc = None
        self.started_at = 0.0

    def start(self):
        self.starts += 1
        self.proc = db(lambda: start_app(self.settings,
                                         self.workdir / f"stasis-app-{self.starts}.log", self.env))
        self.started_at = time.monotonic()

    def kill(self) -> float:
        """SIGKILL; returns the delay the supervisor waits before the next start."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        now = time.monotonic()
        delay = self.policy.next_delay(now - self.started_at, now)
        return delay if self.fixed_delay is None else self.fixed_delay

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Web:
    """`voxcast web` and a logged-in portal session (requests)."""

    def __init__(self, settings, workdir: Path):
        self.settings, self.workdir = settings, workdir
        self.base = f"http://127.0.0.1:{settings.web_port}"
        self.proc = None
        self.starts = 0

    def start(self):
        import requests
        self.starts += 1
        log = self.workdir / f"web-{self.starts}.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "voxcast.cli", "--instance",
                                      self.settings.instance, "web"],
                                     stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"voxcast web exited; see {log}")
            try:
                if requests.get(f"{self.base}/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise SystemExit(f"voxcast web did not answer; see {log}")
        self.session = requests.Session()
        page = self.session.get(f"{self.base}/login", timeout=10).text
        res = self.session.post(f"{self.base}/login", allow_redirects=False, timeout=30, data={
            "username": "master", "password": MASTER_PASSWORD,
            "csrf_token": CSRF_RE.search(page).group(1)})
        if res.status_code != 302:
            raise SystemExit(f"login failed: {res.status_code}")

    def token(self, path: str) -> str:
        return CSRF_RE.search(self.session.get(f"{self.base}{path}", timeout=30).text).group(1)

    def upload(self, group_id: int, data: bytes) -> str:
        """Step 1 of the import: the file kept server-side; returns the mapping page's path."""
        path = f"/contacts/groups/{group_id}"
        res = self.session.post(f"{self.base}{path}/import", allow_redirects=False, timeout=120,
                                data={"csrf_token": self.token(path)},
                                files={"csv_file": ("contacts.csv", data, "text/csv")})
        if res.status_code != 302:
            raise SystemExit(f"upload refused: {res.status_code}")
        return res.headers["Location"].replace(self.base, "")

    def run_import(self, mapping_path: str):
        """Step 3: import with the mapping (phone, first, last, e-mail); the response."""
        return self.session.post(f"{self.base}{mapping_path}", timeout=600, data={
            "csrf_token": self.token(mapping_path), "has_header": "y", "col_0": "phone",
            "col_1": "first_name", "col_2": "last_name", "col_3": "email"})

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def sipp_uas(settings, workdir: Path, name: str, calls: int):
    from tests.integration.sipp import Sipp
    return Sipp(str(SCENARIO), workdir, ["-p", str(settings.trunk_port), "-m", str(calls * 10),
                                         "-timeout", "1800s", "-max_recv_loops", "10000",
                                         "-l", "100000"], name=name).start()


def invites_per_number(uas) -> Counter:
    """One count per dialog (Call-ID) that sipp received an INVITE in, by the number dialled."""
    seen: dict[str, str] = {}
    for msg in uas.messages():
        if not msg.sent and msg.method == "INVITE" and msg.call_id not in seen:
            seen[msg.call_id] = msg.first_line.split()[1].split("@")[0].removeprefix("sip:")
    return Counter(seen.values())


# -- one campaign run ------------------------------------------------------------------------

def next_call_after(campaign_id: int, since, field: str):
    """When the first call of the campaign after `since` was placed / answered (None yet)."""
    from peewee import fn

    from models import Call
    column = getattr(Call, field)
    return db(lambda: Call.select(fn.MIN(column)).where(
        Call.campaign == campaign_id, column > since).scalar())


def wait_for_call(campaign_id: int, since, field: str, timeout: float = 120):
    from models import Campaign
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next_call_after(campaign_id, since, field)
        if found is not None:
            return found
        if db(lambda: Campaign.get_by_id(campaign_id).status) == "completed":
            return None
        time.sleep(0.05)
    return None


def run_campaign(settings, campaign, faults=None) -> dict:
    """Start `campaign`, inject `faults` (a callable run on a thread of its own with the
    start time), wait for completion; returns wall time and counts."""
    from models import Call, Campaign
    from voxcast.campaigns import services as campaign_service

    began = time.monotonic()
    db(lambda: campaign_service.start(Campaign.get_by_id(campaign.id), settings))
    thread, failed = None, []

    def inject():
        try:
            faults(began)
        except BaseException as exc:  # noqa: BLE001 - e.g. the app not starting again
            failed.append(exc)
            raise

    if faults:
        thread = threading.Thread(target=inject, daemon=True)
        thread.start()
    while db(lambda: Campaign.get_by_id(campaign.id).status) != "completed":
        if failed:
            raise SystemExit(f"a fault's injection failed: {failed[0]!r}")
        if time.monotonic() - began > 1800:
            raise SystemExit("the campaign did not complete within 30 minutes")
        time.sleep(0.2)
    wall = time.monotonic() - began
    if thread:
        thread.join(timeout=600)
    time.sleep(2)  # the last closes and settlements
    calls = db(lambda: list(Call.select().where(Call.campaign == campaign.id)))
    return {"wall": wall, "calls": calls,
            "answered": sum(1 for c in calls if c.disposition == "ANSWERED")}


# -- the faults ------------------------------------------------------------------------------

class Faults:
    def __init__(self, args, settings, app: StasisApp, web: Web, campaign, import_group,
                 expected_wall: float, rng: random.Random, csv: bytes, import_rows: int,
                 cluster: Cluster):
        self.args, self.settings, self.app, self.web = args, settings, app, web
        self.cluster = cluster
        self.campaign, self.group = campaign, import_group
        self.rng, self.csv, self.import_rows = rng, csv, import_rows
        kinds = ["kill app"] * 5 + ["restart Asterisk", "restart PostgreSQL", "kill web import"]
        rng.shuffle(kinds)
        moments = sorted(rng.uniform(0.05, 0.7) * expected_wall for _ in kinds)
        self.plan = list(zip(moments, kinds))
        self.results: list[dict] = []
        self.import_report: dict = {}
        self.again: threading.Thread | None = None

    def __call__(self, began: float) -> None:
        from models import Campaign
        from models.entities import utcnow
        for at, kind in self.plan:
            while time.monotonic() - began < at:
                time.sleep(0.05)
            if db(lambda: Campaign.get_by_id(self.campaign.id).status) == "completed":
                self.results.append({"kind": kind, "at": None})
                continue
            fault_at = utcnow()
            t0 = time.monotonic()
            note = getattr(self, "_" + kind.replace(" ", "_").lower())()
            back = time.monotonic() - t0
            placed = wait_for_call(self.campaign.id, fault_at, "placed_at")
            answered = wait_for_call(self.campaign.id, fault_at, "answered_at")
            self.results.append({
                "kind": kind, "at": t0 - began, "note": note, "back": back,
                "placed": (placed - fault_at).total_seconds() if placed else None,
                "answered": (answered - fault_at).total_seconds() if answered else None})
        if self.again is not None:
            self.again.join(timeout=600)

    def _kill_app(self) -> str:
        delay = self.app.kill()
        time.sleep(delay)
        self.app.start()
        who = "the supervisor's" if self.app.fixed_delay is None else "a fixed"
        return f"restarted after {who} {delay:g} s"

    def _restart_asterisk(self) -> str:
        from voxcast.runtime import asterisk
        asterisk.stop(self.settings)
        asterisk.start(self.settings)
        return "asterisk stop + start"

    def _restart_postgresql(self) -> str:
        out = self.cluster.restart()
        c = self.cluster
        return f"pg_ctlcluster {c.version} {c.name} restart: rc {out.returncode}"

    def _kill_web_import(self) -> str:
        """The import's POST in flight, the web UI SIGKILLed once its INSERTs run (seen in
        pg_stat_activity) plus a random moment; the group must then hold every row or none.
        The web UI started again, the same upload is imported (the file stays until it is)."""
        from models import Contact, database
        mapping = self.web.upload(self.group.id, self.csv)
        box: dict = {}

        def post():
            try:
                box["response"] = self.web.run_import(mapping)
            except Exception as exc:  # noqa: BLE001 - the server died under it: expected
                box["error"] = exc

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        inserting = ("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                     "AND query ILIKE 'INSERT INTO \"contact\"%%' AND pid <> pg_backend_pid()")
        seen = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and thread.is_alive():
            if db(lambda: database.execute_sql(inserting, (DBNAME,)).fetchone()[0]):
                seen = True
                break
            time.sleep(0.01)
        time.sleep(self.rng.uniform(0, 0.5))
        finished_first = not thread.is_alive()
        t_kill = time.monotonic()
        self.web.kill()
        thread.join(timeout=30)
        # the server notices its client gone and rolls back; wait for its session to end
        while db(lambda: database.execute_sql(inserting, (DBNAME,)).fetchone()[0]):
            time.sleep(0.05)
        after_kill = db(lambda: Contact.select().where(Contact.group == self.group.id).count())
        self.web.start()
        web_back = time.monotonic() - t_kill
        self.import_report = {
            "rows": self.import_rows, "inserts seen before the kill": seen,
            "response before the kill": finished_first or "response" in box,
            "contacts after the kill": after_kill, "web back after": round(web_back, 2)}

        def again():  # beside the next faults, as a user trying again would
            t = time.monotonic()
            redone = self.web.run_import(mapping).status_code if after_kill == 0 else None
            final = db(lambda: Contact.select().where(Contact.group == self.group.id).count())
            self.import_report.update({
                "imported again": redone, "in": round(time.monotonic() - t, 1),
                "contacts at the end": final,
                "complete at the end": final == self.import_rows,
                "half done": 0 < after_kill < self.import_rows or 0 < final < self.import_rows})

        self.again = threading.Thread(target=again, daemon=True)
        self.again.start()
        return (f"killed {'during' if seen and not finished_first else 'NOT during'} the "
                f"INSERTs; {after_kill} of {self.import_rows} rows after the kill; web back in "
                f"{web_back:.1f} s")


def timeline(run: dict, step: float = 10.0) -> str:
    """Calls answered per `step` seconds from the first call placed: where the time went."""
    calls = run["calls"]
    placed = [c.placed_at for c in calls if c.placed_at]
    if not placed:
        return "no calls"
    start = min(placed)
    counts = Counter(int((c.answered_at - start).total_seconds() // step)
                     for c in calls if c.answered_at)
    return " ".join(str(counts.get(i, 0)) for i in range(max(counts, default=0) + 1))


# -- checks ----------------------------------------------------------------------------------

RESUME_LOG = ("ARI resume phases", "recovered in", "reconcile phases", "no answer to a ping",
              "event socket lost", "Traceback")


def resume_log(path: Path) -> list[str]:
    """What a started app logged of its resume (its phases' times) and of lost sockets."""
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(errors="replace").splitlines()
            if any(marker in line for marker in RESUME_LOG)]


def checks(campaign, numbers: list[str], uas) -> dict:
    from models import Call, Tenant
    from models.entities import CreditReservation, LedgerEntry
    from peewee import fn
    invites = invites_per_number(uas)
    calls = db(lambda: list(Call.select().where(Call.campaign == campaign.id)))
    tenants = db(lambda: list(Tenant.select()))
    ledger_diff = []
    for t in tenants:
        total = db(lambda: LedgerEntry.select(fn.SUM(LedgerEntry.amount)).where(
            LedgerEntry.tenant == t.id).scalar()) or 0
        if (t.balance or 0) != total:
            ledger_diff.append((t.slug, t.balance, total))
    open_reservations = db(lambda: CreditReservation.select().where(
        CreditReservation.released_at.is_null()).count())
    return {
        "dialled twice": sum(1 for n in numbers if invites[n] > 1),
        "never dialled": sum(1 for n in numbers if invites[n] == 0),
        "strangers": sum(1 for n in invites if n not in set(numbers)),
        "open CDRs": sum(1 for c in calls if c.ended_at is None),
        "open reservations": open_reservations,
        "ledger differences": ledger_diff,
        "dispositions": Counter(c.disposition for c in calls),
        "invites": sum(invites.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--cps", type=int, default=25)
    parser.add_argument("--channels", type=int, default=400)
    parser.add_argument("--import-rows", type=int, default=150000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--restart-delay", type=float, default=None,
                        help="start the killed app after this many seconds instead of the "
                             "supervisor's backoff")
    parser.add_argument("--keep-cluster", action="store_true",
                        help=f"leave the PostgreSQL cluster {CLUSTER} (stopped) for the next run")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"start: {uptime()}", flush=True)
    cluster = Cluster.ensure(CLUSTER)
    url = cluster.fresh_database(DBNAME)
    os.environ["DATABASE_URL"] = url
    from models import init_database
    from voxcast import config
    from voxcast.runtime import asterisk
    settings = config.load()
    init_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="voxcast-bench-faults-"))
    env = {"VOXCAST_MAX_CPS": str(args.cps), "VOXCAST_MAX_CHANNELS": str(args.channels)}
    app = StasisApp(settings, workdir, env, args.restart_delay)
    web = Web(settings, workdir)
    uas_list = []
    try:
        master, campaigns, import_group = prepare(settings, args.contacts)
        csv = import_csv(args.import_rows)
        app.start()
        web.start()
        base_campaign, base_numbers = campaigns["no faults"]
        uas = sipp_uas(settings, workdir, "uas-no-faults", args.contacts)
        uas_list.append(uas)
        time.sleep(1)
        base = run_campaign(settings, base_campaign)
        uas.stop()
        base_checks = checks(base_campaign, base_numbers, uas)
        fault_campaign, fault_numbers = campaigns["faults"]
        faults = Faults(args, settings, app, web, fault_campaign, import_group, base["wall"],
                        rng, csv, args.import_rows, cluster)
        uas = sipp_uas(settings, workdir, "uas-faults", args.contacts)
        uas_list.append(uas)
        time.sleep(1)
        hit = run_campaign(settings, fault_campaign, faults)
        uas.stop()
        hit_checks = checks(fault_campaign, fault_numbers, uas)
    finally:
        for u in uas_list:
            u.stop()
        app.stop()
        web.stop()
        asterisk.stop(settings)
        from models import database
        database.close()
        if args.keep_cluster:
            cluster.stop()
        else:
            cluster.drop(keep_log=workdir / "postgresql.log")
    end_load = uptime()

    base_rate = base["answered"] / base["wall"]
    hit_rate = hit["answered"] / hit["wall"]
    print(f"seed {seed}; {args.contacts} contacts per campaign, VOXCAST_MAX_CPS={args.cps}, "
          f"priced (0.60/min, 6/6 s); PostgreSQL {cluster.version}/{cluster.name} on port "
          f"{cluster.port}; workdir {workdir}")
    print(f"no faults: {base['answered']} answered of {len(base['calls'])} calls in "
          f"{base['wall']:.1f} s = {base_rate:.1f} calls/s; dialled twice "
          f"{base_checks['dialled twice']}, never dialled {base_checks['never dialled']}, "
          f"open CDRs {base_checks['open CDRs']}; dispositions "
          f"{dict(base_checks['dispositions'])}")
    print(f"faults: {hit['answered']} answered of {len(hit['calls'])} calls in "
          f"{hit['wall']:.1f} s = {hit_rate:.1f} calls/s; dispositions "
          f"{dict(hit_checks['dispositions'])}; INVITEs at the far end {hit_checks['invites']}")
    print(f"answered per 10 s, no faults: {timeline(base)}")
    print(f"answered per 10 s, faults:    {timeline(hit)}")
    print("faults injected (seconds after the start; resume = from the fault to the next call "
          "placed / answered):")
    for r in faults.results:
        if r["at"] is None:
            print(f"  {r['kind']}: not injected (the campaign had completed)")
            continue
        fmt = lambda v: "never" if v is None else f"{v:.2f} s"  # noqa: E731
        print(f"  {r['at']:6.1f} s {r['kind']}: {r['note']}; took {r['back']:.2f} s; resume: "
              f"placed {fmt(r['placed'])}, answered {fmt(r['answered'])}")
    print("the Stasis app's resume, per start (its log):")
    for n in range(1, app.starts + 1):
        for line in resume_log(workdir / f"stasis-app-{n}.log"):
            print(f"  app {n}: {line}")
    half = 1 if faults.import_report.get("half done", True) else 0
    print(f"import: {faults.import_report}")
    print(f"contacts dialled twice: {hit_checks['dialled twice']}")
    print(f"contacts never dialled: {hit_checks['never dialled']}")
    print(f"numbers dialled that are no contact: {hit_checks['strangers']}")
    print(f"CDRs left open: {hit_checks['open CDRs']}")
    print(f"credit reservations left open: {hit_checks['open reservations']}")
    print(f"ledger differences: {len(hit_checks['ledger differences'])} "
          f"{hit_checks['ledger differences'] or ''}")
    print(f"imports left half-done: {half}")
    print(f"end: {end_load}")
    print(f"ratio: {hit_rate / base_rate:.2f}")


if __name__ == "__main__":
    main()
