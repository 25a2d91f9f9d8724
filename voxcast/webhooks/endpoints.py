"""Webhook endpoints, the service both the UI pages and the API call (no Flask here).

An endpoint belongs to a tenant (it receives that tenant's events only) or to the provider
(tenant None: every tenant's events and the provider's own). A tenant sees and changes only
its own endpoints (models.tenancy.get_scoped: another tenant's id is simply not found); the
provider (tenant_id None) may see and change any. The secret signs every delivery; it is
returned once, by create and rotate_secret, and kept so the sender can sign."""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from models import database
from models.entities import WebhookDelivery, WebhookEndpoint, utcnow
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.audit import records as audit
from voxcast.errors import ServiceError
from voxcast.webhooks import events

SECRET_PREFIX = "whsec_"
URL_MAX = 1000
DESCRIPTION_MAX = 255
# Tenants' endpoints may not point at loopback / private / link-local addresses (the sender
# would reach the provider's internal services): literal ones are refused here, names that
# resolve to them at delivery (webhooks_app.main.PublicResolver); the provider's may. Tests and
# single-host installations set VOXCAST_WEBHOOK_ALLOW_PRIVATE=1.
ALLOW_PRIVATE_ENV = "VOXCAST_WEBHOOK_ALLOW_PRIVATE"


class WebhookError(ServiceError, ValueError):
    """Input that cannot be stored; `errors`: field -> reason."""
    code, status = "invalid-webhook", 422

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


class NoSuchEndpoint(ServiceError, LookupError):
    code, status = "not-found", 404

    def __init__(self, endpoint_id=None):
        super().__init__(f"Webhook endpoint {endpoint_id} not found.")


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def private_address(host: str) -> bool:
    """A literal IP address a tenant's endpoint may not reach (False for a name)."""
    try:
        addr = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
            or addr.is_multicast or addr.is_unspecified)


def _private_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    return private_address(host)


def public_only(tenant_id: int | None) -> bool:
    """Whether deliveries to this endpoint must refuse private addresses: a tenant's, unless
    the installation allows them. A name is checked again at each delivery, after it is
    resolved (webhooks_app: a public name may point at an internal host later)."""
    return tenant_id is not None and os.environ.get(ALLOW_PRIVATE_ENV) != "1"


def check_url(url, *, tenant_id: int | None) -> str | None:
    """Why `url` cannot be an endpoint (None: it can)."""
    if not isinstance(url, str) or not url.strip():
        return "is required"
    url = url.strip()
    if len(url) > URL_MAX:
        return f"is at most {URL_MAX} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "needs a host name"
    if parts.username or parts.password:
        return "must not contain a user name or password"
    if public_only(tenant_id) and _private_host(parts.hostname):
        return "must be a public address"
    return None


def normalise_events(value) -> str:
    """"*" or space/comma-separated event names and prefixes ("campaign.*") -> the stored
    text; raises WebhookError for an unknown name."""
    if value is None:
        return "*"
    if isinstance(value, (list, tuple)):
        tokens = [str(v) for v in value]
    else:
        tokens = str(value).replace(",", " ").split()
    tokens = [t.strip() for t in tokens if t.strip()]
    if not tokens:
        raise WebhookError({"events": "choose at least one event, or * for all"})
    if "*" in tokens:
        return "*"
    prefixes = {e.split(".")[0] for e in events.EVENTS}
    bad = [t for t in tokens if t not in events.EVENTS
           and not (t.endswith(".*") and t[:-2] in prefixes)]
    if bad:
        raise WebhookError({"events": f"unknown event {', '.join(bad)}"})
    return " ".join(dict.fromkeys(tokens))


def event_list(endpoint: WebhookEndpoint) -> list[str]:
    return (endpoint.events or "*").split()


def endpoints_of(tenant_id: int | None, *, everyone: bool = False):
    """A tenant's endpoints; for None the provider's own (tenant None), or with `everyone`
    every endpoint (the provider's view of all tenants)."""
    if tenant_id is None:
        query = WebhookEndpoint.select()
        if not everyone:
            query = query.where(WebhookEndpoint.tenant.is_null())
    else:
        query = scoped(WebhookEndpoint, tenant_id)
    return query.order_by(WebhookEndpoint.id)


def get(endpoint_id, tenant_id: int | None) -> WebhookEndpoint:
    """The endpoint if `tenant_id` may see it (None: the provider sees every endpoint)."""
    try:
        return get_scoped(WebhookEndpoint, tenant_id, endpoint_id)
    except TenantScopeError:
        raise NoSuchEndpoint(endpoint_id) from None


def create(*, tenant_id: int | None, url, events_value="*", description: str = "",
           active: bool = True, actor=None, ip: str = "") -> Created:
    errors = {}
    problem = check_url(url, tenant_id=tenant_id)
    if problem:
        errors["url"] = problem
    try:
        patterns = normalise_events(events_value)
    except WebhookError as exc:
        errors |= exc.errors
        patterns = "*"
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"is at most {DESCRIPTION_MAX} characters"
    if errors:
        raise WebhookError(errors)
    secret = new_secret()
    with database.atomic():
        endpoint = WebhookEndpoint.create(tenant=tenant_id, url=url.strip(), secret=secret,
                                          events=patterns, active=bool(active),
                                          description=description)
        audit.record("webhook.create", tenant_id=tenant_id, user=actor, object_type="webhook",
                     object_id=endpoint.id, detail=f"{endpoint.url} events={patterns}", ip=ip)
    events.endpoints_exist.forget()
    return Created(endpoint, secret)


