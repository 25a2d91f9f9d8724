"""The tenant's extensions: the provider allocates them, the tenant administrator assigns each
to one of its users or agents (supervisors may look). Every allocated extension is a PJSIP
endpoint; assigning refreshes its caller name in Asterisk."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from peewee import JOIN

from models import Extension, User
from models.tenancy import get_scoped, scoped
from voxcast.runtime import pjsip_sync
from voxcast.numbers import routing as number_service
from voxcast.numbers.routing import RoutingError
from voxcast.console import phone as browser_phone
from voxcast.phones import caller_id as caller_id_service

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .params import parse_id
from .users import MANAGERS, VIEWERS

bp = Blueprint("extensions", __name__, url_prefix="/extensions")
log = logging.getLogger("voxcast.webui.extensions")


def sync_asterisk() -> bool:
    """Push the change to Asterisk; a failure is logged and told, the database change stays
    (the next sync or restart renders it)."""
    try:
        pjsip_sync.sync(current_app.config["VOXCAST_SETTINGS"])
    except Exception:  # noqa: BLE001 - Asterisk trouble must not undo the assignment
        log.exception("pjsip sync failed")
        flash(_("Saved, but the telephony server could not be updated now; it will be at "
                "its next restart."), "error")
        return False
    return True


@bp.route("/")
@tenant_required(roles=VIEWERS)
def index():
    tid = current_tenant_id()
    q = search_arg()
    page = Page.from_request(
        matching(scoped(Extension, tid).select(Extension, User).join(User, JOIN.LEFT_OUTER),
                 q, Extension.number, User.username, User.first_name, User.last_name)
        .order_by(Extension.number, Extension.id), 100)
    extensions = page.items
    users = list(scoped(User, tid).where(User.role != "tenant").order_by(User.username)) + \
        list(scoped(User, tid).where(User.role == "tenant").order_by(User.username))
    settings = current_app.config["VOXCAST_SETTINGS"]
    return render_template("extensions/list.html", extensions=extensions, page=page, q=q,
                           users=users,
                           can_manage=current_user.role in MANAGERS,
                           sip_port=settings.sip_port, dids=caller_id_service.choices(tid),
                           webrtc=settings.webrtc)


@bp.route("/<int:ext_id>/assign", methods=["POST"])
@tenant_required(roles=MANAGERS)
def assign(ext_id: int):
    ext = get_scoped(Extension, current_tenant_id(), ext_id)
    user_id = parse_id(request.form.get("user_id"))
    try:
        ext = number_service.assign_extension(ext, user_id, actor=current_user,
                                              ip=request.remote_addr or "")
    except RoutingError as exc:
        flash(str(exc), "error")
        return redirect(url_for("extensions.index"))
    if ext.user_id:
        flash(_("Extension %(number)s assigned to %(user)s.", number=ext.number,
                user=ext.user.username), "success")
    else:
        flash(_("Extension %(number)s is unassigned.", number=ext.number), "success")
    sync_asterisk()
    return redirect(url_for("extensions.index"))


@bp.route("/<int:ext_id>/caller-id", methods=["POST"])
@tenant_required(roles=MANAGERS)
def caller_id(ext_id: int):
    """The DID the extension shows on its outside calls (one of the tenant's own)."""
    ext = get_scoped(Extension, current_tenant_id(), ext_id)
    try:
        number = caller_id_service.set_caller_id(ext, request.form.get("caller_id"),
                                                 actor=current_user, ip=request.remote_addr or "")
    except caller_id_service.CallerIdError as exc:
        flash(str(exc), "error")
        return redirect(url_for("extensions.index"))
    flash(_("Extension %(number)s shows %(caller_id)s on outside calls.", number=ext.number,
            caller_id=number or _("your first DID")), "success")
    return redirect(url_for("extensions.index"))


@bp.route("/<int:ext_id>/phone", methods=["POST"])
@tenant_required(roles=MANAGERS)
def phone_kind(ext_id: int):
    """A SIP phone (any SIP device) or the browser phone of the agent console (WebRTC)."""
    ext = get_scoped(Extension, current_tenant_id(), ext_id)
    on = request.form.get("kind") == "browser"
    if browser_phone.set_browser_phone(ext, on, actor=current_user, ip=request.remote_addr or ""):
        sync_asterisk()
    flash(_("Extension %(number)s is a browser phone in the agent console.", number=ext.number)
          if on else _("Extension %(number)s is a SIP phone.", number=ext.number), "success")
    return redirect(url_for("extensions.index"))
