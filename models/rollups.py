"""Triggers that keep the rollup and counter tables (models.entities: CampaignTally, CallRollup,
CallQuarter, AgentStateQuarter) equal to a GROUP BY of the raw rows, and the rebuild that
recomputes them from scratch.

Why triggers rather than calls from the code that writes: the raw rows change in many places
(prepared SQL on the Stasis app's hot path, the ORM in the web UI, billing, cascades when a
campaign, contact or user is deleted, tests that build rows by hand). A trigger sees every one
of them in the writer's own transaction, so a counter is never ahead of or behind its rows,
and concurrent writers stay exact: each change is an `n = n + 1` (or an upsert) on one row,
which the database serialises. SQLite and PostgreSQL get the same triggers, written once
here with the few expressions that differ (`_Dialect`).

Each trigger subtracts the old row's contribution (an UPDATE, never an insert: a cascade may
already have removed the rollup row) and adds the new one's (an upsert, only while the tenant
exists, so deleting a tenant never re-creates rows for it). A CDR counts from its INSERT
(open: disposition ''), so the rollups equal the raw table at every moment, calls in progress
included. Agent state rows count once closed (ended_at set), split at each quarter hour they
cross; `voxcast.reports.agent_time` adds the open ones from the raw table.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import PostgresqlDatabase

TRIGGER_NAMES = ("vx_rollup_call", "vx_rollup_campaign_contact", "vx_rollup_queue_call",
                 "vx_rollup_agent_state_log")
ROLLUP_TABLES = ("campaign_tally", "call_rollup", "call_hour", "call_quarter",
                 "agent_state_quarter")

CALL_COLUMNS = ("tenant_id", "started_at", "campaign_id", "agent_id", "direction",
                "disposition", "billsec", "duration", "cost")
ENTRY_COLUMNS = ("tenant_id", "campaign_id", "state", "result")
QUEUE_COLUMNS = ("tenant_id", "campaign_id", "outcome")
STATE_COLUMNS = ("tenant_id", "user_id", "state", "pause_reason_id", "started_at", "ended_at")


@dataclass(frozen=True)
class _Dialect:
    pg: bool

    def flag(self, expr: str) -> str:
        """A condition as 0/1."""
        return f"({expr})::int" if self.pg else f"({expr})"

    def hour(self, ts: str) -> str:
        if self.pg:
            return f"date_trunc('hour', {ts})"
        return f"strftime('%Y-%m-%d %H:00:00', {ts})"

    def quarter(self, ts: str) -> str:
        if self.pg:
            return (f"(date_trunc('hour', {ts}) + "
                    f"floor(extract(minute from {ts}) / 15) * interval '15 minutes')")
        return (f"(strftime('%Y-%m-%d %H:', {ts}) || "
                f"substr('00153045', (CAST(strftime('%M', {ts}) AS INTEGER) / 15) * 2 + 1, 2)"
                f" || ':00')")

    def piece_ms(self, start: str, end: str, bucket: str) -> str:
        """Milliseconds of [start, end) inside the quarter hour from `bucket` (may be <= 0)."""
        if self.pg:
            return (f"round(extract(epoch from (least({end}, {bucket} + interval '15 minutes')"
                    f" - greatest({start}, {bucket}))) * 1000)::bigint")
        # julianday is SQLite's internal millisecond count over 86400000: round() gives it back
        return (f"CAST(round((min(julianday({end}), julianday({bucket}) + 1.0 / 96) - "
                f"max(julianday({start}), julianday({bucket}))) * 86400000) AS INTEGER)")

    def quarters_from(self, start: str, end: str) -> str:
        """A FROM item with column b: every quarter hour from start's up to end."""
        if self.pg:
            return (f"generate_series({self.quarter(start)}, {end}, interval '15 minutes') "
                    f"AS g(b)")
        count = (f"(CAST(round((julianday({self.quarter(end)}) - julianday({self.quarter(start)}))"
                 f" * 96) AS INTEGER) + 1)")
        # n zeros as a JSON array: json_each then numbers the quarters (no CTE in a trigger)
        zeros = f"('[' || substr(replace(hex(zeroblob(max({count}, 0))), '00', ',0'), 2) || ']')"
        return (f"(SELECT datetime({self.quarter(start)}, '+' || (j.key * 15) || ' minutes') "
                f"AS b FROM json_each({zeros}) AS j) AS g")

    def tenant_exists(self, row: str) -> str:
        return f"EXISTS (SELECT 1 FROM tenant WHERE tenant.id = {row}.tenant_id)"


