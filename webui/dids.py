"""The tenant's DIDs: the provider allocates numbers, the tenant administrator sends each to
one of its users or to a campaign and sets the greeting callers hear (supervisors may look).
An inbound call to a DID no tenant holds is refused by the Stasis app."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from models import Campaign, Did, User
from models.entities import Ivr
from models.tenancy import get_scoped, owns, scoped
from voxcast.ivr import services as flow_service
from voxcast.numbers import routing as number_service
from voxcast.numbers.routing import RoutingError

from .auth import current_tenant_id, tenant_required
from .params import parse_id
from .users import MANAGERS, VIEWERS

bp = Blueprint("dids", __name__, url_prefix="/dids")


def _destination(value: str) -> tuple[int | None, int | None]:
    """'user:<id>' / 'campaign:<id>' / '' -> (user_id, campaign_id); one of them at most."""
    kind, _sep, pk = (value or "").partition(":")
    pk = parse_id(pk)
    if pk is None:
        return None, None
    if kind == "user":
        return pk, None
    if kind == "campaign":
        return None, pk
    return None, None


@bp.route("/")
@tenant_required(roles=VIEWERS)
def index():
    tid = current_tenant_id()
    dids = list(scoped(Did, tid).order_by(Did.number))
    users = list(scoped(User, tid).order_by(User.username))
    campaigns = list(scoped(Campaign, tid).order_by(Campaign.name))
    ivrs = list(scoped(Ivr, tid).order_by(Ivr.name))
    return render_template("dids/list.html", dids=dids, users=users, campaigns=campaigns,
                           ivrs=ivrs, ivr_names={i.id: i.name for i in ivrs},
                           user_names={u.id: u.username for u in users},
                           campaign_names={c.id: c.name for c in campaigns},
                           can_manage=current_user.role in MANAGERS)


@bp.route("/<int:did_id>", methods=["POST"])
@tenant_required(roles=MANAGERS)
def route(did_id: int):
    did = get_scoped(Did, current_tenant_id(), did_id)
    user_id, campaign_id = _destination(request.form.get("destination", ""))
    raw_ivr = request.form.get("ivr", "")
    ivr_id = parse_id(raw_ivr)
    if ivr_id is not None and not owns(Ivr, did.tenant_id, ivr_id):
        flash(_("No such IVR."), "error")
        return redirect(url_for("dids.index"))
    try:
        if ivr_id != did.ivr_id:
            flow_service.set_did_ivr(did, ivr_id, actor=current_user, ip=request.remote_addr or "")
        did = number_service.route_did(did, user_id=user_id, campaign_id=campaign_id,
                                       greeting_text=request.form.get("greeting_text", ""),
                                       actor=current_user, ip=request.remote_addr or "")
    except RoutingError as exc:
        flash(str(exc), "error")
    else:
        flash(_("DID %(number)s saved.", number=did.number), "success")
    return redirect(url_for("dids.index"))
