"""The statements the Stasis app runs for every call, as SQL text made once per database.

Peewee builds SQL anew for each query, and at a hundred calls a second that building was most
of the writer thread's time (docs/decisions.md), so the hot path runs prepared text with
`execute_sql`. The text is generated here from the models' own metadata (`_meta.sorted_fields`,
`column_name`, `default`, `null`), never written by hand: a renamed column, a new NOT NULL
column or a changed default changes the statements with it, and `insert` refuses to make an
INSERT that would leave a NOT NULL column without a value (tests/unit/test_prepared_sql.py).
"""
from __future__ import annotations

from decimal import Decimal

from peewee import SQL, AutoField, Field, Model, PostgresqlDatabase

from .db import ROW_LOCK, database, node_name

from .entities import (Call, Campaign, CampaignContact, CreditBucket, CreditReservation,
                       LedgerEntry, NodeField, Tenant)


class UnfilledColumn(ValueError):
    """An INSERT would leave a NOT NULL column without a value or a constant default."""


def q(name: str) -> str:
    return f'"{name}"'


def col(field: Field) -> str:
    return q(field.column_name)


def _literal(field: Field, value) -> str:
    """A constant as SQL text (defaults are small ints and strings)."""
    value = field.db_value(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"{field.model.__name__}.{field.name}: no SQL literal for {value!r}")


def _db_default(field: Field) -> bool:
    return any(isinstance(c, SQL) and "DEFAULT" in c.sql.upper() for c in field.constraints or ())


def insert_columns(model: type[Model], given: tuple[str, ...], fixed: dict | None = None
                   ) -> list[tuple[Field, str | None]]:
    """(field, literal) for every column an INSERT of `model` writes: the `given` fields first
    (literal None: bound as a parameter, in that order), then `fixed` constants, then each
    other field's constant default. Nullable fields and database defaults are left out;
    any other field without a constant default raises UnfilledColumn."""
    fields = model._meta.fields
    fixed = fixed or {}
    for name in (*given, *fixed):
        if name not in fields:
            raise KeyError(f"{model.__name__} has no field {name!r}")
    out: list[tuple[Field, str | None]] = [(fields[name], None) for name in given]
    for field in model._meta.sorted_fields:
        if field.name in given or isinstance(field, AutoField):
            continue
        if field.name in fixed:
            out.append((field, _literal(field, fixed[field.name])))
        elif field.default is not None and not callable(field.default):
            out.append((field, _literal(field, field.default)))
        elif isinstance(field, NodeField):  # constant for this process
            out.append((field, _literal(field, field.default())))
        elif field.null or _db_default(field):
            continue
        else:
            raise UnfilledColumn(f"{model.__name__}.{field.name} is NOT NULL without a constant "
                                 f"default: the prepared INSERT must be given it")
    return out


def insert(model: type[Model], param: str, given: tuple[str, ...], fixed: dict | None = None,
           rows: int = 1, returning: tuple[Field, ...] = ()) -> str:
    columns = insert_columns(model, given, fixed)
    row = "(" + ", ".join(param if lit is None else lit for _, lit in columns) + ")"
    sql = (f"INSERT INTO {q(model._meta.table_name)} ("
           + ", ".join(col(f) for f, _ in columns) + ") VALUES " + ", ".join([row] * rows))
    if returning:
        sql += " RETURNING " + ", ".join(col(f) for f in returning)
    return sql


# What each UPDATE writes, by field: the test compares these with the models.
ANSWER = (Call.answered_at, Call.placed_at)
CLOSE = (Call.answered_at, Call.ended_at, Call.duration, Call.billsec, Call.disposition,
         Call.hangup_cause, Call.cause_txt)
ADVANCE = (CampaignContact.state, CampaignContact.last_disposition,
           CampaignContact.next_attempt_at)
# The columns of a claim's CDRs and of an inbound CDR that are bound per call, in this order.
CLAIM_GIVEN = ("tenant", "campaign", "contact", "entry", "number", "channel_id", "started_at")
INBOUND_GIVEN = ("tenant", "number", "did", "channel_id", "started_at")
# The columns claim_due reads of a due entry, in this order (voxcast.dialing.claims._Entry).
DUE_READS = (CampaignContact.id, CampaignContact.tenant, CampaignContact.contact,
             CampaignContact.phone)