def dialect_of(db) -> _Dialect:
    return _Dialect(pg=isinstance(db.obj if hasattr(db, "obj") else db, PostgresqlDatabase))


# -- what each raw row contributes ---------------------------------------------------------

def _call_statements(d: _Dialect, row: str, sign: int) -> list[str]:
    """Statements adding (sign 1) or subtracting (-1) one CDR `row` (OLD or NEW)."""
    answered = d.flag(f"{row}.disposition = 'ANSWERED'")
    measures = {"calls": "1", "answered": answered, "billsec": f"{row}.billsec",
                "duration": f"{row}.duration", "cost": f"coalesce({row}.cost, 0)"}
    rollup_keys = {"tenant_id": f"{row}.tenant_id", "bucket": d.hour(f"{row}.started_at"),
                   "campaign_id": f"coalesce({row}.campaign_id, 0)",
                   "agent_id": f"coalesce({row}.agent_id, 0)",
                   "direction": f"{row}.direction", "disposition": f"{row}.disposition"}
    hour_keys = {"tenant_id": f"{row}.tenant_id", "bucket": d.hour(f"{row}.started_at"),
                 "campaign_id": f"coalesce({row}.campaign_id, 0)", "direction": f"{row}.direction"}
    quarter_keys = {**hour_keys, "bucket": d.quarter(f"{row}.started_at")}
    tally_cond = f"{row}.campaign_id IS NOT NULL AND {row}.direction = 'outbound'"
    tally = _tally(d, row, "disp", f"{row}.disposition", tally_cond, sign)
    return [_apply(d, "call_rollup", rollup_keys, measures, row, sign),
            _apply(d, "call_hour", hour_keys, measures, row, sign),
            _apply(d, "call_quarter", quarter_keys, measures, row, sign), tally]


def _entry_statements(d: _Dialect, row: str, sign: int) -> list[str]:
    return [_tally(d, row, "state", f"{row}.state", "1 = 1", sign),
            _tally(d, row, "result", f"{row}.result", f"{row}.result <> ''", sign)]


def _queue_statements(d: _Dialect, row: str, sign: int) -> list[str]:
    return [_tally(d, row, "queue", f"{row}.outcome", f"{row}.campaign_id IS NOT NULL", sign)]


def _state_statements(d: _Dialect, row: str, sign: int) -> list[str]:
    keys = (f"tenant_id = {row}.tenant_id AND user_id = {row}.user_id AND state = {row}.state "
            f"AND pause_reason_id = coalesce({row}.pause_reason_id, 0)")
    if sign < 0:
        piece = d.piece_ms(f"{row}.started_at", f"{row}.ended_at", "bucket")
        return [f"UPDATE agent_state_quarter SET ms = ms - (CASE WHEN {piece} > 0 THEN {piece} "
                f"ELSE 0 END) WHERE {keys} AND bucket >= {d.quarter(f'{row}.started_at')} "
                f"AND bucket < {row}.ended_at AND {row}.ended_at IS NOT NULL"]
    piece = d.piece_ms(f"{row}.started_at", f"{row}.ended_at", "g.b")
    return [f"INSERT INTO agent_state_quarter (tenant_id, user_id, bucket, state, "
            f"pause_reason_id, ms) SELECT {row}.tenant_id, {row}.user_id, g.b, {row}.state, "
            f"coalesce({row}.pause_reason_id, 0), {piece} "
            f"FROM {d.quarters_from(f'{row}.started_at', f'{row}.ended_at')} "
            f"WHERE {row}.ended_at IS NOT NULL AND {piece} > 0 AND {d.tenant_exists(row)} "
            f"ON CONFLICT (tenant_id, bucket, user_id, state, pause_reason_id) "
            f"DO UPDATE SET ms = agent_state_quarter.ms + excluded.ms"]


