"""Request bodies are checked against the same JSON Schemas the OpenAPI document publishes,
so the document and the server cannot disagree. Only the keywords spec.py uses are known."""
from __future__ import annotations

import re

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
              "boolean": "true or false", "object": "an object", "array": "a list"}


def check(schema: dict, value, path: str = "") -> dict[str, str]:
    """Field errors as {"name": "why"}; empty when `value` fits `schema`."""
    errors: dict[str, str] = {}
    _check(schema, value, path, errors)
    return errors


def _check(schema: dict, value, path: str, errors: dict[str, str]) -> None:
    where = path or "body"
    if value is None:
        if not schema.get("nullable"):
            errors[where] = "must not be null"
        return
    kind = schema.get("type")
    if kind and not TYPES[kind](value):
        errors[where] = f"must be {TYPE_NAMES[kind]}"
        return
    if "enum" in schema and value not in schema["enum"]:
        errors[where] = "must be one of: " + ", ".join(str(v) for v in schema["enum"] if v is not None)
        return
    if kind == "string":
        if len(value) < schema.get("minLength", 0):
            errors[where] = ("is required" if not value else
                             f"must be at least {schema['minLength']} characters")
        elif len(value) > schema.get("maxLength", 10**9):
            errors[where] = f"must be at most {schema['maxLength']} characters"
        elif "pattern" in schema and not re.search(schema["pattern"], value):
            errors[where] = schema.get("x-pattern-message", "has the wrong format")
        elif schema.get("format") == "email" and value and not EMAIL_RE.match(value):
            errors[where] = "is not an e-mail address"
    elif kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors[where] = f"must be at least {schema['minimum']}"
        elif "maximum" in schema and value > schema["maximum"]:
            errors[where] = f"must be at most {schema['maximum']}"
    elif kind == "object":
        props = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                errors[_join(path, name)] = "is required"
        if schema.get("additionalProperties") is False:
            for name in value:
                if name not in props:
                    errors[_join(path, name)] = "is not a known field"
        if len(value) < schema.get("minProperties", 0):
            errors[where] = "give at least one field to change"
        for name, sub in props.items():
            if name in value:
                _check(sub, value[name], _join(path, name), errors)
    elif kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors[where] = f"must have at least {schema['minItems']} items"
        elif len(value) > schema.get("maxItems", 10**9):
            errors[where] = f"must have at most {schema['maxItems']} items"
        elif "items" in schema:
            for i, item in enumerate(value):
                _check(schema["items"], item, f"{path}[{i}]" if path else f"[{i}]", errors)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
