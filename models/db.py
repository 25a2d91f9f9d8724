"""One database object for every model, chosen at start-up (SQLite WAL or PostgreSQL)."""
from __future__ import annotations

from pathlib import Path

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect
from playhouse.pool import PooledSqliteDatabase

# A pooled connection idle longer than this is closed rather than reused (PostgreSQL).
POOL_STALE_S = 300

database = DatabaseProxy()

# How a row is locked to change its other columns (a tenant's balance) on PostgreSQL: FOR NO
# KEY UPDATE still serialises the lockers, but unlike FOR UPDATE it does not wait for open
# transactions that inserted rows referencing it (their foreign key holds FOR KEY SHARE).
ROW_LOCK = "FOR NO KEY UPDATE"

# The node (one Asterisk and its Stasis app, FastAGI server and web UI) this process is part
# of, bound with the database at start-up: every CDR and credit reservation it writes carries
# it (models.entities.NodeField), so in a cluster each node recovers only its own calls and
# a survivor knows which calls a dead node left open. "": a single-node installation.
_node = {"name": ""}


def node_name() -> str:
    return _node["name"]


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def init_database(url: str, pooled: bool = False, node: str | None = None):
    """Open the configured database; SQLite gets WAL so the web UI reads while the dialer writes.

    `pooled` (the web UI): database.close() hands the connection back to a pool instead of
    closing it, so a request does not pay a new connection (a TCP connection and
    authentication on PostgreSQL, the pragmas on SQLite); a connection returned inside a
    transaction is rolled back first (playhouse.pool)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        cls, pool = ((PooledSqliteDatabase, {"max_connections": None,
                                             "stale_timeout": POOL_STALE_S})
                     if pooled else (SqliteDatabase, {}))
        db = cls(
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
            **pool,
        )
    elif pooled:
        scheme, rest = url.split("://", 1)
        db = connect(f"{scheme.split('+')[0]}+pool://{rest}", max_connections=None,
                     stale_timeout=POOL_STALE_S)
    else:
        db = connect(url)
    if node is not None:
        _node["name"] = node
    database.initialize(db)
    return db
