"""The tenant's call detail records, newest first."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, send_file

from models import Call, Campaign, User
from models.tenancy import get_scoped, scoped

from .auth import current_tenant_id, tenant_required
from .paging import Page
from .params import arg_id

bp = Blueprint("cdrs", __name__, url_prefix="/cdrs")
PER_PAGE = 50


@bp.route("/")
@tenant_required
def index():
    tid = current_tenant_id()
    campaigns = list(scoped(Campaign, tid).order_by(Campaign.name))
    query = scoped(Call, tid).order_by(Call.started_at.desc(), Call.id.desc())
    selected = arg_id("campaign")
    if selected:
        get_scoped(Campaign, tid, selected)  # another tenant's campaign id: 404
        query = query.where(Call.campaign == selected)
    page = Page.from_request(query, PER_PAGE)
    agent_ids = {c.agent_id for c in page.items if c.agent_id}
    agents = {u.id: f"{u.first_name} {u.last_name}".strip() or u.username
              for u in scoped(User, tid).where(User.id.in_(agent_ids))} if agent_ids else {}
    return render_template("cdrs.html", page=page, agents=agents,
                           campaigns=campaigns, names={c.id: c.name for c in campaigns},
                           selected=selected)


@bp.route("/<int:call_id>/recording")
@tenant_required
def recording(call_id: int):
    """The call's recording, tenant-scoped (another tenant's call id is 404); ?download=1 saves."""
    call = get_scoped(Call, current_tenant_id(), call_id)
    if not call.recording:
        abort(404)
    path = current_app.config["VOXCAST_SETTINGS"].recordings_dir / call.recording
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="audio/wav", as_attachment=bool(request.args.get("download")),
                     download_name=f"call-{call.id}.wav")
