"""Received faxes (/fax/inbox/): the tenant's inbound fax Messages, newest first, each PDF to
view or download. The PDF is also e-mailed to the DID's fax addresses when it arrives."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_file

from models.entities import Message
from models.tenancy import get_scoped, scoped

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .permissions import feature_required

bp = Blueprint("fax_inbox", __name__, url_prefix="/fax/inbox")
PER_PAGE = 50


def _received(tid: int):
    return (scoped(Message, tid)
            .where(Message.channel == "fax", Message.direction == "inbound")
            .order_by(Message.created_at.desc(), Message.id.desc()))


@bp.route("/")
@tenant_required
@feature_required("fax")
def index():
    q = search_arg()
    page = Page.from_request(matching(_received(current_tenant_id()), q, Message.address,
                                      Message.sender, Message.external_id), PER_PAGE)
    return render_template("fax/inbox.html", page=page, q=q)


@bp.route("/<int:fax_id>/fax.pdf")
@tenant_required
@feature_required("fax")
def pdf(fax_id: int):
    msg = get_scoped(Message, current_tenant_id(), fax_id)  # another tenant's: 404
    if msg.channel != "fax" or msg.direction != "inbound" or not msg.document:
        abort(404)
    path = current_app.config["VOXCAST_SETTINGS"].faxes_dir / msg.document
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/pdf",
                     as_attachment=bool(request.args.get("download")),
                     download_name=f"fax-{msg.id}.pdf")