def _apply(d: _Dialect, table: str, keys: dict, measures: dict, row: str, sign: int) -> str:
    if sign < 0:
        sets = ", ".join(f"{m} = {m} - {v}" for m, v in measures.items())
        where = " AND ".join(f"{k} = {v}" for k, v in keys.items())
        return f"UPDATE {table} SET {sets} WHERE {where}"
    cols = [*keys, *measures]
    values = [*keys.values(), *measures.values()]
    sets = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures)
    return (f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)} "
            f"WHERE {d.tenant_exists(row)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}")


def _tally(d: _Dialect, row: str, kind: str, key: str, cond: str, sign: int) -> str:
    if sign < 0:
        return (f"UPDATE campaign_tally SET n = n - 1 WHERE campaign_id = {row}.campaign_id "
                f"AND kind = '{kind}' AND key = {key} AND {cond}")
    return (f"INSERT INTO campaign_tally (tenant_id, campaign_id, kind, key, n) "
            f"SELECT {row}.tenant_id, {row}.campaign_id, '{kind}', {key}, 1 "
            f"WHERE {cond} AND {d.tenant_exists(row)} "
            f"ON CONFLICT (campaign_id, kind, key) DO UPDATE SET n = campaign_tally.n + 1")


_TABLES = (  # trigger name, raw table, columns that matter, statement builder
    ("vx_rollup_call", '"call"', CALL_COLUMNS, _call_statements),
    ("vx_rollup_campaign_contact", "campaign_contact", ENTRY_COLUMNS, _entry_statements),
    ("vx_rollup_queue_call", "queue_call", QUEUE_COLUMNS, _queue_statements),
    ("vx_rollup_agent_state_log", "agent_state_log", STATE_COLUMNS, _state_statements),
)


def trigger_ddl(d: _Dialect) -> list[str]:
    """DROP + CREATE statements for every trigger (and, on PostgreSQL, its function)."""
    out = []
    for name, table, columns, build in _TABLES:
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" if d.pg
                              else f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        if d.pg:
            body = (["IF TG_OP = 'UPDATE' AND NOT (" + changed + ") THEN RETURN NULL; END IF;",
                     "IF TG_OP IN ('UPDATE', 'DELETE') THEN"]
                    + [f"  {s};" for s in build(d, "OLD", -1)]
                    + ["END IF;", "IF TG_OP IN ('INSERT', 'UPDATE') THEN"]
                    + [f"  {s};" for s in build(d, "NEW", 1)]
                    + ["END IF;", "RETURN NULL;"])
            out.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            out.append(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                       f"AS $vx$\nBEGIN\n" + "\n".join(body) + "\nEND\n$vx$")
            bulk = table == "campaign_contact"  # a campaign start inserts every contact at once
            out.append(f"CREATE TRIGGER {name} AFTER {'' if bulk else 'INSERT OR '}DELETE OR "
                       f"UPDATE OF {', '.join(columns)} ON {table} FOR EACH ROW "
                       f"EXECUTE FUNCTION {name}()")
            if bulk:
                out += _bulk_entry_ddl()
            continue
        for suffix, event, when, parts in (
                ("ins", "INSERT", "", build(d, "NEW", 1)),
                ("del", "DELETE", "", build(d, "OLD", -1)),
                ("upd", f"UPDATE OF {', '.join(columns)}", f"WHEN {changed}",
                 build(d, "OLD", -1) + build(d, "NEW", 1))):
            out.append(f"DROP TRIGGER IF EXISTS {name}_{suffix}")
            out.append(f"CREATE TRIGGER {name}_{suffix} AFTER {event} ON {table} "
                       f"FOR EACH ROW {when} BEGIN\n" + ";\n".join(parts) + ";\nEND")
    return out


