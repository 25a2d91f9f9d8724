"""Versioned schema migrations: numbered modules beside this file, a history table, run by
`voxcast initdb` (and `voxcast run`, which calls it), never by the web UI or the Stasis app.

A new database gets the tables of today's models at once and every migration is recorded as
applied (what Alembic calls "create_all, then stamp head"); an existing one runs, in order, each
migration it has not recorded. Each migration module defines `up(ops)`; `ops` (see .ops) only
adds what is missing, so a migration that meets a column an earlier catch-up already added
does nothing. `tests/unit/test_migrations.py` proves a fresh schema and an upgraded one equal.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass
from types import ModuleType

from ..db import database
from ..entities import ALL_MODELS
from .history import SchemaMigration
from .ops import Ops

log = logging.getLogger("voxcast.migrations")


class SchemaBehind(RuntimeError):
    """The database lacks migrations this code needs; the message says what to run."""


@dataclass(frozen=True)
class Migration:
    name: str          # e.g. "m0002_sip_bans"; its order is its name
    module: ModuleType

    def run(self, ops: Ops) -> None:
        self.module.up(ops)


def available() -> list[Migration]:
    """Every migration module of this package, in order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name[:1] == "m" and info.name[1:5].isdigit():
            found.append(Migration(info.name, importlib.import_module(f"{__name__}.{info.name}")))
    return sorted(found, key=lambda m: m.name)


def later_additions() -> tuple[set, set]:
    """(models, (model, field) pairs) that the numbered migrations after the catch-up add:
    the catch-up of m0001 leaves them to those, so each migration really does its part."""
    tables, columns = set(), set()
    for migration in available()[1:]:
        tables.update(getattr(migration.module, "CREATES", ()))
        columns.update(getattr(migration.module, "ADDS", ()))
    return tables, columns


def applied() -> set[str]:
    if SchemaMigration._meta.table_name not in database.get_tables():
        return set()
    return {row.name for row in SchemaMigration.select(SchemaMigration.name)}


def pending() -> list[Migration]:
    done = applied()
    return [m for m in available() if m.name not in done]


def upgrade() -> list[str]:
    """Bring the database to today's schema; returns the names of the migrations run."""
    tables = set(database.get_tables())
    ours = {m._meta.table_name for m in ALL_MODELS}
    if not tables & ours:  # a new database: today's tables, every migration stamped
        with database.atomic():
            database.create_tables([SchemaMigration, *ALL_MODELS])
            SchemaMigration.delete().execute()  # history left from tables dropped by hand
            _stamp([m.name for m in available()], fresh=True)
            _schema_hook("after_schema")
        log.info("created the schema (%d migrations stamped)", len(available()))
        return []
    database.create_tables([SchemaMigration], safe=True)
    ran = []
    if pending():
        with database.atomic():
            _schema_hook("before_steps")
    for migration in pending():
        with database.atomic():
            ops = Ops(database)
            migration.run(ops)
            _stamp([migration.name], fresh=False)
        log.info("migration %s: %s", migration.name, "; ".join(ops.done) or "nothing to change")
        ran.append(migration.name)
    with database.atomic():
        _schema_hook("after_schema")
    return ran


def _schema_hook(name: str) -> None:
    """Hooks a migration module may define around the numbered steps: `before_steps` (before
    any pending step runs) and `after_schema` (after any upgrade, fresh or stepwise), for
    database objects the models cannot declare, such as m0008's triggers."""
    for migration in available():
        hook = getattr(migration.module, name, None)
        if hook is not None:
            ops = Ops(database)
            hook(ops)
            if ops.done:
                log.info("%s: %s", migration.name, "; ".join(ops.done))


def require_current() -> None:
    """For the long-running processes: refuse to start on a schema older than the code."""
    missing = [m.name for m in pending()]
    if missing:
        raise SchemaBehind("the database schema is behind this version of voxcast (missing "
                           f"{', '.join(missing)}): run `voxcast initdb` first")


def _stamp(names: list[str], fresh: bool) -> None:
    if names:
        SchemaMigration.insert_many([{"name": n, "fresh_install": fresh} for n in names]).execute()
