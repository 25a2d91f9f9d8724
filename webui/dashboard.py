"""The tenant's landing page: running campaigns with progress, balance, what the
organisation holds (users, agents, extensions, DIDs) and the latest calls."""
from __future__ import annotations

from flask import Blueprint, render_template

from models import Call, Campaign, Did, Extension, Tenant, User
from models.tenancy import scoped
from voxcast.campaigns import services as campaign_service

from .auth import CAMPAIGN_ROLES, current_tenant_id, tenant_required
from .status import ari_state

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
ACTIVE = ("running", "paused")
RECENT_CALLS = 10


@bp.route("/")
@tenant_required(roles=CAMPAIGN_ROLES)
def index():
    tid = current_tenant_id()
    campaigns = list(scoped(Campaign, tid).where(Campaign.status.in_(ACTIVE))
                     .order_by(Campaign.started_at.desc(), Campaign.id.desc()))
    people = scoped(User, tid)
    counts = {
        "users": people.where(User.role != "agent").count(),
        "agents": scoped(User, tid).where(User.role == "agent").count(),
        "extensions": scoped(Extension, tid).count(),
        "dids": scoped(Did, tid).count(),
        "campaigns": scoped(Campaign, tid).count(),
    }
    calls = list(scoped(Call, tid).order_by(Call.started_at.desc(), Call.id.desc())
                 .limit(RECENT_CALLS))
    names = {c.id: c.name for c in scoped(Campaign, tid).where(
        Campaign.id.in_({c.campaign_id for c in calls if c.campaign_id} or {0}))}
    return render_template("dashboard/index.html", tenant=Tenant.get_by_id(tid),
                           campaigns=campaigns, progress=campaign_service.progress_many(campaigns),
                           counts=counts, calls=calls, names=names, ari=ari_state())
