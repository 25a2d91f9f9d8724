"""Issue 13, agent statistics: partial indexes over the state log's ringing rows (tenant,
started_at) and on_call rows (session, started_at), so a month's offers and their answers are
read from the index instead of every state row (voxcast.reports.agent_stats). The models
declare them (AgentStateLog.add_index)."""
from __future__ import annotations

from ..entities import AgentStateLog

NAMES = ("agentstatelog_offers", "agentstatelog_answers")


def up(ops) -> None:
    before = {i.name for i in ops.db.get_indexes(AgentStateLog._meta.table_name)}
    ops.db.create_tables([AgentStateLog], safe=True)  # creates only the missing indexes
    ops.done.extend(f"index {name}" for name in NAMES if name not in before)


def down(ops) -> None:
    for name in NAMES:
        ops.db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        ops.done.append(f"dropped index {name}")
