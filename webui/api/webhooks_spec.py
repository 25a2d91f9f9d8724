"""The OpenAPI part of /api/v1/webhooks (webui/api/webhooks.py), merged into the document by
webui.api.spec.build()."""
from __future__ import annotations

from models.entities import WEBHOOK_STATES
from voxcast.schemas import DATETIME, DATETIME_NULL, ID, NULLABLE_ID, STRING, out
from voxcast.webhooks.events import EVENTS
from voxcast.webhooks.schemas import WEBHOOK_CREATE, WEBHOOK_UPDATE

from .spec import PAGING, TENANT_FILTER, WRITE, op, page_of, path_id, query, ref

TAG = "Webhooks"
DESCRIPTION = (
    "Each event is POSTed as JSON `{\"id\", \"event\", \"created_at\", \"tenant_id\", "
    "\"data\"}` with the headers X-Voxcast-Event, X-Voxcast-Delivery (the event id: the same "
    "on every retry, drop repeats), X-Voxcast-Timestamp (Unix seconds of this attempt) and "
    "X-Voxcast-Signature: `sha256=` + hex HMAC-SHA256(secret, timestamp + \".\" + raw body). "
    "Only a 2xx answer counts as delivered (redirects are not followed); otherwise it is "
    "sent again 10 s later, doubling up to 1 h between tries, and given up (state failed) "
    "after 16 attempts. A tenant's endpoint receives only that tenant's events; the "
    "provider's every event. Events: " + ", ".join(EVENTS) + ".")


def _webhook(with_secret: bool) -> dict:
    fields = {"id": ID, "tenant_id": NULLABLE_ID, "url": STRING,
              "events": {"type": "array", "items": STRING}, "description": STRING,
              "active": {"type": "boolean"}, "created_at": DATETIME}
    if with_secret:
        fields["secret"] = {"type": "string", "example": "whsec_...",
                            "description": "Signs every delivery; shown only here."}
    return out(fields)


def _delivery(with_payload: bool) -> dict:
    fields = {"id": ID, "webhook_id": ID, "tenant_id": NULLABLE_ID,
              "event": {"type": "string", "enum": list(EVENTS)}, "event_id": STRING,
              "state": {"type": "string", "enum": list(WEBHOOK_STATES)},
              "attempts": {"type": "integer", "minimum": 0},
              "next_attempt_at": {**DATETIME_NULL, "description": "when pending"},
              "last_status": {"type": "integer", "nullable": True,
                              "description": "the last answer's HTTP status; null: none"},
              "last_error": STRING, "created_at": DATETIME, "delivered_at": DATETIME_NULL}
    if with_payload:
        fields["payload"] = {"type": "object", "description": "the body exactly as sent"}
    return out(fields)


def schemas() -> dict:
    return {"Webhook": _webhook(False), "WebhookWithSecret": _webhook(True),
            "WebhookDelivery": _delivery(False), "WebhookDeliveryDetail": _delivery(True)}


def paths() -> dict:
    item = [path_id()]
    return {
        "/webhooks": {
            "get": op("List webhook endpoints (a tenant key: its own; the provider's key: "
                      "every endpoint, or one tenant's with tenant_id)", "One page",
                      page_of("Webhook"), tag=TAG, params=(*PAGING, TENANT_FILTER)),
            "post": op("Add a webhook endpoint; the answer holds its signing secret, shown "
                       "only this once. " + DESCRIPTION, "Created", ref("WebhookWithSecret"),
                       status="201", request=WEBHOOK_CREATE, tag=TAG, errors=WRITE),
        },
        "/webhooks/{id}": {
            "parameters": item,
            "get": op("One webhook endpoint", "The endpoint", ref("Webhook"), tag=TAG),
            "patch": op("Change a webhook endpoint (url, events, description, active)",
                        "Changed", ref("Webhook"), request=WEBHOOK_UPDATE, tag=TAG,
                        errors=WRITE),
            "delete": op("Delete a webhook endpoint with its deliveries", "Deleted",
                         status="204", tag=TAG),
        },
        "/webhooks/{id}/rotate-secret": {
            "parameters": item,
            "post": op("A new signing secret at once (shown only in this answer)", "Rotated",
                       ref("WebhookWithSecret"), tag=TAG),
        },
        "/webhooks/{id}/test": {
            "parameters": item,
            "post": op("Queue a webhook.test event for this endpoint (whatever its events)",
                       "Queued", ref("WebhookDelivery"), status="202", tag=TAG),
        },
        "/webhooks/{id}/deliveries": {
            "parameters": item,
            "get": op("The endpoint's deliveries, newest first", "One page",
                      page_of("WebhookDelivery"), tag=TAG,
                      params=(*PAGING, query("state", {"type": "string",
                                                       "enum": list(WEBHOOK_STATES)}))),
        },
        "/webhooks/{id}/deliveries/{delivery_id}": {
            "parameters": [*item, path_id("delivery_id")],
            "get": op("One delivery with its payload", "The delivery",
                      ref("WebhookDeliveryDetail"), tag=TAG),
        },
        "/webhooks/{id}/deliveries/{delivery_id}/redeliver": {
            "parameters": [*item, path_id("delivery_id")],
            "post": op("Send a failed delivery again (attempts counted afresh)", "Queued",
                       ref("WebhookDelivery"), status="202", tag=TAG,
                       errors=("400", "401", "403", "404", "409")),
        },
    }