BULK_ENTRY_TRIGGER = "vx_rollup_campaign_contact_ins"


def _bulk_entry_ddl() -> list[str]:
    """PostgreSQL: new campaign entries counted once per statement from its transition table,
    so a start that queues a million contacts runs one grouped upsert, not a million."""
    name = BULK_ENTRY_TRIGGER
    counts = ("SELECT min(tenant_id) AS tenant_id, campaign_id, 'state' AS kind, state AS key, "
              "count(*) AS n FROM vx_new GROUP BY campaign_id, state UNION ALL "
              "SELECT min(tenant_id), campaign_id, 'result', result, count(*) FROM vx_new "
              "WHERE result <> '' GROUP BY campaign_id, result")
    return [f"DROP TRIGGER IF EXISTS {name} ON campaign_contact",
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $vx$\n"
            f"BEGIN\nINSERT INTO campaign_tally (tenant_id, campaign_id, kind, key, n) "
            f"SELECT * FROM ({counts}) AS c ORDER BY campaign_id, kind, key "
            f"ON CONFLICT (campaign_id, kind, key) DO UPDATE SET n = campaign_tally.n + excluded.n;"
            f"\nRETURN NULL;\nEND\n$vx$",
            f"CREATE TRIGGER {name} AFTER INSERT ON campaign_contact REFERENCING NEW TABLE AS "
            f"vx_new FOR EACH STATEMENT EXECUTE FUNCTION {name}()"]


