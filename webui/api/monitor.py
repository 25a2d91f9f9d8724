"""/api/v1/agents/{id}/monitor: a supervisor listens to, whispers to or barges into the call
of an agent session (the same {id} as /agents/{id}/logout), on the supervisor's own phone; or
stops. The same checks and command as the wallboard's buttons (voxcast.supervision.monitor);
202: the phone rings, the monitoring starts when it is answered (the tenant log says so)."""
from __future__ import annotations

from flask import jsonify

from models.entities import AgentSession
from models.tenancy import get_scoped
from voxcast.supervision import monitor
from voxcast.supervision.monitor import MONITOR_REQUEST

from ..supervisor_monitor import transport as _transport
from . import ID, ApiError, body, bp, principal, scope
from .contact_centre import agents_feature


@bp.post(f"/agents/<{ID}:session_id>/monitor")
@agents_feature
def agents_monitor(session_id: int):
    p = principal()
    row = get_scoped(AgentSession, scope(), session_id)
    data = body(MONITOR_REQUEST)
    supervisor_id = data.get("supervisor_id") or p.id
    if supervisor_id is None:
        raise ApiError(422, "validation", "Name the supervisor whose phone rings.",
                       {"supervisor_id": "is required with this key"})
    if row.ended_at is not None:
        raise ApiError(409, "agent-not-on-call", "That agent session has ended.")
    if data["mode"] == "stop":
        req = monitor.stop(_transport(), row.tenant_id, supervisor_id)
    else:
        req = monitor.start(_transport(), row.tenant_id, supervisor_id, row.user_id,
                            data["mode"])
    return jsonify(action=req.action, mode=req.mode or None, agent_session_id=row.id,
                   agent_id=row.user_id, supervisor_id=req.supervisor_id,
                   extension=req.extension or None), 202
