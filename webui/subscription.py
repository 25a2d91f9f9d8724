"""The tenant's own subscription, read-only: its package and billing model, the period and
renewal date, included units and free credit / minutes left, usage this period. What the
provider sells and changes is in webui.admin_subscriptions."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from models import Tenant
from models.entities import utcnow
from voxcast.billing import ledger
from voxcast.packages import subscriptions, usage

from .auth import current_tenant_id, tenant_required
from .billing import BILLING_ROLES

bp = Blueprint("subscription", __name__, url_prefix="/subscription")


@bp.route("/")
@tenant_required(roles=BILLING_ROLES)
def index():
    tenant = Tenant.get_by_id(current_tenant_id())  # the session's tenant, never the request's
    subscription = subscriptions.current(tenant)
    used = running = None
    if subscription is not None:
        settings, now = current_app.config["VOXCAST_SETTINGS"], utcnow()
        # renewed ahead of time, the stored period starts later: usage is the running one's
        running = subscriptions.running(subscription, now)
        used = usage.usage(tenant.id, running[0], max(now, running[1]),
                           sounds_dir=settings.sounds_dir,
                           recordings_dir=settings.recordings_dir)
    buckets = [b for b in ledger.buckets(tenant.id) if b.kind in ("money", "minutes")]
    return render_template("subscription/index.html", tenant=tenant, subscription=subscription,
                           usage=used, running=running, buckets=buckets)
