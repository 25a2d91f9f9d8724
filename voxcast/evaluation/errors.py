"""Typed evaluation errors: a stable code and the HTTP status the API sends; `errors` maps an
input field ("" for the whole request) to a message (a voxcast.i18n.Msg the portal shows
translated)."""
from __future__ import annotations

from voxcast.errors import ServiceError


class EvaluationError(ServiceError):
    code, status = "evaluation-not-possible", 409

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(str(v) for v in self.errors.values()))


class InvalidInput(EvaluationError):
    """Values that cannot be saved; nothing changed."""
    code, status = "validation", 422


class NotFound(EvaluationError):
    code, status = "not-found", 404


class Locked(EvaluationError):
    """The change would alter what past evaluations of the form mean (a question that has
    answers: its scoring, section or existence); duplicate the form to change it."""
    code, status = "locked", 409


class InUse(EvaluationError):
    """A form with evaluations cannot be deleted (they would go with it): deactivate it."""
    code, status = "in-use", 409


class NotScorable(EvaluationError):
    """The call cannot be evaluated with this form (no agent, an inactive or empty form)."""
    code, status = "not-scorable", 409


class AgentLeg(NotScorable):
    """The CDR of the agent's phone: the conversation is scored on the customer's CDR (which
    carries the agent, the disposition and the recording), so one call never counts twice;
    `customer_id` names it when it is known."""
    code = "agent-leg"

    def __init__(self, errors, customer_id: int | None):
        super().__init__(errors)
        self.customer_id = customer_id


class AlreadyEvaluated(EvaluationError):
    """The call already has an evaluation with this form (one per call and form)."""
    code, status = "already-evaluated", 409

    def __init__(self, errors, evaluation_id: int):
        super().__init__(errors)
        self.evaluation_id = evaluation_id
