"""Provider admin: SIP security. Addresses with failed SIP authentications, their counts and
bans (voxcast.runtime.sip_guard keeps them from Asterisk's security log); a ban can be lifted here."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from models import database
from models.entities import SipBan, utcnow
from voxcast.audit import records as audit
from voxcast.runtime import sip_guard
from voxcast.runtime.asterisk import AsteriskError

from .auth import admin_required
from .paging import Page, matching, search_arg

bp = Blueprint("admin_sip", __name__, url_prefix="/admin/sip-security")


class UnbanForm(FlaskForm):
    """No fields: the CSRF token of the unban button."""


@bp.route("")
@admin_required
def index():
    q = search_arg()
    page = Page.from_request(matching(SipBan.select(), q, SipBan.address)
                             .order_by(SipBan.banned_until.desc(nulls="LAST"),
                                       SipBan.last_failure_at.desc(), SipBan.id), 100)
    return render_template("admin/sip_security.html", rows=page.items, page=page, q=q,
                           now=utcnow(),
                           policy=sip_guard.Policy.from_env(), form=UnbanForm())


@bp.route("/<int:ban_id>/unban", methods=["POST"])
@admin_required
def unban(ban_id: int):
    if not UnbanForm().validate_on_submit():
        abort(400)
    with database.atomic():
        row = sip_guard.unban(ban_id)
        if row is None:
            abort(404)
        audit.record("sip.unban", tenant_id=None, user=current_user, object_type="sip_address",
                     object_id=row.id, detail=row.address, ip=request.remote_addr or "")
    try:
        sip_guard.apply(current_app.config["VOXCAST_SETTINGS"])
    except (AsteriskError, OSError) as exc:
        flash(_("%(a)s unbanned, but Asterisk could not be updated: %(e)s", a=row.address,
                e=exc), "error")
    else:
        flash(_("%(a)s unbanned.", a=row.address), "success")
    return redirect(url_for("admin_sip.index"))
