"""Issue 14, message throughput: an index on Message (tenant, channel, state), so the credit
check of each claim (the units of the tenant's claimed, not yet charged messages of the
channel: voxcast.messaging.dispatch.Dispatcher._owed_units) reads the few queued and
submitting rows from the index instead of every message the tenant ever sent. The model
declares it (Message.Meta.indexes)."""
from __future__ import annotations

from ..entities import Message

NAMES = ("message_tenant_id_channel_state",)


def up(ops) -> None:
    before = {i.name for i in ops.db.get_indexes(Message._meta.table_name)}
    ops.db.create_tables([Message], safe=True)  # creates only the missing index
    ops.done.extend(f"index {name}" for name in NAMES if name not in before)


def down(ops) -> None:
    for name in NAMES:
        ops.db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        ops.done.append(f"dropped index {name}")
