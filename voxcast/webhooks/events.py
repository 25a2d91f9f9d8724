"""Emitting an event: one outbox row (WebhookDelivery) per endpoint that wants it, written by
the caller's transaction, so an event exists exactly when the change it reports does. The
`voxcast webhooks` process delivers them.

Who receives: the provider's endpoints (tenant None) every event; a tenant's endpoints only
events of that tenant. An endpoint's `events` is "*" or space-separated names and prefixes
("campaign.*")."""
from __future__ import annotations

import json
import uuid

from models import database
from models.entities import WebhookDelivery, WebhookEndpoint, utcnow

EVENTS = (
    "tenant.created", "tenant.updated", "tenant.suspended", "tenant.unsuspended",
    "tenant.terminated", "subscription.renewed", "subscription.package_changed",
    "payment.received", "balance.low",
    "campaign.started", "campaign.paused", "campaign.stopped", "campaign.completed",
    "call.ended",
)


def wants(patterns: str, event: str) -> bool:
    for pattern in (patterns or "").split():
        if pattern == "*" or pattern == event:
            return True
        if pattern.endswith(".*") and event.startswith(pattern[:-1]):
            return True
    return False


def _endpoints(tenant_id: int | None):
    query = WebhookEndpoint.select().where(WebhookEndpoint.active == True)  # noqa: E712
    if tenant_id is None:
        return query.where(WebhookEndpoint.tenant.is_null())
    return query.where(WebhookEndpoint.tenant.is_null() | (WebhookEndpoint.tenant == tenant_id))


def emit(event: str, tenant_id: int | None, data: dict) -> int:
    """Queue `event` for every endpoint that wants it; how many deliveries were queued."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = [e for e in _endpoints(tenant_id) if wants(e.events, event)]
    if not endpoints:
        return 0
    event_id = f"evt_{uuid.uuid4().hex}"
    now = utcnow()
    body = json.dumps({"id": event_id, "event": event,
                       "created_at": now.isoformat(timespec="seconds") + "Z",
                       "tenant_id": tenant_id, "data": data},
                      separators=(",", ":"), sort_keys=True, default=str)
    with database.atomic():
        WebhookDelivery.insert_many([
            {"endpoint": e.id, "tenant": tenant_id, "event": event, "event_id": event_id,
             "payload": body, "next_attempt_at": now, "created_at": now}
            for e in endpoints]).execute()
    return len(endpoints)
