"""A supervisor listening to, whispering to or barging into an agent's call on their own
phone. The web (page and API) checks the request here and posts it to the Stasis app as an
ARI user event `voxcast-monitor`; the app (ari_app/flows/monitor.py) checks it again on its
writer thread (`recheck`) before it rings the supervisor's phone, since the agent's call may
have ended in between.

The supervisor's phone is their own extension (an Extension of the tenant whose user they
are), registered now: a monitor call to a phone nobody can answer would only ring into the
void. Asterisk is asked whether it is registered (ARI endpoint state) through the transport
handed in, so tests give a fake one.

Modes (what each side hears, by the snoop channel the app puts on the agent's channel):
  listen  - the supervisor hears caller and agent; nobody hears the supervisor;
  whisper - as listen, and the agent (only) hears the supervisor;
  barge   - the supervisor talks to both.
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from models import User
from models.entities import AgentSession, Extension
from models.tenancy import TenantScopeError, get_scoped
from voxcast.audit import records as audit
from voxcast.errors import ServiceError
from voxcast.i18n import N_
from voxcast.schemas import ID, obj

EVENT = "voxcast-monitor"
MODES = ("listen", "whisper", "barge")
ACTIONS = ("start", "stop")
SUPERVISOR_ROLES = ("tenant", "supervisor")

MONITOR_REQUEST = obj({
    "mode": {"type": "string", "enum": [*MODES, "stop"],
             "description": "listen: hear caller and agent; whisper: the agent (only) hears "
                            "the supervisor; barge: both do; stop: end the monitor call."},
    "supervisor_id": {**ID, "description": "The supervisor (a tenant administrator or "
                                           "supervisor) whose own registered extension rings; "
                                           "default: the user who created the API key."}},
    ["mode"])


class MonitorError(ServiceError):
    """`template` (marked with N_) and `params` let a page show the message translated."""
    code, status = "monitor-not-possible", 409

    def __init__(self, message: str, field: str = "", **params):
        super().__init__(message % params if params else message)
        self.template, self.params, self.field = message, params, field


class BadMode(MonitorError):
    code, status = "bad-mode", 422


class NoSuchAgent(MonitorError):
    code, status = "not-found", 404


class NotASupervisor(MonitorError):
    code, status = "not-a-supervisor", 403


class NotOnCall(MonitorError):
    """The agent is not talking on a call now (not logged in, ready, paused, ringing...)."""
    code, status = "agent-not-on-call", 409


class NoPhone(MonitorError):
    """The supervisor has no extension of their own, or none registered now."""
    code, status = "no-supervisor-phone", 409


class AppUnavailable(MonitorError):
    code, status = "telephony-unavailable", 503


@dataclass(frozen=True)
class Request:
    """A checked monitor command, as the user event's variables carry it."""
    action: str
    tenant_id: int
    supervisor_id: int
    supervisor_name: str = ""
    extension: str = ""  # the supervisor's phone
    agent_id: int = 0
    agent_name: str = ""
    agent_session_id: int = 0
    mode: str = ""

    def variables(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_variables(cls, variables: dict) -> "Request":
        try:
            return cls(action=str(variables["action"]), tenant_id=int(variables["tenant_id"]),
                       supervisor_id=int(variables["supervisor_id"]),
                       supervisor_name=str(variables.get("supervisor_name", "")),
                       extension=str(variables.get("extension", "")),
                       agent_id=int(variables.get("agent_id") or 0),
                       agent_name=str(variables.get("agent_name", "")),
                       agent_session_id=int(variables.get("agent_session_id") or 0),
                       mode=str(variables.get("mode", "")))
        except (KeyError, ValueError, TypeError):
            raise MonitorError(N_("That monitor command is malformed.")) from None


class AriTransport:
    """The web's two questions to Asterisk over ARI's HTTP interface (blocking, short)."""

    def __init__(self, settings, timeout: float = 3.0):
        self.settings = settings
        self.timeout = timeout

    def _open(self, method: str, path: str, data: bytes | None = None):
        s = self.settings
        req = urllib.request.Request(f"{s.ari_url}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        token = base64.b64encode(f"{s.ari_user}:{s.ari_password()}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        return urllib.request.urlopen(req, timeout=self.timeout)

    def online(self, number: str) -> bool:
        """Is the PJSIP endpoint `number` registered (a contact reachable)?"""
        try:
            with self._open("GET", f"/endpoints/PJSIP/{urllib.parse.quote(number)}") as resp:
                return json.loads(resp.read()).get("state") == "online"
        except urllib.error.HTTPError:
            return False
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise AppUnavailable(
                N_("The telephony server is not reachable now; try again.")) from exc

    def post_event(self, variables: dict[str, str]) -> None:
        query = urllib.parse.urlencode({"application": self.settings.ari_app_name})
        try:
            with self._open("POST", f"/events/user/{EVENT}?{query}",
                            json.dumps({"variables": variables}).encode()) as resp:
                resp.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise AppUnavailable(
                N_("The telephony server is not reachable now; try again.")) from exc


def _supervisor(tenant_id: int, supervisor_id: int) -> User:
    try:
        user = get_scoped(User, tenant_id, supervisor_id)
    except TenantScopeError:
        raise NotASupervisor(N_("Only the organisation's supervisors may monitor calls.")) from None
    if user.role not in SUPERVISOR_ROLES or not user.active:
        raise NotASupervisor(N_("Only the organisation's supervisors may monitor calls."))
    return user


def _agent_on_call(tenant_id: int, agent_id: int, supervisor_id: int) -> tuple[User, AgentSession]:
    try:
        agent = get_scoped(User, tenant_id, agent_id)
    except TenantScopeError:
        raise NoSuchAgent(N_("No such agent.")) from None
    if agent.id == supervisor_id:
        raise NotOnCall(N_("You cannot monitor your own calls."))
    session = (AgentSession.select()
               .where(AgentSession.user == agent.id, AgentSession.tenant == tenant_id,
                      AgentSession.ended_at.is_null())
               .order_by(AgentSession.id.desc()).first())
    if session is None or session.state != "on_call" or not session.call_id:
        raise NotOnCall(N_("%(name)s is not on a call now."), name=agent.username)
    return agent, session


def own_extensions(tenant_id: int, user_id: int) -> list[str]:
    """The supervisor's own extensions (their phones), by number."""
    return [e.number for e in Extension.select(Extension.number)
            .where(Extension.tenant == tenant_id, Extension.user == user_id)
            .order_by(Extension.number)]


def prepare(tenant_id: int, supervisor_id: int, agent_id: int, mode: str,
            online) -> Request:
    """The checked start command; raises a MonitorError saying why not. `online(number)`
    tells whether a phone is registered (the transport's)."""
    if mode not in MODES:
        raise BadMode(N_("Choose listen, whisper or barge."), field="mode")
    supervisor = _supervisor(tenant_id, supervisor_id)
    agent, session = _agent_on_call(tenant_id, agent_id, supervisor.id)
    numbers = own_extensions(tenant_id, supervisor.id)
    if not numbers:
        raise NoPhone(N_("You have no extension of your own to take the monitor call on."))
    phone = next((n for n in numbers if online(n)), None)
    if phone is None:
        raise NoPhone(N_("Your phone (extension %(number)s) is not registered."),
                      number=", ".join(numbers))
    return Request("start", tenant_id, supervisor.id, supervisor.username, phone, agent.id,
                   agent.username, session.id, mode)


def start(transport, tenant_id: int, supervisor_id: int, agent_id: int, mode: str) -> Request:
    """Ask the Stasis app to ring the supervisor's phone and, once answered, monitor the
    agent's call in `mode` (a supervisor already monitoring changes mode or agent)."""
    req = prepare(tenant_id, supervisor_id, agent_id, mode, transport.online)
    transport.post_event(req.variables())
    return req


def stop(transport, tenant_id: int, supervisor_id: int) -> Request:
    """End the supervisor's monitor call (nothing happens when there is none)."""
    supervisor = _supervisor(tenant_id, supervisor_id)
    req = Request("stop", tenant_id, supervisor.id, supervisor.username)
    transport.post_event(req.variables())
    return req


def parse(event_raw: dict) -> dict[str, str] | None:
    """The variables of a monitor user event as ARI delivers it, or None for another one."""
    if event_raw.get("eventname") != EVENT:
        return None
    variables = event_raw.get("userevent") or {}
    if not isinstance(variables, dict) or variables.get("action") not in ACTIONS:
        return None
    return {str(k): str(v) for k, v in variables.items()}


def recheck(variables: dict[str, str]) -> Request:
    """The Stasis app's own check (writer thread): still a supervisor of the tenant, the phone
    still theirs, the agent still on a call in the same session."""
    req = Request.from_variables(variables)
    supervisor = _supervisor(req.tenant_id, req.supervisor_id)
    if req.action == "stop":
        return req
    if req.mode not in MODES:
        raise BadMode(N_("Choose listen, whisper or barge."), field="mode")
    _, session = _agent_on_call(req.tenant_id, req.agent_id, supervisor.id)
    if session.id != req.agent_session_id:
        raise NotOnCall(N_("%(name)s is not on that call any more."), name=req.agent_name)
    if req.extension not in own_extensions(req.tenant_id, supervisor.id):
        raise NoPhone(N_("That extension is not yours."))
    return req


@dataclass(frozen=True)
class Actor:
    """Who the tenant log names (audit.record reads id and username)."""
    id: int
    username: str


def describe(req: Request, mode: str | None = None) -> str:
    verb = {"listen": "listens to", "whisper": "whispers to", "barge": "barges into the call of"}
    return (f"{req.supervisor_name} {verb.get(mode or req.mode, mode or req.mode)} "
            f"{req.agent_name} (phone {req.extension})")


def log_started(req: Request) -> None:
    """Tenant log: the monitoring began (the supervisor answered) or changed mode."""
    audit.record("agent.monitor", tenant_id=req.tenant_id,
                 user=Actor(req.supervisor_id, req.supervisor_name),
                 object_type="agent_session", object_id=req.agent_session_id,
                 detail=describe(req))


def log_ended(req: Request, seconds: int) -> None:
    audit.record("agent.monitor_end", tenant_id=req.tenant_id,
                 user=Actor(req.supervisor_id, req.supervisor_name),
                 object_type="agent_session", object_id=req.agent_session_id,
                 detail=f"{req.supervisor_name} stopped monitoring {req.agent_name} "
                        f"after {seconds} s")
