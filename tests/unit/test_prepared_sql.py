"""The hot path's prepared SQL (models.prepared) cannot get out of step with the models: every
column it names is a model column, the UPDATEs write what they declare, the INSERTs fill every
NOT NULL column the database has no default for, with the model's own defaults, and a model
change the INSERT cannot follow refuses to build rather than writing wrong rows."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from peewee import CharField, IntegerField, Model, PostgresqlDatabase, SqliteDatabase

import models
from models import Call, Campaign, CampaignContact, Contact, ContactGroup, Tenant
from models import prepared
from models.prepared import Statements, UnfilledColumn

NOW = dt.datetime(2026, 1, 1, 12, 0)
TABLES = {m._meta.table_name: m for m in (Call, CampaignContact, Campaign, Tenant)}


@pytest.fixture
def database(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'prepared.sqlite3'}")
    models.create_schema()
    yield models.database
    models.database.close()


def _all_sql(sql: Statements) -> dict[str, str]:
    out = {k: v for k, v in vars(sql).items() if isinstance(v, str) and " " in v}
    out["claim3"] = sql.claim_insert(3)
    return out


@pytest.mark.parametrize("db", [SqliteDatabase(None), PostgresqlDatabase(None)],
                         ids=["sqlite", "postgresql"])
def test_every_identifier_a_statement_names_is_a_table_or_a_column_of_the_models(db):
    columns = {f.column_name for m in TABLES.values() for f in m._meta.sorted_fields}
    for name, text in _all_sql(Statements(db)).items():
        names = set(re.findall(r'"(\w+)"', text))
        assert names - set(TABLES) <= columns, name
        assert db.param in text, name


def _set_columns(text: str) -> list[str]:
    assignments = text.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    return re.findall(r'"(\w+)" = ', assignments)


def test_updates_write_exactly_the_fields_they_declare():
    sql = prepared.statements(SqliteDatabase(None))
    assert _set_columns(sql.answer) == [f.column_name for f in prepared.ANSWER]
    assert _set_columns(sql.close) == [f.column_name for f in prepared.CLOSE]
    assert _set_columns(sql.advance) == [f.column_name for f in prepared.ADVANCE]
    assert _set_columns(sql.free) == [Call.cost.column_name]


def _insert_columns(text: str) -> list[str]:
    head = re.match(r'INSERT INTO "(\w+)" \(([^)]*)\) VALUES', text)
    assert head and head.group(1) == Call._meta.table_name
    return re.findall(r'"(\w+)"', head.group(2))


def test_the_inserts_fill_every_not_null_column_without_a_database_default(database):
    schema = database.execute_sql(f'PRAGMA table_info("{Call._meta.table_name}")').fetchall()
    # (cid, name, type, notnull, dflt_value, pk)
    required = {name for _, name, _, notnull, default, pk in schema
                if notnull and default is None and not pk}
    assert required  # the check means something: Call has NOT NULL columns
    sql = prepared.statements()
    for text in (sql.claim_insert(1), sql.claim_insert(4), sql.inbound):
        written = _insert_columns(text)
        assert len(written) == len(set(written))
        assert required <= set(written), required - set(written)
        assert set(written) <= {c[1] for c in schema}


def _entry(tenant):
    group = ContactGroup.create(tenant=tenant, name="g")
    contact = Contact.create(tenant=tenant, group=group, phone="+12025550101")
    campaign = Campaign.create(tenant=tenant, name="c", group=group, status="running")
    return campaign, contact, CampaignContact.create(tenant=tenant, campaign=campaign,
                                                     contact=contact, phone=contact.phone)


def _row(call_id: int) -> dict:
    row = Call.select().where(Call.id == call_id).dicts().get()
    return {k: v for k, v in row.items() if k not in ("id", "channel_id")}


def test_a_claim_cdr_written_by_prepared_sql_equals_the_orm_s(database):
    tenant = Tenant.create(name="Acme", slug="acme")
    campaign, contact, entry = _entry(tenant)
    given = (tenant.id, campaign.id, contact.id, entry.id, entry.phone, "vx-prepared", NOW)
    assert len(given) == len(prepared.CLAIM_GIVEN)
    ((channel_id, call_id),) = database.execute_sql(prepared.statements().claim_insert(1),
                                                    given).fetchall()
    orm = Call.create(**dict(zip(prepared.CLAIM_GIVEN[:-2], given[:-2])), channel_id="vx-orm",
                      started_at=NOW)
    assert channel_id == "vx-prepared"
    assert _row(call_id) == _row(orm.id)


def test_an_inbound_cdr_written_by_prepared_sql_equals_the_orm_s(database):
    tenant = Tenant.create(name="Acme", slug="acme")
    given = (tenant.id, "+12025550101", "15551230000", "in-prepared", NOW)
    assert len(given) == len(prepared.INBOUND_GIVEN)
    call_id = database.execute_sql(prepared.statements().inbound, given).lastrowid
    orm = Call.create(**dict(zip(prepared.INBOUND_GIVEN[:-2], given[:-2])), direction="inbound",
                      channel_id="in-orm", started_at=NOW)
    assert _row(call_id) == _row(orm.id)


class _Changed(Model):
    """A model as it might change: a new NOT NULL column, a changed default."""
    number = CharField()
    state = CharField(default="it's new")
    tries = IntegerField(default=7)
    note = CharField(null=True)

    class Meta:
        database = SqliteDatabase(None)


class _Required(_Changed):
    region = CharField()  # NOT NULL, no default: every INSERT must be given it


def test_a_changed_model_changes_the_insert_or_refuses_it():
    text = prepared.insert(_Changed, "?", ("number",))
    assert _insert_columns_of(text) == ["number", "state", "tries"]  # nullable left out
    assert "'it''s new', 7" in text  # the model's defaults, quoted
    with pytest.raises(UnfilledColumn, match="region"):
        prepared.insert(_Required, "?", ("number",))
    assert "region" in prepared.insert(_Required, "?", ("number", "region"))
    with pytest.raises(KeyError):
        prepared.insert(_Changed, "?", ("no_such_field",))


def _insert_columns_of(text: str) -> list[str]:
    return re.findall(r'"(\w+)"', text.split(" VALUES ", 1)[0].split("(", 1)[1])


def test_a_default_the_prepared_insert_cannot_write_as_a_constant_is_refused():
    # Call.started_at defaults to a function: the claim must bind it, never leave it out.
    given = tuple(n for n in prepared.CLAIM_GIVEN if n != "started_at")
    with pytest.raises(UnfilledColumn, match="started_at"):
        prepared.insert(Call, "?", given)


# -- billing's statements (models.prepared.BillingStatements) -------------------------------

def _billing_sql(db) -> dict[str, str]:
    sql = prepared.BillingStatements(db)
    out = {k: v for k, v in vars(sql).items() if isinstance(v, str) and " " in v
           and not k.startswith("_")}
    for name in ("reserve", "entries", "reservations", "charged", "settle", "release",
                 "call_costs"):
        out[f"{name}3"] = getattr(sql, name)(3)
    return out


@pytest.mark.parametrize("db", [SqliteDatabase(None), PostgresqlDatabase(None)],
                         ids=["sqlite", "postgresql"])
def test_billing_statements_name_only_tables_and_columns_of_the_models(db):
    from models.entities import CreditBucket, CreditReservation, LedgerEntry
    models_ = (Tenant, Call, CreditBucket, CreditReservation, LedgerEntry)
    tables = {m._meta.table_name for m in models_}
    columns = {f.column_name for m in models_ for f in m._meta.sorted_fields}
    made = _billing_sql(db)
    for name, text in made.items():
        assert set(re.findall(r'"(\w+)"', text)) - tables <= columns, name
        assert db.param in text, name
    # the tenant's row is locked where the database can (PostgreSQL), as ledger._lock_tenant
    pg = isinstance(db, PostgresqlDatabase)
    assert made["tenant_lock"].endswith("FOR NO KEY UPDATE") == pg
    assert made["settle3"].count(db.param) == 1 + 2 * 3 + 3


def test_billing_inserts_write_rows_equal_to_the_orm_s(database):
    from models.entities import CreditReservation, LedgerEntry
    tenant = Tenant.create(name="Acme", slug="acme")
    call = Call.create(tenant=tenant, number="+12025550101", channel_id="c", started_at=NOW)
    sql = prepared.billing_statements()
    given = (tenant.id, "0.3000", 30, "call 1", call.id, NOW)
    ((call_id, res_id),) = database.execute_sql(sql.reserve(1), given).fetchall()
    orm = CreditReservation.create(**dict(zip(prepared.RESERVE_GIVEN, given)))
    strip = ("id",)
    assert call_id == call.id
    assert ({k: v for k, v in CreditReservation.select().where(CreditReservation.id == res_id)
             .dicts().get().items() if k not in strip}
            == {k: v for k, v in CreditReservation.select().where(CreditReservation.id == orm.id)
                .dicts().get().items() if k not in strip})
    given = (tenant.id, "call", "-0.3000", "9.7000", "0", 0, "call 1", call.id, NOW)
    ((_, entry_id),) = database.execute_sql(sql.entries(1), given).fetchall()
    fields = dict(zip(prepared.ENTRY_GIVEN, given))
    fields["call"] = None  # (call, kind) is unique
    orm = LedgerEntry.create(**fields)
    rows = [LedgerEntry.select().where(LedgerEntry.id == i).dicts().get() for i in (entry_id, orm.id)]
    for row in rows:
        row.pop("id"), row.pop("call")
    assert rows[0] == rows[1]
