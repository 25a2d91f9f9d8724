"""Reports on real volumes (issue 13, item 5).

PostgreSQL: generates, server-side (INSERT ... SELECT over generate_series), 10 M CDRs and
1 M agent-state rows spread over 8 tenants of very different sizes, their campaigns and
agents, four months of days with business-hour peaks and 30-60 % answered; builds the
rollups with the same code `voxcast reports rebuild` runs (timed), ANALYZEs, then times warm
(median of --runs) for the largest tenant over one month: the CDR summary
(voxcast.reports.cdr_summary.summary), agent times (voxcast.reports.agent_time.totals), D2's
agent statistics (voxcast.reports.agent_stats.report) when present, a report-builder query
(voxcast.reports.builder.run when present, else the same grouped query on the rollup), and a
plain SELECT COUNT(*) of that month's CDRs of that tenant. Last line: `ratio: X.XX` = summary
time / COUNT(*) time.

SQLite: the live progress of a campaign of 1 M contacts with 1 M CDRs (what every open
campaign page polls every 2 s), the three GROUP BY scans it ran before against the counters
it reads now.

    .venv/bin/python bench/reports.py [--calls 10000000] [--states 1000000] [--runs 7]
        [--contacts 1000000] [--url postgresql://...] [--reuse] [--skip-sqlite]

The load is generated without the triggers (then the rebuild fills the rollups once, as m0008
does for an existing database), with the indexes and foreign keys dropped and re-created
afterwards: that is how a bulk load is done, and it keeps the bench to a few minutes on two
cores. Not part of `make test` (tests/unit/test_report_rollups.py checks the same code at
small scale).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import models  # noqa: E402
from models import database  # noqa: E402
from models import rollups as rollup_triggers  # noqa: E402
from models.entities import (  # noqa: E402
    AgentSession, AgentStateLog, Call, Campaign, CampaignContact, Contact, ContactGroup,
    PauseReason, Tenant, User,
)

# Tenants: share of the CDRs, campaigns, agents, answered share, time zone.
TENANTS = [
    (0.40, 30, 16, 0.45, "America/New_York"),
    (0.22, 16, 9, 0.38, "Europe/London"),
    (0.14, 10, 6, 0.52, "Asia/Kolkata"),
    (0.10, 8, 4, 0.30, "Europe/Berlin"),
    (0.07, 6, 2, 0.60, "America/Chicago"),
    (0.04, 4, 1, 0.41, "Asia/Kathmandu"),
    (0.02, 3, 1, 0.35, "UTC"),
    (0.01, 2, 1, 0.55, "Australia/Sydney"),
]
FIRST_DAY = dt.date(2026, 7, 1)
CALL_DAYS = 123  # July to October
MONTH = (dt.date(2026, 8, 1), dt.date(2026, 8, 31))
STATE_ROWS_PER_DAY = 320  # a ready / ringing / talk / wrap-up cycle, pauses: ~7 h of work


def timed(fn, runs: int) -> float:
    """Median seconds of `runs` warm calls (one call before, not counted)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


# -- PostgreSQL ----------------------------------------------------------------------------

def _literal(field, value) -> str:
    value = field.db_value(value)
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _pg(sql: str) -> str:
    """A statement run without parameters: psycopg still reads % as a placeholder."""
    return sql.replace("%", "%%")


def _default(field) -> str:
    return _literal(field, field.default() if callable(field.default) else field.default)


def _insert(model, exprs: dict[str, str], source: str) -> str:
    """INSERT of every column of `model`: `exprs` for the generated ones, the model's constant
    default (or NULL) for the rest."""
    cols, values = [], []
    for field in model._meta.sorted_fields:
        if field.primary_key:
            continue
        cols.append(f'"{field.column_name}"')
        if field.column_name in exprs:
            values.append(exprs[field.column_name])
        else:
            values.append(_default(field))
    return (f'INSERT INTO "{model._meta.table_name}" ({", ".join(cols)}) '
            f'SELECT {", ".join(values)} FROM {source}')


