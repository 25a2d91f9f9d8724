"""Console commands for the Stasis app, carried as ARI user events: the web checks that the
agent is logged in and owns the call (or may dial the number), then posts
`/events/user/voxcast-agent?application=<app>` with the command as JSON variables; the app
(ari_app/agent_commands.py) checks it again before it touches a channel."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from models.entities import AgentSession, Call

from voxcast.i18n import N_

from . import dialing, nodes, targets, view
from .errors import AppUnavailable, BadTarget, NoCall, NotLoggedIn

EVENT = "voxcast-agent"
CALL_ACTIONS = ("hold", "unhold", "hangup", "transfer", "consult", "complete", "cancel",
                "conference")
ACTIONS = ("dial", *CALL_ACTIONS)


def _session(tenant_id: int, user_id: int) -> AgentSession:
    session = view.open_session(user_id)
    if session is None or session.tenant_id != tenant_id:
        raise NotLoggedIn(N_("Log in to the console first."))
    return session


def owns_call(session: AgentSession, call_id: int | None, action: str = "") -> bool:
    """The agent is on that call now: it is the session's call (or that call's customer).
    A call still ringing may only be hung up."""
    live_states = ("on_call", "ringing") if action == "hangup" else ("on_call",)
    if session.state not in live_states or not session.call_id:
        return False
    if call_id is None or call_id == session.call_id:
        return True
    row = Call.get_or_none(Call.id == session.call_id)
    return row is not None and view.customer_of(row).id == call_id


def prepare(tenant_id: int, user_id: int, action: str, form: dict) -> dict[str, str]:
    """The user event's variables for a command the agent may give now; raises a
    ConsoleError saying why not."""
    if action not in ACTIONS:
        raise BadTarget(N_("Unknown command."))
    session = _session(tenant_id, user_id)
    out = {"action": action, "tenant_id": str(tenant_id), "user_id": str(user_id),
           "session_id": str(session.id)}
    if action == "dial":
        campaign_id = targets._int(form.get("campaign_id")) if form.get("campaign_id") else None
        plan = dialing.check(tenant_id, user_id, form.get("number", ""), campaign_id, session.id)
        out.update(number=plan.number, campaign_id=str(plan.campaign_id or ""))
        return out
    call_id = targets._int(form.get("call_id")) if form.get("call_id") else None
    if not owns_call(session, call_id, action):
        raise NoCall(N_("You are not on that call."))
    out["call_id"] = str(session.call_id)
    if action in ("transfer", "consult"):
        kind = str(form.get("target_kind", ""))
        target = targets.resolve(tenant_id, kind, form.get("target", ""), user_id)
        out.update(target_kind=kind, target=str(form.get("target", "")).strip(),
                   target_label=target.label)
    return out


def send(settings, variables: dict[str, str], timeout: float = 3.0,
         ari_url: str | None = None) -> None:
    """Post the user event to ARI, on the node that has the agent's call or phone
    (voxcast.console.nodes); AppUnavailable when Asterisk does not take it."""
    base = ari_url or nodes.ari_for(settings, variables)
    query = urllib.parse.urlencode({"application": settings.ari_app_name})
    req = urllib.request.Request(f"{base}/events/user/{EVENT}?{query}",
                                 data=json.dumps({"variables": variables}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password()}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise AppUnavailable(
            N_("The telephony server is not reachable now; try again.")) from exc


def parse(event_raw: dict) -> dict[str, str] | None:
    """The variables of a console user event as ARI delivers it (type ChannelUserevent), or
    None for any other user event."""
    if event_raw.get("eventname") != EVENT:
        return None
    variables = event_raw.get("userevent") or {}
    if not isinstance(variables, dict) or variables.get("action") not in ACTIONS:
        return None
    return {str(k): str(v) for k, v in variables.items()}


def recheck(variables: dict[str, str]):
    """The Stasis app's own check of a command (writer thread): the session is still this
    agent's and open, the call still theirs; for a dial, the DialPlan to place."""
    try:
        tenant_id, user_id = int(variables["tenant_id"]), int(variables["user_id"])
        session_id = int(variables["session_id"])
    except (KeyError, ValueError):
        raise NotLoggedIn(N_("Log in to the console first.")) from None
    session = view.open_session(user_id)
    if session is None or session.id != session_id or session.tenant_id != tenant_id:
        raise NotLoggedIn(N_("Log in to the console first."))
    action = variables.get("action", "")
    if action == "dial":
        campaign_id = targets._int(variables.get("campaign_id")) if variables.get("campaign_id") else None
        return dialing.check(tenant_id, user_id, variables.get("number", ""), campaign_id,
                             session_id)
    call_id = targets._int(variables.get("call_id")) if variables.get("call_id") else None
    if not owns_call(session, call_id, action):
        raise NoCall(N_("You are not on that call."))
    return None
