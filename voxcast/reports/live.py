"""Live statistics: every call of a tenant in progress now, one row per open CDR (outbound
campaign calls and manual dials, inbound DID calls, queue callers, agent legs, transfer legs,
phones' calls), with what it is doing and for how long.

The state is read from what the Stasis app already writes, never guessed from time alone:
an open QueueCall says a caller waits (or waited) in a queue or for a campaign's agent, the
agent's session says who talks on the call and whether the console holds, consults or
conferences it, the CDR's own times say ringing or answered. The one exception is answering-
machine detection, which leaves no row behind: an answered campaign call with AMD on, with no
agent and no queue yet, inside AMD's analysis time, is shown as "amd".

Three indexed reads per poll whatever the tenant's history (the open calls, the open queue
calls, the live sessions: partial indexes of m0014 and AgentSession.ended_at), so a wallboard
polling every 2 s costs the number of calls in progress, not the number of CDRs."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace

from peewee import JOIN

from models import Call, Campaign, User
from models.entities import AgentSession, Queue, QueueCall
from voxcast.console import live as console_live
from voxcast.i18n import N_

# An open row older than this is a crash's leftover (adopted or closed at the app's start),
# not a call in progress: the same bound the queue figures use.
STALE = dt.timedelta(hours=12)
# AMD()'s totalAnalysisTime in [voxcast-amd] (dialplan/extensions.conf): 5000 ms.
AMD_SECONDS = 5

STATES = {
    "dialing": N_("Dialling"),            # a campaign call not yet accepted by Asterisk
    "ringing": N_("Ringing"),
    "amd": N_("Answer detection"),
    "in_flow": N_("Message / IVR"),       # with the platform: message, greeting, IVR, voicemail
    "queued": N_("Waiting in queue"),     # or a Voice Agent contact waiting for an agent
    "talking": N_("Talking"),
    "on_hold": N_("On hold"),
    "consulting": N_("Consulting"),
    "conference": N_("Conference"),
    "transferring": N_("Transferring"),
}
LEGS = {
    "outbound": N_("Outbound"), "inbound": N_("Inbound"), "queue": N_("Queue"),
    "agent": N_("Agent leg"), "transfer": N_("Transfer leg"), "internal": N_("Internal"),
    "phone": N_("Phone"),
}
CONSOLE_STATES = {"held": "on_hold", "consulting": "consulting", "conference": "conference",
                  "transferring": "transferring"}
TALKING_LEGS = ("transfer", "internal", "phone", "agent")


@dataclass(frozen=True)
class LiveCall:
    call_id: int
    leg: str                 # a key of LEGS
    direction: str           # the CDR's own
    number: str
    did: str
    state: str               # a key of STATES
    started_at: dt.datetime  # naive UTC
    answered_at: dt.datetime | None
    duration: int            # seconds since the call started
    state_seconds: int       # seconds in `state` (waiting, talking to the agent...)
    campaign_id: int | None = None
    campaign: str = ""
    queue_id: int | None = None
    queue: str = ""
    agent_id: int | None = None
    agent: str = ""
    queue_call_id: int | None = None

    def as_dict(self) -> dict:
        out = {name: getattr(self, name) for name in _FIELDS}  # asdict() deep-copies: 3x slower
        out["started_at"] = _iso(self.started_at)
        out["answered_at"] = _iso(self.answered_at)
        return out


_FIELDS = tuple(f.name for f in fields(LiveCall))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def _seconds(now: dt.datetime, since: dt.datetime | None) -> int:
    return max(0, int((now - since).total_seconds())) if since is not None else 0


@dataclass(frozen=True)
class _Session:
    user_id: int
    username: str
    state: str
    state_since: dt.datetime
    console: str             # the console's status kind (voxcast.console.live.KINDS)


def live_sessions_by_call(tenant_id: int) -> tuple[dict[int, _Session], dict[int, _Session]]:
    """The tenant's live sessions by the call on them and by user (one indexed read)."""
    by_call: dict[int, _Session] = {}
    by_user: dict[int, _Session] = {}
    rows = (AgentSession.select(AgentSession.id, AgentSession.user, User.username,
                                AgentSession.state, AgentSession.state_since, AgentSession.call,
                                AgentSession.console_status)
            .join(User, on=(AgentSession.user == User.id))
            .where(AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null())
            .order_by(AgentSession.id).tuples())
    for _sid, uid, username, state, since, call_id, console in rows:
        s = _Session(uid, username, state, since, console_live.read(console).get("kind", ""))
        by_user[uid] = s
        if call_id:
            by_call[call_id] = s
    return by_call, by_user


def active_calls(tenant_id: int, now: dt.datetime) -> list[LiveCall]:
    """Every call of the tenant in progress at `now` (naive UTC), oldest first."""
    sessions_by_call, sessions_by_user = live_sessions_by_call(tenant_id)
    return _active_calls(tenant_id, now, sessions_by_call, sessions_by_user)


