"""JSON for the browser's polling and for monitoring."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify
from flask_babel import get_locale

from models import Campaign, SystemStatus
from models.entities import utcnow
from voxcast.campaigns import services as campaign_service

from . import campaign_reason
from .api.campaigns import CAMPAIGN_LIST
from .auth import current_tenant_id, tenant_required
from .live_stream import event_stream

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


def _campaign_rows() -> list[dict]:
    campaigns = CAMPAIGN_LIST.all(current_tenant_id())  # scoped(Campaign, ...) by id
    progress = campaign_service.progress_many(campaigns)
    return [{"id": c.id, "name": c.name, **progress[c.id],
             "status_reason": campaign_reason(progress[c.id])} for c in campaigns]


@bp.route("/campaigns.json")
@tenant_required
def campaigns():
    return jsonify(_campaign_rows())


@bp.route("/campaigns.events")
@tenant_required
def campaigns_events():
    """campaigns.json and health.json pushed (webui.live_stream): {"rows": [...], "ari": ...}
    whenever either changed."""
    # the rows depend on the tenant and, through status_reason, on the reader's language
    share = ("campaigns", current_tenant_id(), str(get_locale()))
    return event_stream(lambda: {"rows": _campaign_rows(), "ari": ari_state()}, interval=1.0,
                        share=share)
