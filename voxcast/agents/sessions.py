"""Agent sessions: one login of an agent, bound to the extension assigned to them, from the web
console or the phone (feature code + PIN). A user has at most one live session: logging in
again replaces the old one. Logging out, suspending the tenant and disabling the user end it
(voxcast.tenants.services.suspend, voxcast.accounts.users.set_active call end_for_*)."""
from __future__ import annotations

import datetime as dt

from peewee import JOIN
from voxcast.accounts.passwords import verify as verify_password

from models import Extension, Tenant, User, database
from models.entities import AgentSession, AgentStateLog, PauseReason, utcnow
from voxcast.accounts import login_guard
from voxcast.agents import states
from voxcast.agents.errors import InvalidPin, NoExtension, NoSession, NotAnAgent, PinThrottled
from voxcast.audit import records as audit
from voxcast.i18n import N_
from voxcast.tenants import features

VIAS = ("web", "phone")
END_REASONS = ("logout", "replaced", "tenant_suspended", "user_disabled", "role_changed",
               "supervisor", "extension_removed")


def current(user_id: int) -> AgentSession | None:
    """The user's live session, if they are logged in as an agent."""
    return (AgentSession.select().where(AgentSession.user == user_id,
                                        AgentSession.ended_at.is_null())
            .order_by(AgentSession.id.desc()).first())


def extension_of(user: User) -> Extension | None:
    """The extension calls are offered to: the lowest-numbered one assigned to the user."""
    return (Extension.select().where(Extension.user == user.id, Extension.tenant == user.tenant_id)
            .order_by(Extension.number).first())


def _agent(tenant_id: int, user_id: int) -> tuple[User, Extension]:
    user = User.get_or_none(User.id == user_id, User.tenant == tenant_id)
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if user is None or tenant is None:
        raise NotAnAgent(N_("No such agent."))
    if tenant.status != "active":
        raise NotAnAgent(N_("Your organisation's account is suspended."))
    if not features.has(tenant, "agents"):
        raise NotAnAgent(N_("Your plan does not include agents."))
    if not user.active:
        raise NotAnAgent(N_("This account is disabled."))
    if user.role != "agent":
        raise NotAnAgent(N_("Only agents can log in to take calls."))
    ext = extension_of(user)
    if ext is None:
        raise NoExtension(N_("No extension is assigned to you; ask your administrator."))
    return user, ext


def _end(session: AgentSession, reason: str, now: dt.datetime) -> bool:
    """End one live session (any state): its state becomes logged_out, its log row closes and
    a logged_out row opens, closed again at the user's next login."""
    return states.end_session(session.id, reason, now)


def login(tenant_id: int, user_id: int, via: str = "web", *, now: dt.datetime | None = None,
          ip: str = "") -> AgentSession:
    """Start taking calls: the user must be an active agent of an active tenant that has the
    agents feature, with an extension assigned. An open session of the same user ends
    ("replaced"). The first state is ready."""
    if via not in VIAS:
        raise ValueError(f"unknown login channel {via!r}")
    now = now or utcnow()
    user, ext = _agent(tenant_id, user_id)
    with database.atomic():
        for old in AgentSession.select().where(AgentSession.user == user.id,
                                               AgentSession.ended_at.is_null()):
            _end(old, "replaced", now)
        AgentStateLog.update(ended_at=now).where(AgentStateLog.user == user.id,
                                                 AgentStateLog.ended_at.is_null()).execute()
        session = AgentSession.create(tenant=tenant_id, user=user.id, extension=ext.id, via=via,
                                      state="ready", state_since=now, started_at=now)
        AgentStateLog.create(tenant=tenant_id, session=session.id, user=user.id, state="ready",
                             started_at=now)
        audit.record("agent.login", tenant_id=tenant_id, user=user, object_type="agent_session",
                     object_id=session.id, detail=f"{user.username} at {ext.number} ({via})",
                     ip=ip)
    return session