def _active_calls(tenant_id: int, now: dt.datetime, sessions_by_call: dict[int, _Session],
                  sessions_by_user: dict[int, _Session]) -> list[LiveCall]:
    horizon = now - STALE
    calls = list(
        Call.select(Call.id, Call.direction, Call.number, Call.did, Call.started_at,
                    Call.answered_at, Call.placed_at, Call.campaign, Campaign.name,
                    Campaign.amd_enabled, Call.agent, User.username)
        .join(Campaign, JOIN.LEFT_OUTER, on=(Call.campaign == Campaign.id))
        .switch(Call).join(User, JOIN.LEFT_OUTER, on=(Call.agent == User.id))
        .where(Call.tenant == tenant_id, Call.ended_at.is_null(), Call.started_at > horizon)
        .order_by(Call.started_at, Call.id).tuples())
    if not calls:
        return []
    waits: dict[int, tuple] = {}  # call id -> its open queue call (caller's leg and agent's)
    for row in (QueueCall.select(QueueCall.id, QueueCall.call, QueueCall.agent_call,
                                 QueueCall.queue, Queue.name, QueueCall.campaign,
                                 QueueCall.entered_at, QueueCall.answered_at, QueueCall.agent)
                .join(Queue, JOIN.LEFT_OUTER, on=(QueueCall.queue == Queue.id))
                .where(QueueCall.tenant == tenant_id, QueueCall.ended_at.is_null(),
                       QueueCall.entered_at > horizon).tuples()):
        for leg_id in (row[1], row[2]):
            if leg_id:
                waits[leg_id] = row
    campaign_names = {}
    out = []
    for (cid, direction, number, did, started, answered, placed, campaign_id, campaign,
         amd, agent_id, agent_name) in calls:
        wait = waits.get(cid)
        session = sessions_by_call.get(cid)
        if session is None and direction == "agent" and agent_id:
            session = sessions_by_user.get(agent_id)
        leg = direction if direction in LEGS else "outbound"
        queue_id = queue_name = queue_call_id = None
        if wait is not None:
            queue_call_id, caller_leg, _agent_leg, queue_id, queue_name = wait[:5]
            if wait[5] and not campaign_id:
                campaign_id = wait[5]
            if caller_leg == cid and queue_id:
                leg = "queue"
            if not agent_id and wait[8]:
                agent_id = wait[8]
        if session is not None and not agent_id:
            agent_id, agent_name = session.user_id, session.username
        if agent_id and not agent_name and session is not None and session.user_id == agent_id:
            agent_name = session.username
        state, since = _state(now, direction, started, answered, placed, campaign_id, amd,
                              wait if wait is not None and wait[1] == cid else None, session,
                              agent_leg=(direction == "agent"))
        if campaign_id and not campaign:
            campaign = campaign_names.get(campaign_id)
            if campaign is None:
                found = Campaign.get_or_none(Campaign.id == campaign_id,
                                             Campaign.tenant == tenant_id)
                campaign = campaign_names[campaign_id] = found.name if found else ""
        out.append(LiveCall(
            call_id=cid, leg=leg, direction=direction, number=number, did=did or "",
            state=state, started_at=started, answered_at=answered,
            duration=_seconds(now, started), state_seconds=_seconds(now, since),
            campaign_id=campaign_id, campaign=campaign or "", queue_id=queue_id,
            queue=queue_name or "", agent_id=agent_id, agent=agent_name or "",
            queue_call_id=queue_call_id))
    _name_agents(out, tenant_id)
    return out


def _state(now, direction, started, answered, placed, campaign_id, amd, caller_wait, session,
           *, agent_leg: bool) -> tuple[str, dt.datetime | None]:
    """(state, since when) of one open call; see the module's docstring."""
    if caller_wait is not None and caller_wait[7] is None:
        return "queued", caller_wait[6]
    # Who talks on it comes before the CDR's own answer time: an inbound caller's CDR is
    # marked answered only as it closes, while the agent talks to them for minutes.
    if session is not None and session.state == "on_call":
        return CONSOLE_STATES.get(session.console, "talking"), session.state_since
    if caller_wait is not None:  # answered by an agent (the session may be a moment behind)
        return "talking", caller_wait[7]
    if answered is None:
        if direction == "inbound":
            # The app answers a DID call as it opens its CDR and posts the answer time just
            # after: until that lands it is with the platform (greeting, IVR, ringing phones).
            return "in_flow", started
        if campaign_id and direction == "outbound" and placed is None:
            return "dialing", started
        return "ringing", started
    if agent_leg or direction in TALKING_LEGS:
        return "talking", answered
    if campaign_id and amd and (now - answered).total_seconds() < AMD_SECONDS:
        return "amd", answered
    return "in_flow", answered


def _name_agents(calls: list[LiveCall], tenant_id: int) -> None:
    """Agents known only by id (a QueueCall's agent not on the CDR yet): their usernames."""
    missing = {c.agent_id for c in calls if c.agent_id and not c.agent}
    if not missing:
        return
    names = dict(User.select(User.id, User.username)
                 .where(User.id.in_(list(missing)), User.tenant == tenant_id).tuples())
    for i, c in enumerate(calls):
        if c.agent_id in names and not c.agent:
            calls[i] = replace(c, agent=names[c.agent_id])


@dataclass(frozen=True)
class LiveFilter:
    """Which calls a live list shows; None: any. Checked by the edges (known legs and states,
    the tenant's own ids)."""
    leg: str | None = None
    state: str | None = None
    campaign_id: int | None = None
    queue_id: int | None = None
    agent_id: int | None = None

    def keep(self, call: LiveCall) -> bool:
        return ((self.leg is None or call.leg == self.leg)
                and (self.state is None or call.state == self.state)
                and (self.campaign_id is None or call.campaign_id == self.campaign_id)
                and (self.queue_id is None or call.queue_id == self.queue_id)
                and (self.agent_id is None or call.agent_id == self.agent_id))

    def apply(self, calls: list[LiveCall]) -> list[LiveCall]:
        return [c for c in calls if self.keep(c)]


CSV_HEADER = ("call_id", "leg", "direction", "number", "did", "state", "started_at",
              "answered_at", "duration", "state_seconds", "campaign", "queue", "agent")


def csv_rows(calls: list[LiveCall], local) -> list[list]:
    """Rows for the CSV export; `local` shows a naive UTC time in the viewer's zone."""
    return [[c.call_id, c.leg, c.direction, c.number, c.did, c.state, local(c.started_at),
             local(c.answered_at), c.duration, c.state_seconds, c.campaign, c.queue, c.agent]
            for c in calls]
