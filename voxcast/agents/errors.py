"""Typed agent errors: a stable code and the HTTP status the API sends; str() is the message a
user (or a phone prompt chooser) reads, `template`/`params` the same to translate; `field`
names the input it is about, when one."""
from __future__ import annotations

from voxcast.errors import ServiceError


class AgentError(ServiceError):
    """`template` (marked with N_) and `params` let a page show the message translated:
    `_(exc.template, **exc.params)`; str(exc) is the English text."""
    code, status = "agent-not-possible", 409

    def __init__(self, message: str, field: str = "", **params):
        super().__init__(message % params if params else message)
        self.field = field
        self.template = message
        self.params = params


class AgentInputError(AgentError):
    """Submitted values that cannot be saved; nothing changed."""
    code, status = "validation", 422


class NotAnAgent(AgentError):
    """The user may not log in as an agent (wrong role, disabled, tenant suspended or without
    the agents feature)."""
    code, status = "not-an-agent", 403


class NoExtension(AgentError):
    """An agent needs an extension assigned before logging in: calls are offered to it."""
    code, status = "no-extension", 409


class InvalidPin(AgentError):
    code, status = "invalid-pin", 403


class PinThrottled(AgentError):
    code, status = "too-many-attempts", 429


class NoSession(AgentError):
    """The agent is not logged in (or that session has ended)."""
    code, status = "not-logged-in", 409


class NotFound(AgentError):
    code, status = "not-found", 404


class NotYourCall(AgentError):
    """The call was not taken by this agent."""
    code, status = "not-your-call", 403


class InvalidMove(AgentError):
    code, status = "invalid-state", 409
