"""/api/v1/wallboard and /api/v1/reports/live-calls: the supervisor's wallboard (agents,
queues, calls in progress) and the live statistics (every call in progress), the same data the
pages poll (voxcast.supervision.wallboard, voxcast.reports.live). Forcing an agent to pause or
log out is /agents/{id}/state and /agents/{id}/logout (contact_centre.py)."""
from __future__ import annotations

import datetime as dt
import functools

from flask import jsonify, request

from models import Tenant
from models.entities import utcnow
from voxcast.reports import live
from voxcast.reports.period import ReportPeriod, zone_of
from voxcast.supervision import wallboard as board

from voxcast.tenants import features

from . import ApiError, bp, principal, query_int
from .contact_centre import _tenant_scope, _when, agents_feature


def _tenant_midnight(tenant_id: int, now: dt.datetime) -> tuple[dt.datetime, str]:
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    zone = zone_of(tenant.timezone if tenant is not None else "")
    today = now.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
    return ReportPeriod(today, today, zone).since, zone.key


@bp.get("/wallboard")
@agents_feature
def wallboard():
    """Agents logged in (state, seconds in it, their call), queues (waiting, longest wait,
    outcomes and service level since `since`, default the tenant's midnight) and the calls in
    progress."""
    tenant_id = _tenant_scope()
    now = utcnow()
    midnight, zone = _tenant_midnight(tenant_id, now)
    since = _when("since", midnight)
    data = board.build(tenant_id, now, since).as_dict()
    data["zone"] = zone
    return jsonify(data)


def reports_feature(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        p = principal()
        if not p.is_admin and not features.has(Tenant.get_by_id(p.tenant_id), "reports"):
            raise ApiError(403, "feature-disabled", "This organisation's plan does not include reports.")
        return view(*args, **kwargs)
    return wrapped


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise ApiError(400, "bad-parameter", f"'{name}' must be one of {', '.join(allowed)}.",
                       {name: f"must be one of {', '.join(allowed)}"})
    return value


@bp.get("/reports/live-calls")
@reports_feature
def live_calls():
    """Every call of the tenant in progress now, oldest first."""
    now = utcnow()
    chosen = live.LiveFilter(leg=_choice("leg", live.LEGS), state=_choice("state", live.STATES),
                             campaign_id=query_int("campaign_id", None),
                             queue_id=query_int("queue_id", None),
                             agent_id=query_int("agent_id", None))
    calls = chosen.apply(live.active_calls(_tenant_scope(), now))
    return jsonify(now=now.isoformat(timespec="seconds") + "Z",
                   items=[c.as_dict() for c in calls])
