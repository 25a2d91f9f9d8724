"""Listen / whisper / barge from the wallboard: the supervisor's own phone rings and, once
answered, monitors the agent's call (voxcast.supervision.monitor checks and posts the command;
the Stasis app's ari_app/flows/monitor.py does it). Pressing another mode while monitoring
switches mode (or agent) on the same phone call; stop ends it, as hanging up does."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from models import User
from models.tenancy import get_scoped
from voxcast.supervision import monitor
from voxcast.supervision.monitor import MonitorError

from .agent_setup import tr
from .auth import current_tenant_id, tenant_required
from .permissions import feature_required

bp = Blueprint("supervisor_monitor", __name__, url_prefix="/supervisor")

MANAGERS = monitor.SUPERVISOR_ROLES
TRANSPORT = "voxcast_monitor_transport"  # app.extensions key: tests hand in their own


def transport():
    """How the web asks Asterisk (phone registered?) and posts the command."""
    return current_app.extensions.get(TRANSPORT) or monitor.AriTransport(
        current_app.config["VOXCAST_SETTINGS"])


def _back():
    return redirect(url_for("supervisor.wallboard"))


STARTED = {  # said the same whether the phone rings now or is already on the monitor call
    "listen": lambda name, phone: _(
        "Listening to %(name)s on your phone (%(phone)s): answer it when it rings.",
        name=name, phone=phone),
    "whisper": lambda name, phone: _(
        "Whispering to %(name)s on your phone (%(phone)s): only the agent hears you. Answer "
        "it when it rings.", name=name, phone=phone),
    "barge": lambda name, phone: _(
        "Joining the call of %(name)s on your phone (%(phone)s): answer it when it rings.",
        name=name, phone=phone),
}


@bp.route("/agents/<int:user_id>/monitor", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def start(user_id: int):
    get_scoped(User, current_tenant_id(), user_id)  # another tenant's: 404
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back()
    mode = request.form.get("mode", "")
    try:
        req = monitor.start(transport(), current_tenant_id(), current_user.id, user_id, mode)
    except MonitorError as exc:
        flash(tr(exc), "error")
    else:
        flash(STARTED[req.mode](req.agent_name, req.extension), "success")
    return _back()


@bp.route("/monitor/stop", methods=["POST"])
@tenant_required(roles=MANAGERS)
@feature_required("agents")
def stop():
    if not FlaskForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back()
    try:
        monitor.stop(transport(), current_tenant_id(), current_user.id)
    except MonitorError as exc:
        flash(tr(exc), "error")
    else:
        flash(_("Monitoring stopped."), "success")
    return _back()
