"""Bring an existing database up to the models: create missing tables, add missing columns.

Enough for a young schema that only grows; a column change that is not an addition needs a
hand-written step here."""
from __future__ import annotations

import logging

from playhouse.migrate import SchemaMigrator, migrate

from .db import database
from .entities import ALL_MODELS

log = logging.getLogger("voxcast.migrate")


def upgrade() -> list[str]:
    migrator = SchemaMigrator.from_database(database.obj)
    added = []
    tables = set(database.get_tables())
    # New tables first, so columns added below can reference them.
    database.create_tables([m for m in ALL_MODELS if m._meta.table_name not in tables])
    for model in ALL_MODELS:
        table = model._meta.table_name
        if table not in tables:
            continue
        existing = {c.name for c in database.get_columns(table)}
        for field in model._meta.sorted_fields:
            if field.column_name in existing:
                continue
            if not field.null and field.default is None:
                field.null = True  # existing rows need a value; the model still requires one
            migrate(migrator.add_column(table, field.column_name, field))
            added.append(f"{table}.{field.column_name}")
            log.info("added column %s.%s", table, field.column_name)
    database.create_tables(ALL_MODELS, safe=True)  # new tables, and indexes of new columns
    return added
