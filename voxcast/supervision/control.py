"""A supervisor's forced moves of an agent, by the agent's user id: pause them with one of the
tenant's reasons, or log them out. The same compare-and-set moves the agent's own buttons and
the API use (voxcast.agents.states / sessions), so a forced pause that races an offered call
either wins (the offer is not made) or is refused, never both; a pause is refused while the
agent talks (the call would lose its agent), a logout is not (it ends the session at once;
the Stasis app finishes the call as it would after any logout). Each success is in the tenant
log with the supervisor's name."""
from __future__ import annotations

from models import User
from models.entities import AgentSession
from models.tenancy import TenantScopeError, get_scoped
from voxcast.agents import pause_reasons, sessions, states
from voxcast.agents.errors import InvalidMove, NoSession, NotFound
from voxcast.audit import records as audit
from voxcast.i18n import N_


def live_session(tenant_id: int, user_id: int) -> AgentSession:
    """The user's live agent session; NotFound for another tenant's (or no) user, NoSession
    when they are not logged in."""
    try:
        user = get_scoped(User, tenant_id, user_id)
    except TenantScopeError:
        raise NotFound(N_("No such agent.")) from None
    session = sessions.current(user.id)
    if session is None or session.tenant_id != tenant_id:
        raise NoSession(N_("%(name)s is not logged in."), name=user.username)
    return session


def force_pause(tenant_id: int, user_id: int, reason_id: int | None, *, actor=None,
                ip: str = "") -> AgentSession:
    """Pause the agent (with `reason_id`, one of the tenant's active reasons, or none); a
    paused agent gets the new reason. Returns the session as it is now."""
    session = live_session(tenant_id, user_id)
    reason_name = ""
    if reason_id is not None:
        reason = pause_reasons.get(tenant_id, reason_id)  # NotFound for another tenant's
        reason_name = reason.name
    if session.state == "on_call":
        raise InvalidMove(N_("%(name)s is on a call: pause them when it ends."),
                          name=session.user.username)
    if not states.set_state(session.id, "paused", pause_reason_id=reason_id):
        raise InvalidMove(N_("%(name)s cannot be paused now (the state moved on)."),
                          name=session.user.username)
    audit.record("agent.state", tenant_id=tenant_id, user=actor, object_type="agent_session",
                 object_id=session.id,
                 detail=f"{session.user.username} -> paused"
                        f"{' (' + reason_name + ')' if reason_name else ''} (supervisor)", ip=ip)
    return AgentSession.get_by_id(session.id)


def force_logout(tenant_id: int, user_id: int, *, actor=None, ip: str = "") -> AgentSession:
    """End the agent's session (end reason "supervisor"). Returns the ended session."""
    session = live_session(tenant_id, user_id)
    if not sessions.logout(session.id, "supervisor", ip=ip):
        raise NoSession(N_("%(name)s is not logged in."), name=session.user.username)
    if actor is not None:
        audit.record("agent.forced_logout", tenant_id=tenant_id, user=actor,
                     object_type="agent_session", object_id=session.id,
                     detail=f"{session.user.username} logged out by a supervisor", ip=ip)
    return AgentSession.get_by_id(session.id)
