"""The `data` of each event, built in one place so every emission point sends the same shape
(documented in the OpenAPI document's WebhookEvent)."""
from __future__ import annotations

from models import Campaign, Tenant
from models.entities import Subscription


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def tenant_data(tenant: Tenant, **extra) -> dict:
    sub = Subscription.get_or_none(Subscription.tenant == tenant.id)
    return {"tenant_id": tenant.id, "name": tenant.name, "slug": tenant.slug,
            "status": tenant.status, "email": tenant.email,
            "external_id": sub.external_id if sub else "", **extra}


def campaign_data(campaign: Campaign, status: str, **extra) -> dict:
    return {"campaign_id": campaign.id, "name": campaign.name, "type": campaign.type,
            "status": status, "reason": campaign.status_reason or "", **extra}


def call_data(row: dict) -> dict:
    """A closed CDR (the columns of a Call row as a dict)."""
    return {"call_id": row["id"], "campaign_id": row.get("campaign"),
            "direction": row["direction"], "number": row["number"], "did": row["did"],
            "disposition": row["disposition"], "hangup_cause": row["hangup_cause"],
            "started_at": _iso(row["started_at"]), "answered_at": _iso(row["answered_at"]),
            "ended_at": _iso(row["ended_at"]), "duration": row["duration"],
            "billsec": row["billsec"]}
