"""The base of every service error: a stable `code` and an HTTP `status` that the API sends as
they are (as wazo-calld's exceptions do), and the message a user reads. Each feature's errors
subclass it and set both; their constructors stay their own (fields, templates, lists)."""
from __future__ import annotations


class ServiceError(Exception):
    code = "not-possible"
    status = 409

    @property
    def fields(self) -> dict[str, str]:
        """Input field -> why it was refused, when the error is about fields."""
        found = getattr(self, "errors", None)
        if isinstance(found, dict):
            return {k: v for k, v in found.items() if k}
        field = getattr(self, "field", "")
        return {field: str(self)} if field else {}
