"""Request bodies of /api/v1/webhooks (a tenant key: its own endpoints; the provider's key:
its own, or a tenant's with tenant_id)."""
from voxcast.schemas import NULLABLE_ID, obj
from voxcast.webhooks.events import EVENTS

EVENT_PATTERN = {"type": "string", "minLength": 1, "maxLength": 64,
                 "example": "campaign.*",
                 "description": "An event name, a prefix such as \"campaign.*\", or \"*\"."}
WEBHOOK_FIELDS = {
    "url": {"type": "string", "minLength": 1, "maxLength": 1000,
            "example": "https://crm.example.com/voxcast/events",
            "description": "http:// or https://; a tenant's must be a public address."},
    "events": {"type": "array", "items": EVENT_PATTERN, "minItems": 1, "maxItems": 50,
               "example": ["*"],
               "description": "What it receives: " + ", ".join(EVENTS) + "; default [\"*\"]."},
    "description": {"type": "string", "maxLength": 255},
    "active": {"type": "boolean", "description": "false: nothing is sent (queued events wait)."},
}
WEBHOOK_CREATE = obj({**WEBHOOK_FIELDS, "tenant_id": {
    **NULLABLE_ID, "description": "Only with the provider's key: a tenant's endpoint "
    "(that tenant's events only); absent or null: the provider's (every event)."}}, ["url"])
WEBHOOK_UPDATE = obj(WEBHOOK_FIELDS, update=True)