def update(endpoint: WebhookEndpoint, data: dict, *, actor=None, ip: str = "") -> WebhookEndpoint:
    """Change url, events, description and/or active (keys absent: unchanged)."""
    errors, changed = {}, []
    if "url" in data:
        problem = check_url(data["url"], tenant_id=endpoint.tenant_id)
        if problem:
            errors["url"] = problem
        elif data["url"].strip() != endpoint.url:
            endpoint.url = data["url"].strip()
            changed.append(f"url={endpoint.url}")
    if "events" in data:
        try:
            patterns = normalise_events(data["events"])
            if patterns != endpoint.events:
                endpoint.events = patterns
                changed.append(f"events={patterns}")
        except WebhookError as exc:
            errors |= exc.errors
    if "description" in data:
        text = (data["description"] or "").strip()
        if len(text) > DESCRIPTION_MAX:
            errors["description"] = f"is at most {DESCRIPTION_MAX} characters"
        elif text != endpoint.description:
            endpoint.description = text
            changed.append("description")
    if "active" in data and bool(data["active"]) != endpoint.active:
        endpoint.active = bool(data["active"])
        changed.append(f"active={endpoint.active}")
    if errors:
        raise WebhookError(errors)
    with database.atomic():
        endpoint.save()
        audit.record("webhook.update", tenant_id=endpoint.tenant_id, user=actor,
                     object_type="webhook", object_id=endpoint.id,
                     detail=" ".join(changed) or "no change", ip=ip)
    events.endpoints_exist.forget()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, *, actor=None, ip: str = "") -> str:
    """A new secret at once (deliveries from now on are signed with it)."""
    secret = new_secret()
    with database.atomic():
        WebhookEndpoint.update(secret=secret).where(WebhookEndpoint.id == endpoint.id).execute()
        audit.record("webhook.rotate_secret", tenant_id=endpoint.tenant_id, user=actor,
                     object_type="webhook", object_id=endpoint.id, detail=endpoint.url, ip=ip)
    endpoint.secret = secret
    return secret


def delete(endpoint: WebhookEndpoint, *, actor=None, ip: str = "") -> None:
    """Gone with its deliveries (pending ones are not sent)."""
    with database.atomic():
        WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint.id).execute()
        audit.record("webhook.delete", tenant_id=endpoint.tenant_id, user=actor,
                     object_type="webhook", object_id=endpoint.id, detail=endpoint.url, ip=ip)
    events.endpoints_exist.forget()


def deliveries(endpoint: WebhookEndpoint):
    """Its deliveries, newest first."""
    return (WebhookDelivery.select().where(WebhookDelivery.endpoint == endpoint.id)
            .order_by(WebhookDelivery.id.desc()))


def get_delivery(endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery:
    try:
        delivery_id = int(delivery_id)
    except (TypeError, ValueError):
        raise NoSuchEndpoint(delivery_id) from None
    row = deliveries(endpoint).where(WebhookDelivery.id == delivery_id).first()
    if row is None:
        raise NoSuchEndpoint(delivery_id)
    return row


def send_test(endpoint: WebhookEndpoint, *, actor=None, ip: str = "") -> WebhookDelivery:
    """Queue a "webhook.test" event for this endpoint alone (whatever its event filter)."""
    now = utcnow()
    event_id = events.new_event_id()
    body = events.payload(event_id, "webhook.test", now, endpoint.tenant_id,
                          {"endpoint_id": endpoint.id, "message": "This is a test event."})
    with database.atomic():
        row = WebhookDelivery.create(endpoint=endpoint.id, tenant=endpoint.tenant_id,
                                     event="webhook.test", event_id=event_id, payload=body,
                                     next_attempt_at=now, created_at=now)
        audit.record("webhook.test", tenant_id=endpoint.tenant_id, user=actor,
                     object_type="webhook", object_id=endpoint.id, detail=endpoint.url, ip=ip)
    return row


def redeliver(endpoint: WebhookEndpoint, delivery: WebhookDelivery, *, actor=None,
              ip: str = "") -> WebhookDelivery:
    """A failed delivery is tried again now (attempts counted afresh)."""
    with database.atomic():
        (WebhookDelivery.update(state="pending", attempts=0, next_attempt_at=utcnow(),
                                last_error="")
         .where(WebhookDelivery.id == delivery.id, WebhookDelivery.state == "failed").execute())
        audit.record("webhook.redeliver", tenant_id=endpoint.tenant_id, user=actor,
                     object_type="webhook", object_id=endpoint.id,
                     detail=f"delivery {delivery.id} {delivery.event}", ip=ip)
    return WebhookDelivery.get_by_id(delivery.id)
