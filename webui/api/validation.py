"""Request bodies are checked against the same schemas the OpenAPI document publishes, by a real
validator, so the document and the server cannot disagree: openapi-schema-validator's
OAS30Validator (jsonschema underneath) because the document is OpenAPI 3.0, whose Schema Object
is not plain JSON Schema (`nullable`, draft-4 style `exclusiveMinimum`, OpenAPI formats).

Its errors are turned into short reasons per field ({"tenant.name": "is required"}), the
`fields` of a 422; `x-pattern-message` on a schema words the reason for its pattern."""
from __future__ import annotations

from collections.abc import Iterable

from jsonschema import FormatChecker, ValidationError
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from voxcast.accounts import email_address

TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number",
              "boolean": "true or false", "object": "an object", "array": "a list"}


def _is_email(value) -> bool:
    """'' is the "no address" value of every optional e-mail field; anything else must be one."""
    return not isinstance(value, str) or value == "" or email_address.is_valid(value)


FORMATS = FormatChecker(formats=())
FORMATS.checkers.update(oas30_format_checker.checkers)
FORMATS.checks("email")(_is_email)

# JSON's 1.0 is a float in Python: count only real ints as integers, so a body's integer
# fields reach the services (and the database) as int.
_TYPES = OAS30Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
Validator = extend(OAS30Validator, type_checker=_TYPES)


def check(schema: dict, value, path: str = "") -> dict[str, str]:
    """Field errors as {"name": "why"}, the first reason for each field; empty when `value`
    fits `schema`."""
    errors: dict[str, str] = {}
    for error in Validator(schema, format_checker=FORMATS).iter_errors(value):
        for where, why in _reasons(error):
            errors.setdefault(_name(path, where), why)
    return errors


def _name(prefix: str, where: Iterable) -> str:
    name = prefix
    for part in where:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name = f"{name}.{part}" if name else str(part)
    return name or "body"


def _reasons(error: ValidationError) -> list[tuple[list, str]]:
    """(path, reason) pairs for one validator error; `required` and `additionalProperties`
    name the member they are about, one level below the object they were raised on."""
    at, keyword, limit, instance = list(error.absolute_path), error.validator, \
        error.validator_value, error.instance
    if keyword == "required":
        return [(at + [name], "is required") for name in limit if name not in instance]
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        return [(at + [name], "is not a known field") for name in instance if name not in known]
    return [(at, _reason(keyword, limit, instance, error.schema))]


def _reason(keyword: str, limit, instance, schema: dict) -> str:
    if keyword == "type":
        return "must not be null" if instance is None else f"must be {TYPE_NAMES[limit]}"
    if keyword == "enum":
        return "must be one of: " + ", ".join(str(v) for v in limit if v is not None)
    if keyword == "minLength":
        return "is required" if instance == "" else f"must be at least {limit} characters"
    if keyword == "maxLength":
        return f"must be at most {limit} characters"
    if keyword == "pattern":
        return schema.get("x-pattern-message", "has the wrong format")
    if keyword == "format":
        return "is not an e-mail address" if limit == "email" else f"must be a valid {limit}"
    if keyword == "minimum":
        return f"must be {'more than' if schema.get('exclusiveMinimum') else 'at least'} {limit}"
    if keyword == "maximum":
        return f"must be {'less than' if schema.get('exclusiveMaximum') else 'at most'} {limit}"
    if keyword == "minProperties":
        return "give at least one field to change"
    if keyword == "maxProperties":
        return f"must have at most {limit} fields"
    if keyword == "minItems":
        return f"must have at least {limit} items"
    if keyword == "maxItems":
        return f"must have at most {limit} items"
    if keyword == "uniqueItems":
        return "must not repeat an item"
    if keyword == "multipleOf":
        return f"must be a multiple of {limit}"
    if keyword in ("oneOf", "anyOf"):
        return "does not fit any of the allowed forms"
    return "is not valid"
