"""/api/v1/queues, /agents, /pause-reasons and /dispositions: a tenant's queues with their
members (voxcast.queues.services), its agents' live states and time in each state
(voxcast.agents.sessions / stats), logging an agent out, and the pause reasons and
dispositions agents choose from. A tenant key needs the agents feature."""
from __future__ import annotations

import datetime as dt
import functools

from flask import jsonify, request

from models import Tenant
from models.entities import AgentDisposition, AgentSession, PauseReason, Queue, utcnow
from models.tenancy import get_scoped, scoped
from voxcast.agents import dispositions, pause_reasons, sessions, states, stats
from voxcast.agents.errors import AgentError
from voxcast.agents.schemas import (
    AGENT_STATE, DISPOSITION_CREATE, DISPOSITION_UPDATE, PAUSE_REASON_CREATE, PAUSE_REASON_UPDATE,
)
from voxcast.queues import services as queue_service
from voxcast.queues import stats as queue_stats
from voxcast.queues.schemas import QUEUE_CREATE, QUEUE_UPDATE
from voxcast.tenants import features

from . import (ID, ApiError, body, bp, ip, paginate, own_tenant_only, principal, scope,
               target_tenant)


def agents_feature(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        p = principal()
        if not p.is_admin and not features.has(Tenant.get_by_id(p.tenant_id), "agents"):
            raise ApiError(403, "feature-disabled", "This organisation's plan does not include agents.")
        return view(*args, **kwargs)
    return wrapped


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def dump_queue(q: Queue) -> dict:
    return {"id": q.id, "tenant_id": q.tenant_id, "name": q.name, "number": q.number,
            "strategy": q.strategy, "ring_seconds": q.ring_seconds,
            "max_wait_seconds": q.max_wait_seconds, "music_class": q.music_class,
            "announce_every_seconds": q.announce_every_seconds,
            "announce_position": q.announce_position, "announce_wait": q.announce_wait,
            "wrapup_seconds": q.wrapup_seconds,
            "service_level_seconds": q.service_level_seconds, "fallback": q.fallback,
            "fallback_queue_id": q.fallback_queue_id, "fallback_ivr_id": q.fallback_ivr_id,
            "fallback_text": q.fallback_text,
            "members": [{"user_id": m.user_id, "penalty": m.penalty}
                        for m in queue_service.members(q)],
            "created_at": _time(q.created_at)}


def dump_session(s: AgentSession) -> dict:
    return {"id": s.id, "tenant_id": s.tenant_id, "user_id": s.user_id,
            "username": s.user.username, "extension": s.extension.number if s.extension_id else None,
            "via": s.via, "state": s.state, "state_since": _time(s.state_since),
            "pause_reason_id": s.pause_reason_id,
            "pause_reason": s.pause_reason.name if s.pause_reason_id else None,
            "call_id": s.call_id, "wrapup_until": _time(s.wrapup_until),
            "missed_in_row": s.missed_in_row, "version": s.version,
            "started_at": _time(s.started_at)}


def _members(data: dict):
    return data.get("members") if "members" in data else None


# -- queues ---------------------------------------------------------------------------------

@bp.get("/queues")
@agents_feature
def queues_list():
    return paginate(scoped(Queue, scope()).order_by(Queue.id), dump_queue)


@bp.post("/queues")
@agents_feature
def queues_create():
    data = body(QUEUE_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    fields = {k: v for k, v in data.items() if k not in ("members", "tenant_id")}
    row = queue_service.create(tenant.id, fields, _members(data) or [], actor=principal(), ip=ip())
    return jsonify(dump_queue(row)), 201


@bp.get("/queues/stats")
@agents_feature
def queues_stats():
    """Live figures of every queue: waiting now, agents, and since `since` (default: today
    00:00 UTC) the outcomes, average wait and service level."""
    now = utcnow()
    since = _when("since", now.replace(hour=0, minute=0, second=0, microsecond=0))
    per_queue = queue_stats.figures(_tenant_scope(), since, now=now)
    return jsonify(since=_time(since), service_seconds=queue_stats.SERVICE_SECONDS,
                   items=[f.as_dict() for _, f in sorted(per_queue.items())])


@bp.get(f"/queues/<{ID}:queue_id>")
@agents_feature
def queues_get(queue_id: int):
    return jsonify(dump_queue(get_scoped(Queue, scope(), queue_id)))


@bp.patch(f"/queues/<{ID}:queue_id>")
@agents_feature
def queues_update(queue_id: int):
    row = get_scoped(Queue, scope(), queue_id)
    data = body(QUEUE_UPDATE)
    fields = {k: v for k, v in data.items() if k != "members"}
    row = queue_service.update(row.tenant_id, row.id, fields, _members(data), actor=principal(),
                               ip=ip())
    return jsonify(dump_queue(row))


@bp.delete(f"/queues/<{ID}:queue_id>")
@agents_feature
def queues_delete(queue_id: int):
    row = get_scoped(Queue, scope(), queue_id)
    try:
        queue_service.delete(row.tenant_id, row.id, actor=principal(), ip=ip())
    except queue_service.QueueError as exc:
        raise ApiError(409, "in-use", str(exc)) from None
    return "", 204


# -- agents ---------------------------------------------------------------------------------

def _tenant_scope() -> int:
    tenant_id = scope()
    if tenant_id is None:
        raise ApiError(400, "bad-parameter", "The provider's key must name a tenant_id.",
                       {"tenant_id": "is required with the provider's key"})
    return tenant_id


@bp.get("/agents")
@agents_feature
def agents_list():
    """The agents logged in now, with their state."""
    return jsonify(items=[dump_session(s) for s in sessions.live_sessions(_tenant_scope())])


def _when(name: str, default: dt.datetime) -> dt.datetime:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        if not 2000 <= value.year <= 2099:
            raise ValueError(value)
    except (ValueError, OverflowError):
        raise ApiError(400, "bad-parameter", f"'{name}' must be an ISO 8601 time (2000-2099).",
                       {name: "must be an ISO 8601 time between 2000 and 2099"}) from None
    return value


@bp.get("/agents/stats")
@agents_feature
def agents_stats():
    """Seconds in each state per agent between `since` (default: today 00:00 UTC) and
    `until` (default: now); `login` is every state but logged_out."""
    now = utcnow()
    since = _when("since", now.replace(hour=0, minute=0, second=0, microsecond=0))
    until = _when("until", now)
    if until <= since:
        raise ApiError(400, "bad-parameter", "'until' must be after 'since'.",
                       {"until": "must be after since"})
    per_user = stats.by_user(_tenant_scope(), since, until, now=now)
    return jsonify(since=_time(since), until=_time(until),
                   items=[{"user_id": uid, "seconds": {k: round(v) for k, v in times.items()}}
                          for uid, times in sorted(per_user.items())])


@bp.post(f"/agents/<{ID}:session_id>/logout")
@agents_feature
def agents_logout(session_id: int):
    row = get_scoped(AgentSession, scope(), session_id)
    if not sessions.logout(row.id, "supervisor", ip=ip()):
        raise ApiError(409, "not-logged-in", "That session has already ended.")
    return jsonify(dump_session(AgentSession.get_by_id(row.id)))


@bp.post(f"/agents/<{ID}:session_id>/state")
@agents_feature
def agents_state(session_id: int):
    """Make an agent ready or pause them (a supervisor's move; refused during a call)."""
    row = get_scoped(AgentSession, scope(), session_id)
    data = body(AGENT_STATE)
    try:
        moved = states.set_state(row.id, data["state"],
                                 pause_reason_id=data.get("pause_reason_id")
                                 if data["state"] == "paused" else None)
    except AgentError as exc:
        raise _refused(exc) from None
    if not moved:
        raise ApiError(409, "invalid-state", f"The agent is {row.state} and cannot be moved now.")
    return jsonify(dump_session(AgentSession.get_by_id(row.id)))


# -- pause reasons and dispositions ---------------------------------------------------------

def dump_reason(r: PauseReason) -> dict:
    return {"id": r.id, "tenant_id": r.tenant_id, "name": r.name, "system": r.system,
            "active": r.active}


def dump_disposition(d: AgentDisposition) -> dict:
    return {"id": d.id, "tenant_id": d.tenant_id, "name": d.name, "kind": d.kind,
            "position": d.position, "active": d.active}


def _refused(exc: AgentError) -> ApiError:
    fields = exc.fields or ({"body": str(exc)} if exc.status == 422 else {})
    return ApiError(exc.status, exc.code, str(exc), fields)


@bp.get("/pause-reasons")
@agents_feature
def pause_reasons_list():
    return paginate(scoped(PauseReason, scope()).order_by(PauseReason.id), dump_reason)


@bp.post("/pause-reasons")
@agents_feature
def pause_reasons_create():
    data = body(PAUSE_REASON_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    try:
        row = pause_reasons.create(tenant.id, data["name"], active=data.get("active", True),
                                   actor=principal(), ip=ip())
    except AgentError as exc:
        raise _refused(exc) from None
    return jsonify(dump_reason(row)), 201


@bp.get(f"/pause-reasons/<{ID}:reason_id>")
@agents_feature
def pause_reasons_get(reason_id: int):
    return jsonify(dump_reason(get_scoped(PauseReason, scope(), reason_id)))


@bp.patch(f"/pause-reasons/<{ID}:reason_id>")
@agents_feature
def pause_reasons_update(reason_id: int):
    row = get_scoped(PauseReason, scope(), reason_id)
    data = body(PAUSE_REASON_UPDATE)
    try:
        row = pause_reasons.update(row.tenant_id, row.id, name=data.get("name", row.name),
                                   active=data.get("active", row.active), actor=principal(),
                                   ip=ip())
    except AgentError as exc:
        raise _refused(exc) from None
    return jsonify(dump_reason(row))


@bp.delete(f"/pause-reasons/<{ID}:reason_id>")
@agents_feature
def pause_reasons_delete(reason_id: int):
    row = get_scoped(PauseReason, scope(), reason_id)
    try:
        pause_reasons.delete(row.tenant_id, row.id, actor=principal(), ip=ip())
    except AgentError as exc:
        raise ApiError(409, "in-use", str(exc)) from None
    return "", 204


@bp.get("/dispositions")
@agents_feature
def dispositions_list():
    return paginate(scoped(AgentDisposition, scope()).order_by(AgentDisposition.position,
                                                               AgentDisposition.id),
                    dump_disposition)


@bp.post("/dispositions")
@agents_feature
def dispositions_create():
    data = body(DISPOSITION_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    try:
        row = dispositions.create(tenant.id, data["name"], data.get("kind", "normal"),
                                  data.get("position", 0), active=data.get("active", True),
                                  actor=principal(), ip=ip())
    except AgentError as exc:
        raise _refused(exc) from None
    return jsonify(dump_disposition(row)), 201


@bp.get(f"/dispositions/<{ID}:disposition_id>")
@agents_feature
def dispositions_get(disposition_id: int):
    return jsonify(dump_disposition(get_scoped(AgentDisposition, scope(), disposition_id)))


@bp.patch(f"/dispositions/<{ID}:disposition_id>")
@agents_feature
def dispositions_update(disposition_id: int):
    row = get_scoped(AgentDisposition, scope(), disposition_id)
    data = body(DISPOSITION_UPDATE)
    try:
        row = dispositions.update(row.tenant_id, row.id, name=data.get("name", row.name),
                                  kind=data.get("kind", row.kind),
                                  position=data.get("position", row.position),
                                  active=data.get("active", row.active), actor=principal(),
                                  ip=ip())
    except AgentError as exc:
        raise _refused(exc) from None
    return jsonify(dump_disposition(row))


@bp.delete(f"/dispositions/<{ID}:disposition_id>")
@agents_feature
def dispositions_delete(disposition_id: int):
    row = get_scoped(AgentDisposition, scope(), disposition_id)
    dispositions.delete(row.tenant_id, row.id, actor=principal(), ip=ip())
    return "", 204
