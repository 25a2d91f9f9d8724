"""Typed campaign errors: a stable code and an HTTP status the API sends as they are, the
message a user reads, and which input fields were wrong (the portal marks them)."""
from __future__ import annotations

from voxcast.errors import ServiceError


class CampaignError(ServiceError):
    """A campaign action that cannot be done; str(error) is the reason, fit for a user."""
    code = "not-possible"
    status = 409

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 fields: dict[str, str] | None = None):
        super().__init__(message)
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = dict(fields or {})  # ServiceError.fields reads it

    @property
    def message(self) -> str:
        return str(self)


class CampaignInputError(CampaignError):
    """Something in the submitted settings is not valid; nothing was saved."""
    code = "validation"
    status = 422


class CampaignNotAllowed(CampaignError):
    """The tenant's plan or quota does not allow it."""
    status = 403