class Statements:
    """The hot path's statements for one database (placeholder style, RETURNING or not)."""

    def __init__(self, db):
        self.param = p = db.param
        self.pg = isinstance(db, PostgresqlDatabase)
        call, entry = q(Call._meta.table_name), q(CampaignContact._meta.table_name)
        cid, eid = col(Call.id), col(CampaignContact.id)
        answered, placed = (col(f) for f in ANSWER)
        self.answer = (f"UPDATE {call} SET {answered} = {p}, {placed} = COALESCE({placed}, {p}) "
                       f"WHERE {cid} = {p} AND {answered} IS NULL")
        self.open = (f"SELECT {col(Call.started_at)}, {col(Call.ended_at)}, {answered}, "
                     f"{col(Call.entry)}, {col(Call.tenant)} FROM {call} WHERE {cid} = {p}")
        self.close = (f"UPDATE {call} SET " + ", ".join(f"{col(f)} = {p}" for f in CLOSE)
                      + f" WHERE {cid} = {p}")
        self.entry = (f"SELECT {col(CampaignContact.campaign)}, {col(CampaignContact.attempts)} "
                      f"FROM {entry} WHERE {eid} = {p}")
        state, last, nxt = (col(f) for f in ADVANCE)
        self.advance = (f"UPDATE {entry} SET {state} = {p}, {last} = {p}, "
                        f"{nxt} = COALESCE({p}, {nxt}) WHERE {eid} = {p}")
        self.free = f"UPDATE {call} SET {col(Call.cost)} = 0 WHERE {cid} = {p}"
        cc, t = CampaignContact, Tenant
        self.due = (
            "SELECT " + ", ".join(f"e.{col(f)}" for f in DUE_READS)
            + f" FROM {entry} e WHERE e.{col(cc.campaign)} = {p} "
            f"AND e.{col(cc.state)} = 'pending' AND e.{col(cc.next_attempt_at)} <= {p} "
            f"AND EXISTS (SELECT 1 FROM {q(Campaign._meta.table_name)} c "
            f"JOIN {q(t._meta.table_name)} t ON t.{col(t.id)} = c.{col(Campaign.tenant)} "
            f"WHERE c.{col(Campaign.id)} = {p} AND c.{col(Campaign.status)} = 'running' "
            f"AND t.{col(t.status)} = 'active') "
            f"ORDER BY e.{col(cc.next_attempt_at)}, e.{col(cc.id)} LIMIT {p}"
            # Several nodes claim from one PostgreSQL: each takes rows no other is claiming
            # (SQLite has one writer and no row locks).
            + (" FOR UPDATE OF e SKIP LOCKED" if self.pg else ""))
        self.inbound = insert(Call, p, INBOUND_GIVEN, {"direction": "inbound"},
                              returning=(Call.id,) if self.pg else ())
        self._claims: dict[int, str] = {}

    def claim_insert(self, rows: int) -> str:
        """The CDRs of a claim, `rows` at once, answering (channel_id, id) per row."""
        sql = self._claims.get(rows)
        if sql is None:
            sql = self._claims[rows] = insert(Call, self.param, CLAIM_GIVEN,
                                              {"direction": "outbound"}, rows=rows,
                                              returning=(Call.channel_id, Call.id))
        return sql


# The columns of a call's reservation and of a call's ledger entry bound per row, in order.
RESERVE_GIVEN = ("tenant", "amount", "seconds", "reference", "call", "created_at")
ENTRY_GIVEN = ("tenant", "kind", "amount", "balance_after", "free_money", "free_seconds",
               "reference", "call", "created_at")