def login_by_pin(extension_number: str, pin: str, *, now: dt.datetime | None = None
                 ) -> AgentSession:
    """The phone's login feature code: the agent dials it from their extension and keys their
    PIN. Failures count like web logins (voxcast.accounts.login_guard), keyed by the user and
    the extension, so guessing from a phone is as slow as from the web."""
    ext = Extension.get_or_none(Extension.number == str(extension_number or ""))
    user = User.get_or_none(User.id == ext.user_id) if ext is not None and ext.user_id else None
    if ext is None or ext.tenant_id is None or user is None or user.tenant_id != ext.tenant_id:
        raise NotAnAgent(N_("No agent is assigned to this extension."))
    where = f"phone:{ext.number}"
    throttled = login_guard.check(user.username, where, user, now)
    if throttled is not None:
        raise PinThrottled(throttled.message)
    pin = str(pin or "")
    if not pin or not user.pin or not verify_password(user.pin, pin):
        locked = login_guard.record_failure(user.username, where, user, now)
        if locked is not None:
            raise PinThrottled(locked.message)
        raise InvalidPin(N_("That PIN is not valid."))
    session = login(ext.tenant_id, user.id, via="phone", now=now)
    login_guard.record_success(user, where)
    return session


def logout(session_id: int, reason: str = "logout", *, now: dt.datetime | None = None,
           ip: str = "") -> bool:
    """End the session; False when it had already ended."""
    session = AgentSession.get_or_none(AgentSession.id == session_id)
    if session is None or session.ended_at is not None:
        return False
    with database.atomic():
        ended = _end(session, reason, now or utcnow())
        if ended:
            audit.record("agent.logout", tenant_id=session.tenant_id, user=session.user,
                         object_type="agent_session", object_id=session.id,
                         detail=f"{session.user.username}: {reason}", ip=ip)
    return ended


def logout_user(user_id: int, *, ip: str = "") -> bool:
    """The console's and the phone's logout: ends the user's live session."""
    session = current(user_id)
    if session is None:
        raise NoSession(N_("You are not logged in as an agent."))
    return logout(session.id, "logout", ip=ip)


def end_for_user(user_id: int, reason: str, *, now: dt.datetime | None = None) -> int:
    """End the user's live sessions (disabled, role changed); how many ended."""
    now = now or utcnow()
    with database.atomic():
        return sum(_end(s, reason, now) for s in AgentSession.select().where(
            AgentSession.user == user_id, AgentSession.ended_at.is_null()))


def end_for_extension(extension_id: int, keep_user_id: int | None, reason: str = "extension_removed",
                      *, now: dt.datetime | None = None) -> int:
    """End the live sessions bound to an extension that is no longer their user's (assigned
    to someone else, or to nobody); `keep_user_id` is its new holder. How many ended."""
    now = now or utcnow()
    query = AgentSession.select().where(AgentSession.extension == extension_id,
                                        AgentSession.ended_at.is_null())
    if keep_user_id is not None:
        query = query.where(AgentSession.user != keep_user_id)
    with database.atomic():
        return sum(_end(s, reason, now) for s in query)


def end_for_tenant(tenant_id: int, reason: str, *, now: dt.datetime | None = None) -> int:
    """End every live session of the tenant (suspended); how many ended."""
    now = now or utcnow()
    with database.atomic():
        return sum(_end(s, reason, now) for s in AgentSession.select().where(
            AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null()))


def live_sessions(tenant_id: int):
    """The tenant's live sessions with their users and extensions, for the supervisor view
    and the API."""
    return (AgentSession.select(AgentSession, User, Extension, PauseReason)
            .join(User, on=(AgentSession.user == User.id))
            .switch(AgentSession).join(Extension, JOIN.LEFT_OUTER,
                                       on=(AgentSession.extension == Extension.id))
            .switch(AgentSession).join(PauseReason, JOIN.LEFT_OUTER,
                                       on=(AgentSession.pause_reason == PauseReason.id))
            .where(AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null())
            .order_by(User.username))
