"""What the Stasis app tells the console about the agent's call (ringing your phone, dialing,
on hold, consulting, refused...): one JSON value on the session, written with a version bump
so the console's poll sees it at once."""
from __future__ import annotations

import json

from models.entities import AgentSession

KINDS = ("idle", "phone", "dialing", "talking", "held", "consulting", "conference",
         "transferring", "refused", "ended")


def publish(session_id: int, kind: str, *, user_id: int | None = None, **details) -> bool:
    """Store the call's status for the console; False when the session has ended (or, with
    `user_id`, is not that user's)."""
    value = json.dumps({"kind": kind, **{k: v for k, v in details.items() if v is not None}})
    query = (AgentSession.update(console_status=value, version=AgentSession.version + 1)
             .where(AgentSession.id == session_id, AgentSession.ended_at.is_null()))
    if user_id is not None:
        query = query.where(AgentSession.user == user_id)
    return bool(query.execute())


def read(raw: str) -> dict:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
