"""/api/v1/webhooks: signed event endpoints (voxcast.webhooks.endpoints, as the UI pages).
A tenant key manages its own endpoints; another tenant's id is 404. The provider's key sees
every endpoint (?tenant_id= to narrow) and creates its own (every event) or, with
tenant_id, a tenant's. The secret is in the answer of create and rotate-secret only."""
from __future__ import annotations

import json

from flask import jsonify, request

from models import Tenant
from models.entities import WEBHOOK_STATES, WebhookDelivery, WebhookEndpoint
from voxcast.webhooks import endpoints
from voxcast.webhooks.schemas import WEBHOOK_CREATE, WEBHOOK_UPDATE

from . import ID, ApiError, body, bp, ip, own_tenant_only, paginate, principal, scope


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value else None


def dump_webhook(row: WebhookEndpoint, secret: str | None = None) -> dict:
    data = {"id": row.id, "tenant_id": row.tenant_id, "url": row.url,
            "events": endpoints.event_list(row), "description": row.description,
            "active": bool(row.active), "created_at": _iso(row.created_at)}
    if secret is not None:
        data["secret"] = secret
    return data


def dump_delivery(row: WebhookDelivery, *, payload: bool = False) -> dict:
    data = {"id": row.id, "webhook_id": row.endpoint_id, "tenant_id": row.tenant_id,
            "event": row.event, "event_id": row.event_id, "state": row.state,
            "attempts": row.attempts,
            "next_attempt_at": _iso(row.next_attempt_at) if row.state == "pending" else None,
            "last_status": row.last_status, "last_error": row.last_error or "",
            "created_at": _iso(row.created_at), "delivered_at": _iso(row.delivered_at)}
    if payload:
        data["payload"] = json.loads(row.payload)
    return data


def _own(webhook_id: int) -> WebhookEndpoint:
    return endpoints.get(webhook_id, principal().tenant_id)  # provider: None, every endpoint


@bp.get("/webhooks")
def webhook_list():
    tenant_id = scope()
    query = endpoints.endpoints_of(tenant_id, everyone=True)
    return paginate(query, dump_webhook)


@bp.post("/webhooks")
def webhook_create():
    data = body(WEBHOOK_CREATE)
    own_tenant_only(data)
    tenant_id = principal().tenant_id if not principal().is_admin else data.get("tenant_id")
    if tenant_id is not None and Tenant.get_or_none(Tenant.id == tenant_id) is None:
        raise ApiError(422, "validation", "No such tenant.", {"tenant_id": "no such tenant"})
    created = endpoints.create(tenant_id=tenant_id, url=data["url"],
                               events_value=data.get("events", ["*"]),
                               description=data.get("description", ""),
                               active=data.get("active", True), actor=principal(), ip=ip())
    return jsonify(dump_webhook(created.endpoint, created.secret)), 201


@bp.get(f"/webhooks/<{ID}:webhook_id>")
def webhook_get(webhook_id: int):
    return jsonify(dump_webhook(_own(webhook_id)))


@bp.patch(f"/webhooks/<{ID}:webhook_id>")
def webhook_update(webhook_id: int):
    row = _own(webhook_id)
    data = body(WEBHOOK_UPDATE)
    return jsonify(dump_webhook(endpoints.update(row, data, actor=principal(), ip=ip())))


@bp.delete(f"/webhooks/<{ID}:webhook_id>")
def webhook_delete(webhook_id: int):
    endpoints.delete(_own(webhook_id), actor=principal(), ip=ip())
    return "", 204


@bp.post(f"/webhooks/<{ID}:webhook_id>/rotate-secret")
def webhook_rotate(webhook_id: int):
    row = _own(webhook_id)
    secret = endpoints.rotate_secret(row, actor=principal(), ip=ip())
    return jsonify(dump_webhook(row, secret))


@bp.post(f"/webhooks/<{ID}:webhook_id>/test")
def webhook_test(webhook_id: int):
    delivery = endpoints.send_test(_own(webhook_id), actor=principal(), ip=ip())
    return jsonify(dump_delivery(delivery)), 202


@bp.get(f"/webhooks/<{ID}:webhook_id>/deliveries")
def webhook_deliveries(webhook_id: int):
    query = endpoints.deliveries(_own(webhook_id))
    state = request.args.get("state")
    if state:
        if state not in WEBHOOK_STATES:
            raise ApiError(400, "bad-parameter", f"'state' must be one of {', '.join(WEBHOOK_STATES)}.",
                           {"state": "unknown state"})
        query = query.where(WebhookDelivery.state == state)
    return paginate(query, dump_delivery)


@bp.get(f"/webhooks/<{ID}:webhook_id>/deliveries/<{ID}:delivery_id>")
def webhook_delivery(webhook_id: int, delivery_id: int):
    return jsonify(dump_delivery(endpoints.get_delivery(_own(webhook_id), delivery_id),
                                 payload=True))


@bp.post(f"/webhooks/<{ID}:webhook_id>/deliveries/<{ID}:delivery_id>/redeliver")
def webhook_redeliver(webhook_id: int, delivery_id: int):
    row = _own(webhook_id)
    delivery = endpoints.get_delivery(row, delivery_id)
    if delivery.state != "failed":
        raise ApiError(409, "not-failed", "Only a failed delivery is sent again.")
    return jsonify(dump_delivery(endpoints.redeliver(row, delivery, actor=principal(), ip=ip()))), 202
