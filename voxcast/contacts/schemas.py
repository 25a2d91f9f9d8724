"""Contact groups, contacts and DNC numbers: the input schemas (what the services take; the API validates and publishes them)."""
from __future__ import annotations

from voxcast.schemas import CUSTOM, EMAIL, ID, PHONE_IN, TEXT, obj

GROUP_CREATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "tenant_id": {**ID, "description": "Only with the provider's key."}}, ["name"])
GROUP_UPDATE = obj({"name": {"type": "string", "minLength": 1, "maxLength": 100}}, ["name"])
CONTACT_FIELDS = {"phone": PHONE_IN, "first_name": TEXT, "last_name": TEXT, "email": EMAIL,
                  **CUSTOM}
CONTACT_CREATE = obj(CONTACT_FIELDS, ["phone"])
CONTACT_UPDATE = obj(CONTACT_FIELDS, update=True)
BULK_MAX = 5000
CONTACT_BULK = {"type": "array", "minItems": 1, "maxItems": BULK_MAX, "items": CONTACT_CREATE}

DNC_CREATE = obj({"phone": PHONE_IN,
                  "tenant_id": {**ID, "description": "Only with the provider's key: add to this "
                                "tenant's list instead of the provider-wide one."}}, ["phone"])
