"""The agent feature codes a phone dials (*50 login with the PIN, *51 logout, *52 pause with
the tenant's first active reason, *53 ready), on voxcast.agents' sessions and states. Each
returns the prompt the caller hears; failures are prompts too, never exceptions, so the
FastAGI conversation always ends with an answer."""
from __future__ import annotations

import logging

from voxcast.agents import errors, sessions, states

log = logging.getLogger("voxcast.phones.features")

LOGGED_IN, LOGGED_OUT, PAUSED, READY = "vx-logged-in", "vx-logged-out", "vx-paused", "vx-ready"
PIN_INVALID, NOT_ALLOWED = "vx-pin-invalid", "vx-not-allowed"


def _session_of(extension: str):
    """The live session of the agent assigned to this extension, or None."""
    from models import Extension
    ext = Extension.get_or_none(Extension.number == str(extension or ""))
    if ext is None or ext.tenant_id is None or ext.user_id is None:
        return None
    session = sessions.current(ext.user_id)
    return session if session is not None and session.tenant_id == ext.tenant_id else None


def login(extension: str, pin: str) -> str:
    try:
        sessions.login_by_pin(extension, pin)
    except (errors.InvalidPin, errors.PinThrottled) as exc:
        log.info("phone login at %s refused: %s", extension, exc)
        return PIN_INVALID
    except errors.AgentError as exc:
        log.info("phone login at %s refused: %s", extension, exc)
        return NOT_ALLOWED
    return LOGGED_IN


def logout(extension: str) -> str:
    session = _session_of(extension)
    if session is not None:
        sessions.logout(session.id, "logout")
    return LOGGED_OUT


def pause(extension: str) -> str:
    from voxcast.agents.pause_reasons import first_active
    session = _session_of(extension)
    if session is None:
        return NOT_ALLOWED
    reason = first_active(session.tenant_id)
    try:
        moved = states.set_state(session.id, "paused",
                                 pause_reason_id=reason.id if reason else None)
    except errors.AgentError as exc:
        log.info("pause at %s refused: %s", extension, exc)
        return NOT_ALLOWED
    return PAUSED if moved or _state(session.id) == "paused" else NOT_ALLOWED


def ready(extension: str) -> str:
    session = _session_of(extension)
    if session is None:
        return NOT_ALLOWED
    try:
        moved = states.set_state(session.id, "ready")
    except errors.AgentError as exc:
        log.info("ready at %s refused: %s", extension, exc)
        return NOT_ALLOWED
    return READY if moved or _state(session.id) == "ready" else NOT_ALLOWED


def _state(session_id: int) -> str:
    from models.entities import AgentSession
    return AgentSession.select(AgentSession.state).where(AgentSession.id == session_id).scalar() or ""


ACTIONS = {"logout": logout, "pause": pause, "ready": ready}  # login needs the PIN
