"""Typed console errors: a stable code and the HTTP status the web sends back."""
from __future__ import annotations

from voxcast.errors import ServiceError


class ConsoleError(ServiceError):
    """`template` (marked with N_) and `params` let a page show the message translated:
    `_(exc.template, **exc.params)`; str(exc) is the English text."""
    code, status = "console-not-possible", 409

    def __init__(self, message: str, field: str = "", **params):
        super().__init__(message % params if params else message)
        self.template, self.params, self.field = message, params, field


class NotLoggedIn(ConsoleError):
    code, status = "not-logged-in", 409


class NoCall(ConsoleError):
    """The command needs a call the agent is talking on, and there is none (or not this one)."""
    code, status = "no-call", 409


class BadTarget(ConsoleError):
    """A transfer target that is not the tenant's, or not reachable now."""
    code, status = "bad-target", 422


class BadNumber(ConsoleError):
    code, status = "bad-number", 422


class Refused(ConsoleError):
    """A dial the platform does not place: DNC, no credit, no free channel, not allowed."""
    code, status = "refused", 409


class AppUnavailable(ConsoleError):
    """The telephony server did not take the command (not possible now: try again)."""
    code, status = "telephony-unavailable", 409
