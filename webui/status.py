"""JSON for the browser's polling and for monitoring."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify

from models import Campaign, SystemStatus
from models.entities import utcnow
from models.tenancy import scoped
from voxcast.campaigns import services as campaign_service

from . import campaign_reason
from .auth import current_tenant_id, tenant_required

bp = Blueprint("status", __name__, url_prefix="/status")

ARI_FRESH = dt.timedelta(seconds=15)  # the Stasis app refreshes its row more often than this


def ari_state(now: dt.datetime | None = None) -> str:
    """"connected" only when the Stasis app said so within the last 15 s; otherwise "down"."""
    row = SystemStatus.get_or_none(SystemStatus.key == "ari")
    now = now or utcnow()
    if row is None or row.value != "connected" or row.updated_at is None:
        return "down"
    return "connected" if now - row.updated_at <= ARI_FRESH else "down"


@bp.route("/health.json")
def health():
    return jsonify(ari=ari_state())


@bp.route("/campaigns.json")
@tenant_required
def campaigns():
    campaigns = list(scoped(Campaign, current_tenant_id()).order_by(Campaign.id))
    progress = campaign_service.progress_many(campaigns)
    return jsonify([{"id": c.id, "name": c.name, **progress[c.id],
                     "status_reason": campaign_reason(progress[c.id])} for c in campaigns])
