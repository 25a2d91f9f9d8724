"""Issue 13, the wallboard and live statistics: partial indexes over the open calls and the
open queue calls (WHERE ended_at IS NULL), so the pages that poll them every few seconds read
only what is in progress however many CDRs a tenant keeps. SQLite and PostgreSQL both have
partial indexes; the models declare them (Call.add_index, QueueCall.add_index)."""
from __future__ import annotations

from ..entities import Call, QueueCall

NAMES = ("call_open_by_tenant", "queuecall_open_by_tenant")


def up(ops) -> None:
    before = {i.name for m in (Call, QueueCall) for i in ops.db.get_indexes(m._meta.table_name)}
    ops.db.create_tables([Call, QueueCall], safe=True)  # creates only the missing indexes
    ops.done.extend(f"index {name}" for name in NAMES if name not in before)


def down(ops) -> None:
    for name in NAMES:
        ops.db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        ops.done.append(f"dropped index {name}")
