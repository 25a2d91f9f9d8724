"""Extensions and DIDs: the input schemas (what the services take; the API validates and publishes them)."""
from __future__ import annotations

from voxcast.schemas import ID, NULLABLE_ID, obj

EXTENSION_CREATE = obj({
    "number": {"type": "string", "pattern": "^[0-9]{2,10}$", "x-pattern-message": "2 to 10 digits",
               "description": "The SIP password is generated."}}, ["number"])
EXTENSION_ALLOCATE = obj({"tenant_id": ID, "count": {"type": "integer", "minimum": 1,
                                                     "maximum": 1000}}, ["tenant_id", "count"])
ASSIGN_USER = obj({"user_id": NULLABLE_ID}, ["user_id"])
ALLOCATE = obj({"tenant_id": {**NULLABLE_ID, "description": "null returns it to the pool."}},
               ["tenant_id"])

DID_CREATE = obj({
    "number": {"type": "string", "pattern": r"^\+?[0-9]{3,20}$",
               "x-pattern-message": "digits only, optionally starting with +"},
    "tenant_id": NULLABLE_ID,
    "greeting_text": {"type": "string", "maxLength": 2000},
}, ["number"])
DID_UPDATE = obj({"user_id": NULLABLE_ID, "campaign_id": NULLABLE_ID,
                  "greeting_text": {"type": "string", "maxLength": 2000}}, update=True)
