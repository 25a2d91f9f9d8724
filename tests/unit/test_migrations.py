"""Versioned migrations: a fresh schema and an upgraded one are the same, on SQLite and on
PostgreSQL; only `voxcast initdb` migrates."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from peewee import SqliteDatabase
from playhouse.migrate import SchemaMigrator, migrate

import models
import models.migrations
import models.rollups
from models import ALL_MODELS, database
from models.migrations import SchemaBehind, available, pending, require_current, upgrade
from models.migrations.history import SchemaMigration
from models.migrations.ops import Ops
from tests.pg_support import postgres_or_skip


BASELINE = Path(models.migrations.__file__).with_name("m0001_baseline.sqlite.json")


def schema() -> dict:
    """What a schema is made of, independent of column order and index names."""
    out = {}
    for table in sorted(database.get_tables()):
        cols = {c.name: [c.data_type.lower(), c.null, c.primary_key]
                for c in database.get_columns(table)}
        indexes = sorted([list(i.columns), i.unique] for i in database.get_indexes(table))
        fks = sorted([f.column, f.dest_table, f.dest_column]
                     for f in database.get_foreign_keys(table))
        out[table] = {"columns": cols, "indexes": indexes, "foreign_keys": fks}
    return out


def write_baseline(sqlite_path: str) -> None:
    """How m0001_baseline.sqlite.json was made: from a database the release before versioning
    created (`database.create_tables(ALL_MODELS)` at commit b7565d0)."""
    models.init_database(f"sqlite:///{sqlite_path}")
    BASELINE.write_text(json.dumps(schema(), indent=1, sort_keys=True) + "\n")


def drop_all() -> None:
    cascade = not isinstance(database.obj, SqliteDatabase)
    database.drop_tables([SchemaMigration, *ALL_MODELS], safe=True, cascade=cascade)


def fresh_schema() -> dict:
    drop_all()
    upgrade()
    return schema()


def make_pre_versioning() -> None:
    """A database as the releases before versioning left it: tables with rows, no history,
    some tables missing, and columns the old catch-up added as nullable."""
    models.bootstrap(admin_password="a-secret-1", master_password="m-secret-1")
    models.rollups.drop_triggers(database)  # m0008's: an old release had none
    database.drop_tables([SchemaMigration])
    database.drop_tables([models.entities.IvrRecording, models.entities.SurveyAnswer])
    migrator = SchemaMigrator.from_database(database.obj)
    _, later = models.migrations.later_additions()  # columns no pre-versioning release had
    for model in (models.User, models.Tenant, models.Campaign, models.Call, models.Did):
        has_rows = model.select().exists()
        for field in reversed(model._meta.sorted_fields):
            constant = field.default is not None and not callable(field.default)
            if field.primary_key or field.unique or field.index or (has_rows and not constant) \
                    or (model, field.name) in later:
                continue
            table = model._meta.table_name
            migrate(migrator.drop_column(table, field.column_name))
            old = field.clone()
            old.null = True  # what the old catch-up did to every NOT NULL column it added
            old.default = None
            migrate(migrator.add_column(table, field.column_name, old))
            break


def check_backend() -> None:
    expected = fresh_schema()
    assert not pending()
    drop_all()
    make_pre_versioning()
    assert schema() != expected  # the set-up really is behind
    with pytest.raises(SchemaBehind, match="voxcast initdb"):
        require_current()
    ran = upgrade()
    assert ran == [m.name for m in available()]
    assert schema() == expected
    assert upgrade() == []  # twice is harmless
    require_current()
    # each numbered migration after the catch-up undone and run again gives the same schema
    for migration in reversed(available()[1:]):
        with database.atomic():
            migration.module.down(Ops(database))
            SchemaMigration.delete().where(SchemaMigration.name == migration.name).execute()
    upgrade()
    assert schema() == expected


def test_given_pre_versioning_sqlite_database_when_initdb_then_schema_equals_fresh(db):
    check_backend()


def test_given_pre_versioning_postgresql_database_when_initdb_then_schema_equals_fresh():
    models.init_database(postgres_or_skip("voxcast_migrations_test"))
    try:
        check_backend()
    finally:
        models.database.close()


def test_given_a_model_change_without_its_migration_then_this_fails(db):
    """Undo every migration after the catch-up: what is left must be the schema of the release
    before versioning. A field or model added without a migration (ADDS / CREATES and up /
    down) stays behind and shows here."""
    for migration in reversed(available()[1:]):
        migration.module.down(Ops(database))
    now = schema()
    now.pop(SchemaMigration._meta.table_name)
    baseline = json.loads(BASELINE.read_text())
    assert now == baseline, "a model changed without a migration in models/migrations/"


def test_given_fresh_database_then_every_migration_stamped_not_run(db):
    rows = list(SchemaMigration.select())
    assert {r.name for r in rows} == {m.name for m in available()}
    assert all(r.fresh_install for r in rows)


def test_every_migration_after_the_catch_up_can_be_undone():
    for migration in available()[1:]:
        assert callable(getattr(migration.module, "down", None)), migration.name


def test_given_old_schema_when_web_ui_created_then_it_does_not_migrate(settings):
    from webui import create_app
    models.init_database(settings.db_url)
    models.bootstrap(admin_password="a-secret-1", master_password="m-secret-1")
    database.drop_tables([models.entities.SurveyAnswer])
    SchemaMigration.delete().execute()
    database.close()
    create_app(settings, {"TESTING": True})
    assert "survey_answer" not in database.get_tables()
    with pytest.raises(SchemaBehind):
        require_current()
    database.close()


def test_m0016_gives_existing_queues_the_20_second_service_level_target(db):
    """A queue saved before per-queue targets keeps the 20 s every queue was measured with."""
    from models import Tenant
    from models.entities import Queue
    from models.migrations import m0016_queue_service_level as m0016
    tenant = Tenant.create(name="Acme", slug="acme")
    queue = Queue.create(tenant=tenant, name="Sales", service_level_seconds=45)
    m0016.down(Ops(database))
    assert "service_level_seconds" not in Ops(database).columns(Queue)
    m0016.up(Ops(database))
    assert Queue.get_by_id(queue.id).service_level_seconds == 20
    assert Queue.create(tenant=tenant, name="Support").service_level_seconds == 20
