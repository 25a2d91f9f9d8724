"""The building blocks of the input schemas (OpenAPI 3.0 / JSON Schema): each feature's
`schemas.py` describes what its services take, the API validates requests against them and
publishes them (webui/api/spec.py)."""
from __future__ import annotations

MAX_ID = 2**31 - 1
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NULLABLE_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": True}
TEXT = {"type": "string", "maxLength": 100}
LONG_TEXT = {"type": "string", "maxLength": 255}
EMAIL = {"type": "string", "maxLength": 254, "format": "email"}
DECIMAL = {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,4})?$",
           "x-pattern-message": "must be a decimal number like 12.50", "example": "25.00"}
TIMEZONE = {"type": "string", "maxLength": 64, "example": "Europe/Berlin",
            "description": "An IANA time zone name."}
LANGUAGE = {"type": "string", "enum": ["en", "de"]}
COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$", "example": "US",
           "x-pattern-message": "must be an ISO 3166 two-letter country code like US",
           "description": "ISO 3166 alpha-2; numbers without + are read as this country's."}
PHONE_IN = {"type": "string", "minLength": 1, "maxLength": 40, "example": "+14155550123",
            "description": "Any common notation; stored in E.164 form."}
DATETIME = {"type": "string", "format": "date-time"}
STRING = {"type": "string"}
DATETIME_NULL = {"type": "string", "format": "date-time", "nullable": True}

ROLES = ["user", "supervisor", "agent"]
USERNAME = {"type": "string", "minLength": 3, "maxLength": 64,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$",
            "x-pattern-message": "3 to 64 letters, digits and . _ @ - (starting with a letter or digit)"}
PASSWORD = {"type": "string", "minLength": 8, "maxLength": 500}
PIN = {"type": "string", "pattern": "^[0-9]{4,8}$", "x-pattern-message": "4 to 8 digits"}
CUSTOM = {f"custom{i}": LONG_TEXT for i in range(1, 9)}


def obj(properties: dict, required=(), *, update: bool = False) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if update:
        schema["minProperties"] = 1
    return schema


def out(properties: dict) -> dict:
    """A response object: every property is always present."""
    return {"type": "object", "properties": properties, "required": list(properties)}
