"""The contact centre (issue 12): agent sessions and their state log, pause reasons and
dispositions, queues with members, Voice Agent campaigns' agents, queue calls; the fields that
go with them on tenants, campaigns, extensions and calls."""
from __future__ import annotations

from ..entities import (
    AgentDisposition, AgentSession, AgentStateLog, Call, Campaign, CampaignAgent, Extension,
    PauseReason, Queue, QueueCall, QueueMember, Tenant,
)

CREATES = [PauseReason, AgentDisposition, AgentSession, AgentStateLog, Queue, QueueMember,
           CampaignAgent, QueueCall]
ADDS = [(Tenant, "blocked_prefixes"), (Tenant, "agent_max_missed"),
        (Campaign, "dial_ratio"), (Campaign, "wrapup_seconds"), (Campaign, "script"),
        (Campaign, "web_form_url"), (Extension, "caller_id"),
        (Call, "agent"), (Call, "agent_disposition"), (Call, "notes")]


def up(ops) -> None:
    for model in CREATES:
        ops.create_table(model)
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
    for model in reversed(CREATES):
        ops.drop_table(model)
