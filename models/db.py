"""One database object for every model, chosen at start-up (SQLite WAL or PostgreSQL)."""
from __future__ import annotations

from pathlib import Path

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect

database = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def init_database(url: str):
    """Open the configured database; SQLite gets WAL so the web UI reads while the dialer writes."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        db = SqliteDatabase(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "synchronous": "normal",
                "foreign_keys": 1,
                "busy_timeout": 10000,
            },
            check_same_thread=False,
            # Every transaction takes the write lock up front: a deferred one that reads and
            # then writes gets SQLITE_BUSY at once (no busy_timeout wait) when the Stasis app
            # committed in between, which the web UI would show as an error.
            lock_type="IMMEDIATE",
        )
    else:
        db = connect(url)
    database.initialize(db)
    return db
