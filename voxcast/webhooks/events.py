"""Emitting an event: one outbox row (WebhookDelivery) per endpoint that wants it, written by
the caller's transaction, so an event exists exactly when the change it reports does. The
`voxcast webhooks` process delivers them.

Who receives: the provider's endpoints (tenant None) every event; a tenant's endpoints only
events of that tenant. An endpoint's `events` is "*" or space-separated names and prefixes
("campaign.*").

Hot paths (a CDR closing) ask `endpoints_exist()` first: a check cached for a few seconds
per process, so a platform without endpoints pays no query per call."""
from __future__ import annotations

import json
import threading
import time
import uuid

from models import database
from models.entities import WebhookDelivery, WebhookEndpoint, utcnow

EVENTS = (
    "tenant.created", "tenant.updated", "tenant.suspended", "tenant.unsuspended",
    "tenant.terminated", "subscription.renewed", "subscription.package_changed",
    "payment.received", "balance.low",
    "campaign.started", "campaign.paused", "campaign.stopped", "campaign.completed",
    "call.ended",
    "webhook.test",  # sent only by "test" (API /webhooks/{id}/test, the UI's button)
)
CACHE_S = 5.0  # how stale endpoints_exist() may be


def wants(patterns: str, event: str) -> bool:
    for pattern in (patterns or "").split():
        if pattern == "*" or pattern == event:
            return True
        if pattern.endswith(".*") and event.startswith(pattern[:-1]):
            return True
    return False


def _endpoints(tenant_id: int | None, provider_only: bool = False):
    query = WebhookEndpoint.select().where(WebhookEndpoint.active == True)  # noqa: E712
    if tenant_id is None or provider_only:
        return query.where(WebhookEndpoint.tenant.is_null())
    return query.where(WebhookEndpoint.tenant.is_null() | (WebhookEndpoint.tenant == tenant_id))


def payload(event_id: str, event: str, created_at, tenant_id: int | None, data: dict) -> str:
    """The JSON body, exactly as signed and sent (compact, keys sorted)."""
    return json.dumps({"id": event_id, "event": event,
                       "created_at": created_at.isoformat(timespec="seconds") + "Z",
                       "tenant_id": tenant_id, "data": data},
                      separators=(",", ":"), sort_keys=True, default=str)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def emit(event: str, tenant_id: int | None, data: dict, *, provider_only: bool = False) -> int:
    """Queue `event` for every endpoint that wants it; how many deliveries were queued.
    `provider_only`: only the provider's endpoints (tenant.terminated: the tenant's own are
    being deleted with it)."""
    return emit_many(event, [(tenant_id, data)], provider_only=provider_only)


def emit_many(event: str, items: list[tuple[int | None, dict]], *,
              provider_only: bool = False) -> int:
    """emit() for many events of one name (the calls a writer batch closed): the endpoints
    read once, one INSERT."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not items:
        return 0
    everyone = [e for e in WebhookEndpoint.select().where(WebhookEndpoint.active == True)  # noqa: E712
                if wants(e.events, event)] if len(items) > 1 else None
    now = utcnow()
    rows = []
    for tenant_id, data in items:
        if everyone is None:
            endpoints = [e for e in _endpoints(tenant_id, provider_only) if wants(e.events, event)]
        else:
            endpoints = [e for e in everyone if e.tenant_id is None or (
                not provider_only and tenant_id is not None and e.tenant_id == tenant_id)]
        if not endpoints:
            continue
        event_id = new_event_id()
        body = payload(event_id, event, now, tenant_id, data)
        rows.extend({"endpoint": e.id, "tenant": tenant_id, "event": event,
                     "event_id": event_id, "payload": body, "next_attempt_at": now,
                     "created_at": now} for e in endpoints)
    if not rows:
        return 0
    with database.atomic():
        for start in range(0, len(rows), 200):
            WebhookDelivery.insert_many(rows[start:start + 200]).execute()
    return len(rows)


class _Gate:
    """Whether any active endpoint exists, read at most every CACHE_S seconds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._value = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._checked < CACHE_S:
            return self._value
        with self._lock:
            if now - self._checked >= CACHE_S:
                self._value = (WebhookEndpoint.select()
                               .where(WebhookEndpoint.active == True).exists())  # noqa: E712
                self._checked = time.monotonic()
        return self._value

    def forget(self) -> None:
        """Read again next time (this process changed the endpoints)."""
        self._checked = float("-inf")


endpoints_exist = _Gate()
