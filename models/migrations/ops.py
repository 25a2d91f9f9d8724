"""What a migration may do, each step a no-op when the database already has it, so the
catch-up of a pre-versioning database and the numbered steps after it never collide.

Fields are taken from the models and cloned before any change: a migration never alters the
live model (the old catch-up set `field.null = True` on it, which left upgraded databases with
nullable columns that fresh ones declare NOT NULL)."""
from __future__ import annotations

import logging

from peewee import Field, ForeignKeyField, Model
from playhouse.migrate import SchemaMigrator, SqliteMigrator, migrate

log = logging.getLogger("voxcast.migrations")


class Ops:
    def __init__(self, database):
        self.db = database
        self.migrator = SchemaMigrator.from_database(database.obj)
        self.done: list[str] = []

    # -- reading the database ---------------------------------------------------------

    def has_table(self, model: type[Model]) -> bool:
        return model._meta.table_name in self.db.get_tables()

    def columns(self, model: type[Model]) -> dict[str, bool]:
        """column name -> nullable, as the database has it."""
        return {c.name: c.null for c in self.db.get_columns(model._meta.table_name)}

    # -- steps --------------------------------------------------------------------------

    def create_table(self, model: type[Model]) -> None:
        if not self.has_table(model):
            self.db.create_tables([model])
            self.done.append(f"created {model._meta.table_name}")

    def add_column(self, model: type[Model], name: str, fill=None) -> None:
        """Add the model's field `name` if missing. Existing rows get the field's default, or
        `fill`; a NOT NULL field with neither stays nullable on a table with rows (logged)."""
        field = model._meta.fields[name]
        table = model._meta.table_name
        if field.column_name in self.columns(model):
            return
        value = fill if fill is not None else field.default
        if field.null or value is not None:
            clone = field.clone()
            clone.default = value if not field.null else field.default
            migrate(self.migrator.add_column(table, field.column_name, clone))
        else:  # NOT NULL without a value: add it nullable, then require it if no row lacks it
            clone = field.clone()
            clone.null = True
            migrate(self.migrator.add_column(table, field.column_name, clone))
            self.not_null(model, name)
        self.done.append(f"added {table}.{field.column_name}")

    def not_null(self, model: type[Model], name: str, fill=None) -> None:
        """Make a column NOT NULL as the model declares it; NULL cells get `fill` or the
        field's (constant) default first."""
        field: Field = model._meta.fields[name]
        table = model._meta.table_name
        if field.null or not self.columns(model).get(field.column_name, False):
            return
        value = fill if fill is not None else field.default
        column = getattr(model, name)
        if value is not None and not callable(value):
            model.update({column: value}).where(column.is_null()).execute()
        if model.select().where(column.is_null()).exists():
            log.warning("%s.%s keeps NULL cells: left nullable (give the migration a fill)",
                        table, field.column_name)
            return
        migrate(self.migrator.add_not_null(table, field.column_name))
        self.done.append(f"{table}.{field.column_name} NOT NULL")

    def drop_table(self, model: type[Model]) -> None:
        """For a migration's `down`: the tests undo each migration and run it again."""
        if self.has_table(model):
            self.db.drop_tables([model])
            self.done.append(f"dropped {model._meta.table_name}")

    def drop_column(self, model: type[Model], name: str) -> None:
        field = model._meta.fields[name]
        if field.column_name in self.columns(model):
            table = model._meta.table_name
            if isinstance(field, ForeignKeyField) and isinstance(self.migrator, SqliteMigrator):
                # SQLite's own DROP COLUMN refuses a column named in a foreign key: the
                # table is rebuilt without it instead.
                migrate(self.migrator.drop_column(table, field.column_name, legacy=True))
            else:
                migrate(self.migrator.drop_column(table, field.column_name))
            self.done.append(f"dropped {model._meta.table_name}.{field.column_name}")

    def catch_up(self, models: list[type[Model]], skip=frozenset()) -> None:
        """Everything `models` declare that the database lacks: tables, columns, NOT NULL;
        `skip` holds (model, field name) pairs left to later migrations."""
        for model in models:
            if not self.has_table(model):
                self.create_table(model)
                for pair in skip:  # a table created here from today's model has them all
                    if pair[0] is model:
                        self.drop_column(*pair)
                continue
            for field in model._meta.sorted_fields:
                if (model, field.name) in skip:
                    continue
                if field.column_name not in self.columns(model):
                    self.add_column(model, field.name)
                elif not field.null:
                    self.not_null(model, field.name)
        self.db.create_tables(models, safe=True)  # indexes the models declare
        # (an index on a skipped column would be created here too; none exists so far)