class BulkLoad:
    """Secondary indexes and foreign keys of a table off during a load, on again after."""

    def __init__(self, tables: list[str]):
        self.tables = tables
        self.indexes: list[str] = []
        self.fks: list[tuple[str, str, str]] = []

    def __enter__(self):
        for table in self.tables:
            for name, definition in database.execute_sql(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f'", (table,)).fetchall():
                self.fks.append((table, name, definition))
                database.execute_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            for name, definition in database.execute_sql(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
                    "AND i.indexname NOT IN (SELECT conname FROM pg_constraint "
                    "WHERE contype IN ('p', 'u'))", (table,)).fetchall():
                self.indexes.append(definition)
                database.execute_sql(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        for definition in self.indexes:
            database.execute_sql(definition)
        for table, name, definition in self.fks:
            database.execute_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        return False


def _arr(values) -> str:
    return "ARRAY[" + ", ".join(str(v) for v in values) + "]"


def generate_pg(n_calls: int, n_states: int) -> dict:
    """The tenants, campaigns, agents by the ORM; CDRs, sessions and states server-side."""
    tenants, camp_first, camp_n, agent_first, agent_n, answer = [], [], [], [], [], []
    reasons, sessions_first = [], []
    with database.atomic():
        for i, (_share, n_camp, n_agents, rate, zone) in enumerate(TENANTS):
            tenant = Tenant.create(name=f"Bench {i} ({zone})", slug=f"bench{i}")
            group = ContactGroup.create(tenant=tenant, name="all")
            camps = [Campaign.create(tenant=tenant, name=f"Campaign {i}-{k:02d}", group=group,
                                     status="completed") for k in range(n_camp)]
            agents = [User.create(tenant=tenant, username=f"b{i}-agent{k:02d}", role="agent",
                                  password_hash="x", first_name="Agent", last_name=f"{i}-{k}")
                      for k in range(n_agents)]
            tenant_reasons = [PauseReason.create(tenant=tenant, name=name).id
                              for name in ("Lunch", "Break", "Training")]
            tenants.append(tenant.id)
            camp_first.append(camps[0].id)
            camp_n.append(n_camp)
            agent_first.append(agents[0].id)
            agent_n.append(n_agents)
            answer.append(rate)
            reasons.append(tenant_reasons[0])
    cumulative, acc = [], 0.0
    for share, *_ in TENANTS:
        acc += share
        cumulative.append(round(acc, 4))
    tenant_case = "CASE " + " ".join(f"WHEN rt < {c} THEN {k + 1}"
                                     for k, c in enumerate(cumulative[:-1])) + \
        f" ELSE {len(TENANTS)} END"
    timings = {}
    # CDRs: one pass of random draws per row, then every column from them
    draws = (f"(SELECT i, {tenant_case} AS t, r_dir, r_disp, r_day, r_sec, r_biz, r_camp, "
             f"r_agent, r_bill, r_ring FROM (SELECT i, random() AS rt, random() AS r_dir, "
             f"random() AS r_disp, random() AS r_day, random() AS r_sec, random() AS r_biz, "
             f"random() AS r_camp, random() AS r_agent, random() AS r_bill, random() AS r_ring "
             f"FROM generate_series(1, {n_calls}) AS i) AS raw) AS d")
    direction = ("(CASE WHEN r_dir < 0.62 THEN 'outbound' WHEN r_dir < 0.82 THEN 'inbound' "
                 "WHEN r_dir < 0.92 THEN 'agent' WHEN r_dir < 0.97 THEN 'phone' "
                 "ELSE 'internal' END)")
    ans = f"({_arr(answer)})[t]"
    u = f"((r_disp - {ans}) / (1 - {ans}))"
    disposition = (f"(CASE WHEN r_disp < {ans} THEN 'ANSWERED' WHEN {u} < 0.45 THEN 'NO ANSWER' "
                   f"WHEN {u} < 0.70 THEN 'BUSY' WHEN {u} < 0.82 THEN 'FAILED' "
                   f"WHEN {u} < 0.87 THEN 'CONGESTION' WHEN r_dir < 0.62 THEN 'MACHINE' "
                   f"ELSE 'NO ANSWER' END)")
    billsec = f"(CASE WHEN r_disp < {ans} THEN least(3600, floor(-ln(1 - r_bill) * 95))::int ELSE 0 END)"
    ring = "(floor(r_ring * 25))::int"
    started = (f"(timestamp '{FIRST_DAY}' + floor(r_day * {CALL_DAYS}) * interval '1 day' + "
               "(CASE WHEN r_biz < 0.85 THEN 8 * 3600 + r_sec * 12 * 3600 ELSE r_sec * 86400 END)"
               " * interval '1 second')")
    with_agent = "(r_dir >= 0.62 AND r_dir < 0.92)"
    exprs = {
        "tenant_id": f"({_arr(tenants)})[t]",
        "campaign_id": f"(CASE WHEN r_dir < 0.62 THEN ({_arr(camp_first)})[t] + "
                       f"floor(r_camp * ({_arr(camp_n)})[t])::int END)",
        "agent_id": f"(CASE WHEN {with_agent} AND r_disp < {ans} THEN ({_arr(agent_first)})[t] + "
                    f"floor(r_agent * ({_arr(agent_n)})[t])::int END)",
        "direction": direction,
        "number": "'+1202' || lpad((i % 10000000)::text, 7, '0')",
        "channel_id": "'bench-' || i",
        "started_at": started,
        "answered_at": f"(CASE WHEN r_disp < {ans} THEN {started} + {ring} * interval '1 second' END)",
        "ended_at": f"{started} + ({ring} + {billsec}) * interval '1 second'",
        "duration": f"{ring} + {billsec}",
        "billsec": billsec,
        "disposition": disposition,
        "hangup_cause": "16",
        "cost": f"round({billsec} * 0.012 / 60, 4)",
    }
    start = time.perf_counter()
    with BulkLoad(["call"]):
        database.execute_sql("SET maintenance_work_mem = '512MB'")
        database.execute_sql(_pg(_insert(Call, exprs, draws)))
        timings["insert calls"] = time.perf_counter() - start
    timings["calls with indexes"] = time.perf_counter() - start
    # Agents: a session per working day, STATE_ROWS_PER_DAY states per session, each starting
    # where the one before ended (ringing -> on_call joins on that)
    agent_ids, agent_tenant = [], []
    for k, tenant_id in enumerate(tenants):
        for a in range(agent_n[k]):
            agent_ids.append(agent_first[k] + a)
            agent_tenant.append(k + 1)
    days = max(1, n_states // (len(agent_ids) * STATE_ROWS_PER_DAY))
    day_date = ("(timestamp '" + str(FIRST_DAY) + "' + ((d / 5) * 7 + d % 5) * interval '1 day')")
    start = time.perf_counter()
    database.execute_sql(_pg(_insert(
        AgentSession,
        {"tenant_id": f"({_arr(tenants)})[({_arr(agent_tenant)})[a]]",
         "user_id": f"({_arr(agent_ids)})[a]", "via": "'web'", "state": "'logged_out'",
         "state_since": f"{day_date} + interval '16 hours'",
         "started_at": f"{day_date} + interval '8 hours'",
         "ended_at": f"{day_date} + interval '16 hours'", "end_reason": "'logout'"},
        f"generate_series(1, {len(agent_ids)}) AS a CROSS JOIN generate_series(0, {days - 1}) AS d")))
    first_session = database.execute_sql(
        "SELECT min(id) FROM agent_session WHERE end_reason = 'logout'").fetchone()[0]
    sessions_first.append(first_session)
    state = ("(CASE WHEN j > 0 AND j % 40 = 0 THEN 'paused' WHEN j % 4 = 0 THEN 'ready' "
             "WHEN j % 4 = 1 THEN 'ringing' WHEN j % 4 = 2 THEN 'on_call' ELSE 'wrapup' END)")
    seconds = ("(CASE WHEN j > 0 AND j % 40 = 0 THEN 300 + floor(r * 1500) "
               "WHEN j % 4 = 0 THEN 5 + floor(-ln(1 - r) * 40) WHEN j % 4 = 1 THEN 3 + floor(r * 12) "
               "WHEN j % 4 = 2 THEN 20 + floor(-ln(1 - r) * 150) ELSE 10 + floor(r * 30) END)")
    timeline = (f"(SELECT a, d, j, {state} AS state, "
                f"sum({seconds}) OVER w - {seconds} AS off, {seconds} AS secs FROM "
                f"(SELECT a, d, j, random() AS r FROM generate_series(1, {len(agent_ids)}) AS a "
                f"CROSS JOIN generate_series(0, {days - 1}) AS d "
                f"CROSS JOIN generate_series(0, {STATE_ROWS_PER_DAY - 1}) AS j) AS s "
                f"WINDOW w AS (PARTITION BY a, d ORDER BY j)) AS tl")
    begin = f"({day_date} + interval '8 hours' + off * interval '1 second')"
    state_exprs = {
        "tenant_id": f"({_arr(tenants)})[({_arr(agent_tenant)})[a]]",
        "session_id": f"{first_session} + (a - 1) * {days} + d",
        "user_id": f"({_arr(agent_ids)})[a]",
        "state": "state",
        "pause_reason_id": f"(CASE WHEN state = 'paused' THEN ({_arr(reasons)})[({_arr(agent_tenant)})[a]] END)",
        "started_at": begin,
        "ended_at": f"{begin} + secs * interval '1 second'",
    }
    with BulkLoad(["agent_state_log"]):
        database.execute_sql(_pg(_insert(AgentStateLog, state_exprs, timeline)))
    timings["insert agent states"] = time.perf_counter() - start
    return {"tenants": tenants, "timings": timings, "days": days, "agents": len(agent_ids)}


def run_pg(args) -> None:
    url = args.url
    if url is None:
        from tests.pg_support import postgres_url
        url = postgres_url(args.database) if not args.reuse else \
            f"postgresql://voxcast_test:voxcast_test@127.0.0.1/{args.database}"
        if url is None:
            sys.exit("PostgreSQL is not available")
    models.init_database(url)
    database.connect(reuse_if_open=True)
    print(f"PostgreSQL {database.server_version}, load before: {load()}")
    loaded = args.reuse and Call.select().count() >= args.calls * 0.99
    if not loaded:
        models.create_schema()
        rollup_triggers.drop_triggers(database)  # a bulk load; the rebuild fills them once
        start = time.perf_counter()
        with database.atomic():
            info = generate_pg(args.calls, args.states)
        print(f"generated {Call.select().count():,} CDRs and {AgentStateLog.select().count():,} "
              f"agent states ({info['agents']} agents, {info['days']} days each) in "
              f"{time.perf_counter() - start:.1f} s ("
              + ", ".join(f"{k} {v:.1f} s" for k, v in info["timings"].items()) + ")")
        start = time.perf_counter()
        database.execute_sql("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE in {time.perf_counter() - start:.1f} s")
        from voxcast.reports import rollups
        done = rollups.rebuild()
        print(f"rollups rebuilt (voxcast reports rebuild) in {done.seconds:.1f} s: "
              + ", ".join(f"{t} {n:,} rows" for t, n in done.rows.items()))
        database.execute_sql("VACUUM ANALYZE")
    big = Tenant.get(Tenant.slug == "bench0")
    measure_pg(big, args.runs)


def measure_pg(tenant: Tenant, runs: int) -> None:
    from voxcast.reports import agent_time, cdr_summary
    from voxcast.reports.period import ReportPeriod, zone_of
    now = dt.datetime(2026, 12, 1)
    results = {}
    for zone in ("America/New_York", "Asia/Kolkata"):
        period = ReportPeriod(MONTH[0], MONTH[1], zone_of(zone))
        month_calls = Call.select().where(Call.tenant == tenant.id, Call.started_at >= period.since,
                                          Call.started_at < period.until)
        count = timed(lambda: month_calls.count(), runs)
        summary = timed(lambda: cdr_summary.summary(tenant.id, period), runs)
        rows = cdr_summary.summary(tenant.id, period)
        check = sum(r.calls for r in rows) + Call.select().where(
            Call.tenant == tenant.id, Call.started_at >= period.since,
            Call.started_at < period.until, Call.direction.in_(cdr_summary.LEG_DIRECTIONS)).count()
        assert check == month_calls.count(), "the summary must count every CDR but the legs"
        totals = timed(lambda: agent_time.totals(tenant.id, period, now=now), runs)
        print(f"\n{tenant.name}, {MONTH[0]:%B %Y} in {zone}: {month_calls.count():,} CDRs, "
              f"{len(rows)} summary rows, {len(agent_time.totals(tenant.id, period, now=now))} agents")
        print(f"  CDR summary (cdr_summary.summary)           {ms(summary)}")
        print(f"  agent times (agent_time.totals)             {ms(totals)}")
        try:
            from voxcast.reports import agent_stats
        except ImportError:
            agent_stats = None
        if agent_stats is not None:
            print(f"  agent statistics (agent_stats.report)      "
                  f"{ms(timed(lambda: agent_stats.report(tenant.id, period, now=now), runs))}")
        builder_time, how = builder_query(tenant, period, now, runs)
        print(f"  report builder ({how}) {ms(builder_time)}")
        print(f"  SELECT COUNT(*) of the month's CDRs        {ms(count)}")
        results[zone] = (summary, count)
    print(f"\nload after: {load()}")
    summary, count = results["America/New_York"]
    print(f"ratio: {summary / count:.2f}")


def builder_query(tenant, period, now, runs) -> tuple[float, str]:
    """Calls, answered and talk time per agent and disposition over the month."""
    definition = {"source": "calls", "fields": ["agent", "disposition", "count", "sum:billsec"],
                  "group_by": ["agent", "disposition"],
                  "sort": [{"field": "count", "desc": True}]}
    try:
        from voxcast.reports import builder
        result = builder.run(tenant.id, definition, period, now=now)
        how = f"builder.run, {getattr(result, 'source', '') or getattr(result, 'used', '')}"
        return timed(lambda: builder.run(tenant.id, definition, period, now=now), runs), \
            f"{how:30s}"[:30]
    except ImportError:
        pass
    from peewee import fn
    from models.entities import CallRollup
    r = CallRollup
    query = (r.select(r.agent_id, r.disposition, fn.SUM(r.calls), fn.SUM(r.billsec))
             .where(r.tenant == tenant.id, r.bucket >= period.since, r.bucket < period.until)
             .group_by(r.agent_id, r.disposition))
    return timed(lambda: list(query.tuples()), runs), "grouped query, CallRollup"


# -- SQLite: campaign progress -------------------------------------------------------------

def old_progress(campaign_id: int) -> None:
    """The three GROUP BY scans of progress_many before the counters (commit 846df9a^)."""
    from peewee import fn
    list(Call.select(Call.campaign, Call.disposition, fn.COUNT(Call.id))
         .where(Call.campaign.in_([campaign_id]), Call.direction == "outbound")
         .group_by(Call.campaign, Call.disposition).tuples())
    list(CampaignContact.select(CampaignContact.campaign, CampaignContact.state,
                                fn.COUNT(CampaignContact.id))
         .where(CampaignContact.campaign.in_([campaign_id]))
         .group_by(CampaignContact.campaign, CampaignContact.state).tuples())
    list(CampaignContact.select(CampaignContact.campaign, CampaignContact.result,
                                fn.COUNT(CampaignContact.id))
         .where(CampaignContact.campaign.in_([campaign_id]), CampaignContact.result != "")
         .group_by(CampaignContact.campaign, CampaignContact.result).tuples())


def _sqlite_entries(campaign_id: int) -> None:
    """The INSERT ... SELECT campaign_service.start runs (voxcast.campaigns.services)."""
    from peewee import Value
    rows = (Contact.select(Contact.tenant, Value(campaign_id), Contact.id, Contact.phone,
                           Value("pending"), Value(0), Value(dt.datetime(2026, 11, 1)),
                           Value(""), Value("")))
    (CampaignContact.insert_from(rows, [
        CampaignContact.tenant, CampaignContact.campaign, CampaignContact.contact,
        CampaignContact.phone, CampaignContact.state, CampaignContact.attempts,
        CampaignContact.next_attempt_at, CampaignContact.last_disposition,
        CampaignContact.result]).execute())


def _sqlite_states(campaign_id: int) -> None:
    """Every entry moved on once (1 M UPDATEs of state and result), as the dialer would."""
    database.execute_sql(
        "UPDATE campaign_contact SET state = CASE WHEN id % 10 < 6 THEN 'done' "
        "WHEN id % 10 < 8 THEN 'failed' WHEN id % 10 = 8 THEN 'pending' "
        "WHEN id % 50 = 9 THEN 'dialing' ELSE 'dnc' END, "
        "result = CASE WHEN id % 7 = 0 THEN 'pressed1' ELSE '' END "
        f"WHERE campaign_id = {campaign_id}")


def _sqlite_calls(campaign_id: int) -> None:
    """A closed CDR per entry, 50 % answered."""
    disp = ("CASE WHEN e.id % 10 < 5 THEN 'ANSWERED' WHEN e.id % 10 < 7 THEN 'NO ANSWER' "
            "WHEN e.id % 10 < 8 THEN 'BUSY' WHEN e.id % 10 < 9 THEN 'MACHINE' ELSE 'FAILED' END")
    cols = [f for f in Call._meta.sorted_fields if not f.primary_key]
    values = {"tenant_id": "e.tenant_id", "campaign_id": "e.campaign_id",
              "contact_id": "e.contact_id", "entry_id": "e.id", "number": "e.phone",
              "channel_id": f"'p{campaign_id}-' || e.id", "disposition": disp,
              "billsec": "CASE WHEN e.id % 10 < 5 THEN e.id % 120 ELSE 0 END",
              "started_at": "datetime('2026-11-01', '+' || (e.id % 86400) || ' seconds')",
              "ended_at": "datetime('2026-11-01', '+' || (e.id % 86400 + 30) || ' seconds')"}
    database.execute_sql(
        f"INSERT INTO call ({', '.join(f.column_name for f in cols)}) SELECT "
        + ", ".join(values.get(f.column_name) or _default(f) for f in cols)
        + f" FROM campaign_contact e WHERE e.campaign_id = {campaign_id}")


def run_sqlite(args) -> None:
    """Two campaigns of the same million contacts: one loaded through the triggers (the cost
    they add to a start, to entry moves and to CDR writes), one without them (the baseline,
    then counted by the rebuild)."""
    from voxcast.campaigns import services as campaign_service
    from voxcast.reports import rollups
    n = args.contacts
    with tempfile.TemporaryDirectory() as tmp:
        models.init_database(f"sqlite:///{tmp}/progress.sqlite3")
        models.create_schema()
        tenant = Tenant.create(name="Progress", slug="progress")
        group = ContactGroup.create(tenant=tenant, name="million")
        campaigns = [Campaign.create(tenant=tenant, name=name, group=group, status="running")
                     for name in ("with triggers", "baseline")]
        seq = f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})"
        with database.atomic():
            cols = [f for f in Contact._meta.sorted_fields if not f.primary_key]
            values = {"tenant_id": str(tenant.id), "group_id": str(group.id),
                      "phone": "'+1202' || printf('%07d', i)"}
            database.execute_sql(
                f"{seq} INSERT INTO contact ({', '.join(f.column_name for f in cols)}) SELECT "
                + ", ".join(values.get(f.column_name) or _default(f) for f in cols) + " FROM s")
        print(f"\nSQLite {database.execute_sql('select sqlite_version()').fetchone()[0]}, "
              f"{n:,} contacts; with the counters' triggers / without:")
        cost = {}
        for campaign in campaigns:
            if campaign.name == "baseline":
                rollup_triggers.drop_triggers(database)
            for step, fn in (("campaign start (entries inserted)", _sqlite_entries),
                             ("every entry moved on once", _sqlite_states),
                             ("a CDR per entry", _sqlite_calls)):
                start = time.perf_counter()
                with database.atomic():
                    fn(campaign.id)
                cost.setdefault(step, []).append(time.perf_counter() - start)
        for step, (with_t, without) in cost.items():
            print(f"  {step:36s} {with_t:6.2f} s / {without:6.2f} s "
                  f"(+{(with_t - without) / n * 1e6:.1f} us a row)")
        database.execute_sql("ANALYZE")
        done = rollups.rebuild()
        print(f"  counters and rollups rebuilt (voxcast reports rebuild, {2 * n:,} CDRs) in "
              f"{done.seconds:.1f} s")
        assert not rollups.differences(), "the triggers must agree with a recount"
        campaign = Campaign.get_by_id(campaigns[0].id)
        before = timed(lambda: old_progress(campaign.id), max(3, args.runs // 2))
        after = timed(lambda: campaign_service.progress_many([campaign]), args.runs)
        progress = campaign_service.progress(campaign)
        assert progress["total"] == n and progress["dialed"] == n, progress
        print(f"  campaign live progress, 3 GROUP BY scans (before) {ms(before)}")
        print(f"  campaign live progress, counters (now)           {ms(after)}")
        print(f"  ({before / after:,.0f}x faster; total {progress['total']:,}, dialed "
              f"{progress['dialed']:,}, answered {progress['answered']:,})")
        models.database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--states", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--url", default=os.environ.get("VOXCAST_BENCH_PG_URL"))
    parser.add_argument("--database", default="voxcast_bench_reports",
                        help="PostgreSQL database made fresh (default voxcast_bench_reports)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an already generated database and only measure")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {load()}")
    if not args.skip_sqlite:
        run_sqlite(args)
    if not args.skip_postgresql:
        run_pg(args)  # last: its ratio is the last line


if __name__ == "__main__":
    main()
