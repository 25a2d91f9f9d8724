"""Issue 13, fast reports and live campaign progress: the rollup and counter tables, the
triggers that keep them (models.rollups), indexes for the raw filters reports still run, and
one rebuild that fills the new tables from the rows an existing database already has."""
from __future__ import annotations

from .. import rollups
from ..entities import (
    AgentStateLog, AgentStateQuarter, Call, CallHour, CallQuarter, CallRollup, CampaignTally,
)

CREATES = [CampaignTally, CallRollup, CallHour, CallQuarter, AgentStateQuarter]
INDEXES = ("call_by_agent", "call_by_campaign", "agentstatelog_by_tenant",
           "agentstatelog_open_by_tenant")


def _indexes(ops) -> None:
    before = {i.name for m in (Call, AgentStateLog) for i in ops.db.get_indexes(m._meta.table_name)}
    if set(INDEXES) - before:
        ops.db.create_tables([Call, AgentStateLog], safe=True)  # creates only the missing ones
        ops.done.extend(f"index {name}" for name in INDEXES if name not in before)


def up(ops) -> None:
    for model in CREATES:
        ops.create_table(model)
    _indexes(ops)
    rollups.rebuild(ops.db)
    ops.done.append("rollups and campaign counters computed from the existing rows")


def before_steps(ops) -> None:
    """Before pending steps run: without the triggers, a step that rebuilds or drops a column
    of a table they read (SQLite checks triggers on ALTER TABLE) cannot trip on them."""
    if ops.has_table(CampaignTally):
        rollups.drop_triggers(ops.db)


def after_schema(ops) -> None:
    """Run after every upgrade, fresh or stepwise: the triggers again (idempotent), since a
    later SQLite migration that rebuilds call or campaign_contact would drop them."""
    _indexes(ops)  # one added to this step after a database had run it (before release)
    missing = [model for model in CREATES if not ops.has_table(model)]
    if missing:  # a rollup added to this step after a database had run it (before release)
        for model in missing:
            ops.create_table(model)
        rollups.rebuild(ops.db)
        ops.done.append("rollups computed from the existing rows")
    elif not rollups.installed(ops.db):
        rollups.install_triggers(ops.db)
        ops.done.append("rollup triggers installed")


def down(ops) -> None:
    rollups.drop_triggers(ops.db)
    for name in INDEXES:
        ops.db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    for model in reversed(CREATES):
        ops.drop_table(model)
