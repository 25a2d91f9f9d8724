"""Integers from the request, the one way the UI reads them: the query string (`arg_int`,
`arg_id`), form fields (`parse_id`) and URL parts (`BoundedIntConverter`, installed as the
app's `int` converter). A number outside the database's integer range must never reach a
query: SQLite's driver raises OverflowError and PostgreSQL a DataError, both an HTTP 500
(security issue 10, finding 9). The JSON API does the same with its own errors (api.query_int).
"""
from __future__ import annotations

from flask import request
from werkzeug.routing import IntegerConverter, ValidationError

MAX_INT = 2**31 - 1  # PostgreSQL integer (ids are serial); SQLite's range is wider


def _parse(raw) -> int | None:
    raw = (raw or "").strip() if isinstance(raw, str) else raw
    if raw is None or raw == "":
        return None
    if isinstance(raw, int):
        return raw
    if len(raw) > 32 or not raw.lstrip("+-").isascii() or not raw.lstrip("+-").isdigit():
        return None  # not a number; also keeps int() away from huge digit strings
    return int(raw)


def arg_int(name: str, default: int, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """?name=N clamped to [minimum, maximum] (a page past the end is simply empty);
    missing or not a number: `default`."""
    value = _parse(request.args.get(name))
    if value is None:
        return default
    return min(max(value, minimum), maximum)


def parse_id(raw) -> int | None:
    """A row id from a form or query value: None unless a whole number in 1..MAX_INT (an id
    outside the range names no row)."""
    value = _parse(raw)
    return value if value is not None and 1 <= value <= MAX_INT else None


def arg_id(name: str) -> int | None:
    """?name=<id> as parse_id reads it."""
    return parse_id(request.args.get(name))


class BoundedIntConverter(IntegerConverter):
    """`<int:x>` accepting 0..MAX_INT unless the rule says otherwise: a longer number does
    not match, so the URL is a 404 instead of an overflow in the query."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_INT, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str):
        if len(value) > 12:  # int() of thousands of digits is refused (ValueError) or slow
            raise ValidationError()
        return super().to_python(value)