class BillingStatements:
    """Billing at call time for many calls of one tenant at once (voxcast.billing.ledger's
    authorize_calls and settle_calls): a locked balance read, the state reservations depend
    on, and multi-row writes. Statements over n rows are made once per n."""

    def __init__(self, db):
        self.param = p = db.param
        t, r = q(Tenant._meta.table_name), q(CreditReservation._meta.table_name)
        b, e = q(CreditBucket._meta.table_name), q(LedgerEntry._meta.table_name)
        self._call = q(Call._meta.table_name)
        lock = f" {ROW_LOCK}" if getattr(db, "for_update", False) else ""
        self.tenant_lock = (f"SELECT {col(Tenant.balance)}, {col(Tenant.low_balance_threshold)}, "
                            f"{col(Tenant.low_balance_notified)} FROM {t} "
                            f"WHERE {col(Tenant.id)} = {p}{lock}")
        self.set_balance = f"UPDATE {t} SET {col(Tenant.balance)} = {p} WHERE {col(Tenant.id)} = {p}"
        cr = CreditReservation
        self.open_reserved = (f"SELECT COALESCE(SUM({col(cr.amount)}), 0), "
                              f"COALESCE(SUM({col(cr.seconds)}), 0), COUNT(*) FROM {r} "
                              f"WHERE {col(cr.tenant)} = {p} AND {col(cr.released_at)} IS NULL")
        cb = CreditBucket
        self.buckets = (  # the order of ledger._usable_buckets: soonest expiry first
            f"SELECT {col(cb.id)}, {col(cb.kind)}, {col(cb.amount)}, {col(cb.seconds)} FROM {b} "
            f"WHERE {col(cb.tenant)} = {p} AND (({col(cb.kind)} = 'money' AND {col(cb.amount)} > 0)"
            f" OR ({col(cb.kind)} = 'minutes' AND {col(cb.seconds)} > 0)) AND "
            f"({col(cb.expires_at)} IS NULL OR {col(cb.expires_at)} > {p}) ORDER BY "
            f"{col(cb.expires_at)} IS NULL, {col(cb.expires_at)}, {col(cb.id)}")
        self.set_bucket = (f"UPDATE {b} SET {col(cb.amount)} = {p}, {col(cb.seconds)} = {p} "
                           f"WHERE {col(cb.id)} = {p}")
        self.grow = (f"UPDATE {r} SET {col(cr.amount)} = {col(cr.amount)} + {p}, "
                     f"{col(cr.seconds)} = {col(cr.seconds)} + {p} WHERE {col(cr.id)} = {p}")
        self._reservations = (f"SELECT {col(cr.id)}, {col(cr.reference)}, {col(cr.entry)}, "
                              f"{col(cr.released_at)} FROM {r} WHERE {col(cr.tenant)} = {p} AND "
                              f"{col(cr.id)} IN ")
        self._charged = (f"SELECT {col(LedgerEntry.call)}, {col(LedgerEntry.id)} FROM {e} WHERE "
                         f"{col(LedgerEntry.kind)} = {p} AND {col(LedgerEntry.call)} IN ")
        self._settle = (f"UPDATE {r} SET {col(cr.released_at)} = COALESCE({col(cr.released_at)}, "
                        f"{p}), {col(cr.entry)} = CASE {col(cr.id)} ")
        self._release = (f"UPDATE {r} SET {col(cr.released_at)} = {p} WHERE "
                         f"{col(cr.released_at)} IS NULL AND {col(cr.id)} IN ")
        self._made: dict[tuple, str] = {}

    def _many(self, name: str, rows: int, make) -> str:
        sql = self._made.get((name, rows))
        if sql is None:
            sql = self._made[name, rows] = make()
        return sql

    def _in(self, rows: int) -> str:
        return "(" + ", ".join([self.param] * rows) + ")"

    def reserve(self, rows: int) -> str:
        """Reservations of `rows` calls (RESERVE_GIVEN per row), answering (call_id, id)."""
        return self._many("reserve", rows, lambda: insert(
            CreditReservation, self.param, RESERVE_GIVEN, rows=rows,
            returning=(CreditReservation.call, CreditReservation.id)))

    def entries(self, rows: int) -> str:
        """Ledger entries of `rows` calls (ENTRY_GIVEN per row), answering (call_id, id)."""
        return self._many("entries", rows, lambda: insert(
            LedgerEntry, self.param, ENTRY_GIVEN, rows=rows,
            returning=(LedgerEntry.call, LedgerEntry.id)))

    def reservations(self, rows: int) -> str:
        """(id, reference, entry_id, released_at) of a tenant's reservations by id."""
        return self._many("reservations", rows, lambda: self._reservations + self._in(rows))

    def charged(self, rows: int) -> str:
        """(call_id, entry id) of the calls already charged for a kind."""
        return self._many("charged", rows, lambda: self._charged + self._in(rows))

    def settle(self, rows: int) -> str:
        """Reservations closed (released_at, then (id, entry_id) pairs, then the ids)."""
        p, cr = self.param, CreditReservation
        return self._many("settle", rows, lambda: self._settle + f"WHEN {p} THEN {p} " * rows
                          + f"END WHERE {col(cr.id)} IN " + self._in(rows))

    def release(self, rows: int) -> str:
        return self._many("release", rows, lambda: self._release + self._in(rows))

    def call_costs(self, rows: int) -> str:
        """Call.cost of a tenant's calls: (id, cost) pairs, the tenant, then the ids."""
        p = self.param
        return self._many("costs", rows, lambda: (
            f"UPDATE {self._call} SET {col(Call.cost)} = CASE {col(Call.id)} "
            + f"WHEN {p} THEN {p} " * rows + f"END WHERE {col(Call.tenant)} = {p} AND "
            f"{col(Call.id)} IN " + self._in(rows)))


_made: dict[tuple, object] = {}  # a memo of derived text, one per database kind


def _memo(kind, db):
    if db is None:
        db = database.obj
    key = (kind, type(db), db.param, getattr(db, "for_update", False), node_name())
    made = _made.get(key)
    if made is None:
        made = _made[key] = kind(db)
    return made


def statements(db=None) -> Statements:
    """The statements for `db` (default: the database models are bound to now)."""
    return _memo(Statements, db)


def billing_statements(db=None) -> BillingStatements:
    """Billing's statements for `db` (default: the database models are bound to now)."""
    return _memo(BillingStatements, db)
