"""Tenants: the input schemas (what the services take; the API validates and publishes them)."""
from __future__ import annotations

from voxcast.schemas import COUNTRY, DECIMAL, EMAIL, LANGUAGE, PASSWORD, TIMEZONE, USERNAME, obj

TENANT_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "country": COUNTRY,
    "timezone": TIMEZONE,
    "language": LANGUAGE,
    "email": EMAIL,
    "channel_limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    "allowed_caller_ids": {"type": "array", "maxItems": 100,
                           "items": {"type": "string", "maxLength": 30},
                           "description": "Numbers besides its own DIDs that the tenant's "
                                          "campaigns may show as caller ID (E.164)."},
    "blocked_prefixes": {"type": "array", "maxItems": 200,
                         "items": {"type": "string", "pattern": "^\\+?[0-9]{1,15}$"},
                         "description": "Destinations the tenant's phones may not call: digit "
                                        "prefixes of the E.164 number (1900, 44) or as dialled "
                                        "(00, 011)."},
}
TENANT_CREATE = obj({
    **TENANT_FIELDS,
    "balance": DECIMAL,
    "slug": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$",
             "x-pattern-message": "lower-case letters, digits and - (not at either end)",
             "description": "Short id and sub-domain, e.g. acme."},
    "admin_username": USERNAME,
    "admin_password": PASSWORD,
    "admin_email": EMAIL,
}, ["name", "slug", "admin_username", "admin_password", "admin_email"])
TENANT_UPDATE = obj(TENANT_FIELDS, update=True)
