"""Pause reasons and dispositions: the input schemas (what voxcast.agents.pause_reasons and
dispositions take; the API validates and publishes them)."""
from __future__ import annotations

from models.entities import DISPOSITION_KINDS
from voxcast.schemas import ID, obj

NAME = {"type": "string", "minLength": 1, "maxLength": 60}
TENANT_ID = {**ID, "description": "Only with the provider's key."}
ACTIVE = {"type": "boolean", "description": "Offered to agents; switched off keeps its history."}

PAUSE_REASON_CREATE = obj({"name": NAME, "active": ACTIVE, "tenant_id": TENANT_ID}, ["name"])
PAUSE_REASON_UPDATE = obj({"name": NAME, "active": ACTIVE}, update=True)
DISPOSITION_FIELDS = {
    "name": NAME,
    "kind": {"type": "string", "enum": list(DISPOSITION_KINDS),
             "description": "callback: the agent picks a time and the campaign contact is "
                            "dialled again then; dnc: the number goes on the tenant's DNC list."},
    "position": {"type": "integer", "minimum": 0, "maximum": 1000,
                 "description": "Order in the agent's form (lowest first)."},
    "active": ACTIVE,
}
DISPOSITION_CREATE = obj({**DISPOSITION_FIELDS, "tenant_id": TENANT_ID}, ["name"])
DISPOSITION_UPDATE = obj(DISPOSITION_FIELDS, update=True)
AGENT_STATE = obj({"state": {"type": "string", "enum": ["ready", "paused"]},
                   "pause_reason_id": {**ID, "nullable": True,
                                       "description": "One of the tenant's active reasons."}},
                  ["state"])
