"""What the Stasis app tells the console about the agent's call (ringing your phone, dialing,
on hold, consulting, refused...): one JSON value on the session, written with a version bump
so the console's poll sees it at once."""
from __future__ import annotations

import json

from models.entities import AgentSession

KINDS = ("idle", "phone", "dialing", "talking", "held", "consulting", "conference",
         "transferring", "refused", "ended")


def publish(session_id: int, kind: str, **details) -> bool:
    """Store the call's status for the console; False when the session has ended."""
    value = json.dumps({"kind": kind, **{k: v for k, v in details.items() if v is not None}})
    return bool(AgentSession.update(console_status=value, version=AgentSession.version + 1)
                .where(AgentSession.id == session_id, AgentSession.ended_at.is_null())
                .execute())


def read(raw: str) -> dict:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
