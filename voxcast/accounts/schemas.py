"""Users: the input schemas (what the services take; the API validates and publishes them)."""
from __future__ import annotations

from voxcast.schemas import EMAIL, ID, PASSWORD, PIN, ROLES, TEXT, TIMEZONE, USERNAME, obj

USER_FIELDS = {
    "role": {"type": "string", "enum": ROLES},
    "password": PASSWORD,
    "pin": PIN,
    "email": EMAIL,
    "first_name": TEXT,
    "last_name": TEXT,
    "phone": {"type": "string", "maxLength": 40},
    "timezone": {**TIMEZONE, "description": "Empty: the tenant's."},
    "language": {"type": "string", "enum": ["", "en", "de"]},
    "active": {"type": "boolean"},
}
USER_CREATE = obj({**USER_FIELDS, "username": USERNAME, "tenant_id": {
    **ID, "description": "Only with the provider's key: the tenant to create the user in."}},
    ["username", "password", "pin"])
USER_UPDATE = obj(USER_FIELDS, update=True)