def drop_ddl(d: _Dialect) -> list[str]:
    out = []
    if d.pg:
        out += [f"DROP TRIGGER IF EXISTS {BULK_ENTRY_TRIGGER} ON campaign_contact",
                f"DROP FUNCTION IF EXISTS {BULK_ENTRY_TRIGGER}()"]
    for name, table, _columns, _build in _TABLES:
        if d.pg:
            out += [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
        else:
            out += [f"DROP TRIGGER IF EXISTS {name}_{s}" for s in ("ins", "del", "upd")]
    return out


def install_triggers(db) -> None:
    """Create (or re-create) every trigger; idempotent."""
    for statement in trigger_ddl(dialect_of(db)):
        db.execute_sql(statement)


def drop_triggers(db) -> None:
    for statement in drop_ddl(dialect_of(db)):
        db.execute_sql(statement)


def installed(db) -> bool:
    """Whether every trigger exists (a table rebuilt by a later SQLite migration loses them)."""
    d = dialect_of(db)
    if d.pg:
        rows = db.execute_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
        wanted = {name for name, *_ in _TABLES} | {BULK_ENTRY_TRIGGER}
    else:
        rows = db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
        wanted = {f"{name}_{s}" for name, *_ in _TABLES for s in ("ins", "del", "upd")}
    return wanted <= {r[0] for r in rows}


# -- the rebuild ---------------------------------------------------------------------------

def rebuild_sql(d: _Dialect) -> list[str]:
    """Statements that empty the rollups and recompute them from the raw tables, set-based."""
    answered = d.flag("disposition = 'ANSWERED'")
    measures = (f"count(*), sum({answered}), sum(billsec), sum(duration), "
                f"sum(coalesce(cost, 0))")
    hour, quarter = d.hour("started_at"), d.quarter("started_at")
    if d.pg:
        pieces = (f"SELECT s.tenant_id, s.user_id, g.b, s.state, coalesce(s.pause_reason_id, 0) "
                  f"AS reason, {d.piece_ms('s.started_at', 's.ended_at', 'g.b')} AS ms "
                  f"FROM agent_state_log s CROSS JOIN LATERAL "
                  f"{d.quarters_from('s.started_at', 's.ended_at')} "
                  f"WHERE s.ended_at IS NOT NULL")
        split = f"SELECT tenant_id, user_id, b, state, reason, sum(ms) FROM ({pieces}) p " \
                f"WHERE ms > 0 GROUP BY tenant_id, user_id, b, state, reason"
        states = ("INSERT INTO agent_state_quarter (tenant_id, user_id, bucket, state, "
                  f"pause_reason_id, ms) {split}")
    else:
        first = d.quarter("started_at")
        states = (
            "INSERT INTO agent_state_quarter (tenant_id, user_id, bucket, state, pause_reason_id,"
            " ms) WITH RECURSIVE q(tenant_id, user_id, state, reason, started_at, ended_at, b) AS ("
            f"SELECT tenant_id, user_id, state, coalesce(pause_reason_id, 0), started_at, "
            f"ended_at, datetime({first}) FROM agent_state_log WHERE ended_at IS NOT NULL "
            "UNION ALL SELECT tenant_id, user_id, state, reason, started_at, ended_at, "
            "datetime(b, '+15 minutes') FROM q WHERE datetime(b, '+15 minutes') < ended_at) "
            f"SELECT tenant_id, user_id, b, state, reason, sum(ms) FROM (SELECT *, "
            f"{d.piece_ms('started_at', 'ended_at', 'b')} AS ms FROM q) WHERE ms > 0 "
            "GROUP BY tenant_id, user_id, b, state, reason")
    return [
        # TRUNCATE on PostgreSQL: after a DELETE every re-inserted key would first meet its
        # own dead index entry (a rebuild three times slower); SQLite truncates a DELETE
        # without WHERE by itself
        *((f"TRUNCATE {', '.join(ROLLUP_TABLES)}",) if d.pg
          else (f"DELETE FROM {t}" for t in ROLLUP_TABLES)),
        "INSERT INTO campaign_tally (tenant_id, campaign_id, kind, key, n) "
        "SELECT min(tenant_id), campaign_id, 'state', state, count(*) FROM campaign_contact "
        "GROUP BY campaign_id, state "
        "UNION ALL SELECT min(tenant_id), campaign_id, 'result', result, count(*) "
        "FROM campaign_contact WHERE result <> '' GROUP BY campaign_id, result "
        "UNION ALL SELECT min(tenant_id), campaign_id, 'disp', disposition, count(*) "
        "FROM \"call\" WHERE campaign_id IS NOT NULL AND direction = 'outbound' "
        "GROUP BY campaign_id, disposition "
        "UNION ALL SELECT min(tenant_id), campaign_id, 'queue', outcome, count(*) "
        "FROM queue_call WHERE campaign_id IS NOT NULL GROUP BY campaign_id, outcome",
        "INSERT INTO call_rollup (tenant_id, bucket, campaign_id, agent_id, direction, "
        "disposition, calls, answered, billsec, duration, cost) "
        f"SELECT tenant_id, {hour}, coalesce(campaign_id, 0), coalesce(agent_id, 0), direction, "
        f"disposition, {measures} FROM \"call\" GROUP BY tenant_id, {hour}, "
        "coalesce(campaign_id, 0), coalesce(agent_id, 0), direction, disposition",
        *(f"INSERT INTO {table} (tenant_id, bucket, campaign_id, direction, calls, answered, "
          f"billsec, duration, cost) SELECT tenant_id, {bucket}, coalesce(campaign_id, 0), "
          f"direction, {measures} FROM \"call\" GROUP BY tenant_id, {bucket}, "
          "coalesce(campaign_id, 0), direction"
          for table, bucket in (("call_hour", hour), ("call_quarter", quarter))),
        states,
    ]


def rebuild(db) -> None:
    """Recompute every rollup and counter from the raw tables (and re-create the triggers),
    in one transaction: `voxcast reports rebuild`, m0008 on an existing database."""
    with db.atomic():
        install_triggers(db)
        for statement in rebuild_sql(dialect_of(db)):
            db.execute_sql(statement)
