"""The agent console: an agent's home. State buttons (log in, ready, pause with a reason, log
out) through voxcast.agents; the call's contact popped when it is bridged (name, number, custom
values, the campaign's script and CRM form); the disposition form after each call; manual dial,
hold, transfer and conference sent to the Stasis app (voxcast.console.commands). The page
updates itself from live.json (keyed by the session's version) without reloading.

Every form posts normally (a redirect back to the console) and, sent by the page's script with
Accept: application/json, answers JSON instead, so the console works without JavaScript too."""
from __future__ import annotations

from flask import (
    Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from models import Tenant, User
from voxcast.agents import dispositions, pause_reasons, sessions, states, stats, wrapup
from voxcast.console import commands, dialing, phone, targets, view
from voxcast.console import live as call_status
from voxcast.errors import ServiceError

from .agent_setup import tr
from .live_stream import event_stream
from .auth import current_tenant_id, tenant_required
from .params import parse_id
from .permissions import feature_required

bp = Blueprint("agent_console", __name__, url_prefix="/agent")
AGENT_ROLES = ("agent",)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > \
        request.accept_mimetypes["text/html"]


def _done(message: str = "", ok: bool = True, status: int = 200, field: str = ""):
    """The answer of a POST: JSON for the page's script, else a flash and the console."""
    if _wants_json():
        body = {"ok": ok, "message": message, "state": _snapshot()}
        if field:
            body["field"] = field
        return jsonify(body), status
    if message:
        flash(message, "success" if ok else "error")
    return redirect(url_for("agent_console.index"))


def _refused(exc: ServiceError):
    return _done(tr(exc), ok=False, status=exc.status,
                 field=next(iter(exc.fields), "") if exc.fields else "")


def _user() -> User:
    return User.get_by_id(current_user.id)


def _snapshot() -> dict:
    return view.snapshot(current_tenant_id(), _user())


def _timezone() -> str:
    user = _user()
    if user.timezone:
        return user.timezone
    tenant = Tenant.get_or_none(Tenant.id == current_tenant_id())
    return tenant.timezone if tenant else "UTC"


def _say(text) -> str:
    """A message the Stasis app stored for the console, in the reader's language when it is
    one of ours (never %-formatted: it may carry a name with a % in it)."""
    return _(text) if isinstance(text, str) and text and "%" not in text else str(text or "")


def _today() -> dict[str, str]:
    """The agent's own times today (their time zone): logged in, ready, talking, paused."""
    import datetime as dt
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        zone = ZoneInfo(_timezone() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.timezone.utc
    midnight = dt.datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.astimezone(dt.timezone.utc).replace(tzinfo=None)
    until = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    secs = stats.time_in_states(current_tenant_id(), current_user.id, since, until)

    def hm(value: float) -> str:
        minutes = int(value // 60)
        return f"{minutes // 60}:{minutes % 60:02d}"
    return {k: hm(secs.get(k, 0.0)) for k in ("login", "ready", "on_call", "wrapup", "paused")}


def _page_data() -> dict:
    tid = current_tenant_id()
    kinds = {d.id: d.kind for d in dispositions.list_dispositions(tid, active_only=True)}
    return {
        "reasons": [r for r in pause_reasons.list_reasons(tid, active_only=True,
                                                          include_system=False)],
        "dispositions": [d for d in dispositions.list_dispositions(tid, active_only=True)],
        "callback_ids": [i for i, k in kinds.items() if k == "callback"],
        "choices": targets.choices(tid, current_user.id),
        "campaigns": dialing.my_campaigns(tid, current_user.id),
        "say": _say,
        "today": _today(),
    }


@bp.route("/")
@tenant_required(roles=AGENT_ROLES)
@feature_required("agents")
def index():
    settings = current_app.config["VOXCAST_SETTINGS"]
    phone_on = settings.webrtc and phone.browser_extension(current_tenant_id(),
                                                           current_user.id) is not None
    return render_template("agent_console/index.html", s=_snapshot(), phone_on=phone_on,
                           **_page_data())


@bp.route("/phone.json")
@tenant_required(roles=AGENT_ROLES)
@feature_required("agents")
def phone_config():
    """The browser phone's registration (agent_phone.js): only the agent's own extension, and
    only when it is a browser phone; never cached (it carries the extension's secret)."""
    settings = current_app.config["VOXCAST_SETTINGS"]
    return jsonify(phone.registration(settings, current_tenant_id(), current_user.id))


@bp.route("/live.json")
@tenant_required(roles=AGENT_ROLES)
def live():
    """The console's poll: the whole snapshot, or only its key when it has not moved."""
    snap = _snapshot()
    if request.args.get("key") == snap["key"]:
        return jsonify(key=snap["key"], same=True)
    return jsonify(snap)


@bp.route("/live.events")
@tenant_required(roles=AGENT_ROLES)
def live_events():
    """live.json pushed (webui.live_stream): {"key": ...} whenever the snapshot's key moved;
    the page then fetches the panel, as after a poll that found it moved."""
    return event_stream(lambda: {"key": _snapshot()["key"]}, interval=1.0)


@bp.route("/panel")
@tenant_required(roles=AGENT_ROLES)
def panel():
    """The live parts of the page, rendered as on the page, for the script to swap in."""
    return render_template("agent_console/_live.html", s=_snapshot(), **_page_data())


@bp.route("/login", methods=["POST"])
@tenant_required(roles=AGENT_ROLES)
@feature_required("agents")
def login():
    try:
        sessions.login(current_tenant_id(), current_user.id, via="web",
                       ip=request.remote_addr or "")
    except ServiceError as exc:
        return _refused(exc)
    return _done(_("You are logged in and ready."))


@bp.route("/logout", methods=["POST"])
@tenant_required(roles=AGENT_ROLES)
def logout():
    session = view.open_session(current_user.id)
    if session is None:
        return _done(_("You are not logged in."), ok=False, status=409)
    if session.state in ("ringing", "on_call"):
        return _done(_("Finish the call first."), ok=False, status=409)
    sessions.logout(session.id, ip=request.remote_addr or "")
    return _done(_("You are logged out."))


@bp.route("/ready", methods=["POST"])
@tenant_required(roles=AGENT_ROLES)
def ready():
    session = view.open_session(current_user.id)
    if session is None:
        return _done(_("Log in first."), ok=False, status=409)
    _clear_notice(session)
    if not states.set_state(session.id, "ready", expect=("paused", "wrapup")):
        return _done(_("You cannot be ready now."), ok=False, status=409)
    return _done(_("You are ready."))


@bp.route("/pause", methods=["POST"])
@tenant_required(roles=AGENT_ROLES)
def pause():
    session = view.open_session(current_user.id)
    if session is None:
        return _done(_("Log in first."), ok=False, status=409)
    _clear_notice(session)
    reason_id = parse_id(request.form.get("reason_id"))
    if reason_id is None:
        return _done(_("Choose why you pause."), ok=False, status=422, field="reason_id")
    try:
        moved = states.set_state(session.id, "paused", expect=("ready", "wrapup", "paused"),
                                 pause_reason_id=reason_id)
    except ServiceError as exc:
        return _refused(exc)
    if not moved:
        return _done(_("You cannot pause during a call."), ok=False, status=409)
    return _done(_("You are paused."))


@bp.route("/disposition", methods=["POST"])
@tenant_required(roles=AGENT_ROLES)
def disposition():
    form = request.form
    call_id = parse_id(form.get("call_id"))
    if call_id is None:
        return _done(_("No call to record."), ok=False, status=422)
    try:
        callback_at = wrapup.parse_callback(form.get("callback_at", ""), _timezone())
        wrapup.record(current_tenant_id(), current_user.id, call_id,
                      parse_id(form.get("disposition_id")), form.get("notes", ""),
                      callback_at, ip=request.remote_addr or "")
    except ServiceError as exc:
        return _refused(exc)
    return _done(_("Saved."))


TARGET_FIELDS = {"agent": "target_agent", "queue": "target_queue"}


def _clear_notice(session) -> None:
    """An old refusal or end notice goes once the agent acts again."""
    if session is None:
        return
    if call_status.read(session.console_status).get("kind") in ("refused", "ended"):
        call_status.publish(session.id, "idle")


def _command(action: str):
    form = request.form.to_dict()
    _clear_notice(view.open_session(current_user.id))
    if action in ("transfer", "consult"):  # one field per kind of target on the form
        kind = form.get("target_kind", "")
        form["target"] = form.get(TARGET_FIELDS.get(kind, "target_text"), "")
    try:
        variables = commands.prepare(current_tenant_id(), current_user.id, action, form)
        commands.send(current_app.config["VOXCAST_SETTINGS"], variables)
    except ServiceError as exc:
        return _refused(exc)
    return _done(COMMAND_SENT[action]())


COMMAND_SENT = {
    "dial": lambda: _("Your phone rings: answer it to call the number."),
    "hold": lambda: _("Putting the caller on hold."),
    "unhold": lambda: _("Taking the caller back."),
    "hangup": lambda: _("Hanging up."),
    "transfer": lambda: _("Transferring the call."),
    "consult": lambda: _("Calling the target; the caller is on hold."),
    "complete": lambda: _("Completing the transfer."),
    "cancel": lambda: _("Back to the caller."),
    "conference": lambda: _("Joining all three."),
}


@bp.route("/dial", methods=["POST"])
@tenant_required(roles=AGENT_ROLES)
@feature_required("agents")
def dial():
    return _command("dial")


@bp.route("/call/<any(hold, unhold, hangup, transfer, consult, complete, cancel, conference):action>",
          methods=["POST"])
@tenant_required(roles=AGENT_ROLES)
def call(action: str):
    return _command(action)
