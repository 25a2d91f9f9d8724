"""Agent states, changed only by compare-and-set.

The web console, the phone's feature codes and the Stasis app (on its writer thread) all move
the same AgentSession. Each move is one UPDATE ... WHERE state IN (expected states) (or WHERE
version = the version read), so whoever comes second simply loses (gets False) instead of
overwriting the other: an agent who pressed "pause" while a call was being offered is either
paused (and the offer is not made) or ringing (and the pause is refused), never both. Every
successful move closes the session's open AgentStateLog row and opens the next one in the same
transaction, so the log always holds one open row per live session and times can be summed
(voxcast.agents.stats)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from models import Extension, database
from models.entities import (
    AGENT_STATES, AgentSession, AgentStateLog, PauseReason, QueueMember, utcnow,
)
from models.tenancy import TenantScopeError, get_scoped
from voxcast.agents import prepared
from voxcast.agents.errors import AgentInputError
from voxcast.i18n import N_

# Which state may follow which (the web's buttons ask can_move; set_state without `expect`
# allows exactly these). Ringing and on_call from paused / wrap-up are the agent's own manual
# calls (their phone rings first); offers of queue and campaign calls take ready agents only
# (offer_started).
MOVES: dict[str, frozenset[str]] = {
    "ready": frozenset({"ringing", "on_call", "paused", "logged_out"}),
    "ringing": frozenset({"on_call", "ready", "paused", "logged_out"}),
    "on_call": frozenset({"wrapup", "ready", "logged_out"}),
    "wrapup": frozenset({"ready", "paused", "ringing", "on_call", "logged_out"}),
    "paused": frozenset({"ready", "paused", "ringing", "on_call", "logged_out"}),
    "logged_out": frozenset(),
}
SYSTEM_PAUSE_NAME = "No answer"


def can_move(frm: str, to: str) -> bool:
    """Whether `to` may follow `frm` (paused -> paused changes the reason)."""
    return to in MOVES.get(frm, ())


def predecessors(to: str) -> tuple[str, ...]:
    return tuple(s for s in AGENT_STATES if to in MOVES[s])


@dataclass(frozen=True)
class ReadyAgent:
    """An agent who may be offered a call now, as the ACD picks them."""
    session_id: int
    user_id: int
    extension: str
    idle_since: dt.datetime
    penalty: int = 0


def _move(session_id: int, to: str, *, expect: Iterable[str] | None = None,
          version: int | None = None, now: dt.datetime | None = None,
          fields: dict | None = None, due_by: dt.datetime | None = None) -> bool:
    """The one compare-and-set: moves a live session to `to` when it is in one of `expect`
    (with `version`, still at that version; with `due_by`, its wrap-up ends by then); writes
    the state log. False: it was not. Prepared SQL (voxcast.agents.prepared): the ACD runs
    three of these per call on the writer thread."""
    now = now or utcnow()
    expect = tuple(expect) if expect is not None else predecessors(to)
    if not expect:
        return False
    changes: dict[str, object] = {}
    if to != "paused":
        changes["pause_reason"] = None
    if to != "wrapup":
        changes["wrapup_until"] = None
    if to in ("ready", "logged_out"):
        changes["call"] = None
    if to == "logged_out":
        changes["ended_at"] = now
    for key, value in (fields or {}).items():
        changes[key if isinstance(key, str) else key.name] = value
    names = tuple(changes)
    meta = AgentSession._meta.fields
    params = [to, meta["state_since"].db_value(now)]
    params += [meta[name].db_value(changes[name]) for name in names]
    params += [session_id, *expect]
    if version is not None:
        params.append(version)
    if due_by is not None:
        params.append(meta["wrapup_until"].db_value(due_by))
    sql = prepared.statements()
    started = AgentStateLog.started_at.db_value(now)
    with database.atomic():
        row = database.execute_sql(sql.move(names, len(expect), version is not None,
                                            due_by is not None), params).fetchone()
        if row is None:
            return False
        tenant_id, user_id, reason_id, call_id = row
        database.execute_sql(sql.close_log, (started, session_id))
        database.execute_sql(sql.open_log, (tenant_id, session_id, user_id, to, reason_id,
                                            call_id, started))
    return True


def set_state(session_id: int, to: str, *, expect: Iterable[str] | None = None,
              pause_reason_id: int | None = None, call_id: int | None = None,
              wrapup_until: dt.datetime | None = None, now: dt.datetime | None = None) -> bool:
    """Move the session to `to` if it is in one of `expect` (default: every state `to` may
    follow). A pause reason must be one of the session's tenant's active reasons. Returns
    whether this call made the move (False: the state had already moved on, or the session
    ended)."""
    if to not in AGENT_STATES:
        raise AgentInputError(N_("Unknown agent state '%(state)s'."), "state", state=to)
    fields: dict = {}
    if to == "paused":
        if pause_reason_id is not None:
            session = AgentSession.get_or_none(AgentSession.id == session_id)
            if session is None:
                return False
            try:
                reason = get_scoped(PauseReason, session.tenant_id, pause_reason_id)
            except TenantScopeError:
                raise AgentInputError(N_("Choose one of your pause reasons."),
                                      "pause_reason_id") from None
            if not reason.active:
                raise AgentInputError(N_("That pause reason is no longer in use."),
                                      "pause_reason_id")
        fields["pause_reason"] = pause_reason_id
    if to == "wrapup":
        fields["wrapup_until"] = wrapup_until
    if to == "logged_out":
        fields["end_reason"] = "logout"
    if call_id is not None:
        fields["call"] = call_id
    return _move(session_id, to, expect=expect, now=now, fields=fields)


def end_session(session_id: int, reason: str, now: dt.datetime | None = None) -> bool:
    """End a live session from whatever state it is in: logged_out, with `reason`."""
    return _move(session_id, "logged_out", expect=AGENT_STATES, now=now,
                 fields={"end_reason": reason})


# -- what the ACD does ------------------------------------------------------------------------

def ready_agents(tenant_id: int, user_ids: Iterable[int] | None = None, *,
                 queue_id: int | None = None) -> list[ReadyAgent]:
    """The tenant's live sessions in "ready" whose extension is still theirs (one handed to
    someone else since the login is never rung for them), longest idle first (idle since
    the last call ended, or since the state began when they took none yet). With `user_ids`
    only those users; with `queue_id` only the queue's members, with their penalty, lowest
    penalty first."""
    query = (AgentSession.select(AgentSession.id, AgentSession.user, AgentSession.state_since,
                                 AgentSession.last_call_ended_at, Extension.number)
             .join(Extension, on=((AgentSession.extension == Extension.id)
                                  & (Extension.user == AgentSession.user)))
             .where(AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null(),
                    AgentSession.state == "ready"))
    if user_ids is not None:
        user_ids = list(user_ids)
        if not user_ids:
            return []
        query = query.where(AgentSession.user.in_(user_ids))
    penalties: dict[int, int] = {}
    if queue_id is not None:
        penalties = {u: p for u, p in QueueMember.select(QueueMember.user, QueueMember.penalty)
                     .where(QueueMember.queue == queue_id, QueueMember.tenant == tenant_id)
                     .tuples()}
        if not penalties:
            return []
        query = query.where(AgentSession.user.in_(list(penalties)))
    newest: dict[int, ReadyAgent] = {}  # one per user, should two logins have raced
    for sid, uid, since, ended, number in query.tuples():
        if uid not in newest or newest[uid].session_id < sid:
            newest[uid] = ReadyAgent(session_id=sid, user_id=uid, extension=number,
                                     idle_since=ended or since, penalty=penalties.get(uid, 0))
    agents = list(newest.values())
    agents.sort(key=lambda a: (a.penalty, a.idle_since, a.session_id))
    return agents


def offer_started(session_id: int, call_id: int | None, now: dt.datetime | None = None) -> bool:
    """ready -> ringing for this call; False when the agent is no longer ready."""
    fields = {"call": call_id} if call_id is not None else {}
    return _move(session_id, "ringing", expect=("ready",), now=now, fields=fields)


def offer_answered(session_id: int, call_id: int | None, now: dt.datetime | None = None) -> bool:
    """ringing -> on_call; the run of missed offers ends."""
    fields = {"missed_in_row": 0}
    if call_id is not None:
        fields["call"] = call_id
    return _move(session_id, "on_call", expect=("ringing",), now=now, fields=fields)


def system_reason(tenant_id: int) -> PauseReason:
    """The tenant's system pause reason ("No answer"), created the first time it is needed."""
    reason = (PauseReason.select().where(PauseReason.tenant == tenant_id, PauseReason.system)
              .order_by(PauseReason.id).first())
    if reason is not None:
        return reason
    name = SYSTEM_PAUSE_NAME
    with database.atomic():
        clash = PauseReason.get_or_none(PauseReason.tenant == tenant_id, PauseReason.name == name)
        if clash is not None:  # the tenant made one of that name: it becomes the system's
            clash.system, clash.active = True, True
            clash.save(only=[PauseReason.system, PauseReason.active])
            return clash
        return PauseReason.create(tenant=tenant_id, name=name, system=True)


def offer_unanswered(session_id: int, max_missed: int, now: dt.datetime | None = None) -> str:
    """ringing -> ready after an offer nobody answered; the `max_missed`-th miss in a row
    (0: never) pauses the agent with the tenant's system reason instead. Returns the state the
    session is in afterwards (also when the move lost to another change)."""
    for _attempt in range(3):
        row = AgentSession.get_or_none(AgentSession.id == session_id)
        if row is None or row.ended_at is not None:
            return "logged_out"
        if row.state != "ringing":
            return row.state
        missed = row.missed_in_row + 1
        if max_missed and missed >= max_missed:
            moved = _move(session_id, "paused", expect=("ringing",), version=row.version, now=now,
                          fields={"missed_in_row": 0,
                                  "pause_reason": system_reason(row.tenant_id).id})
            if moved:
                return "paused"
        elif _move(session_id, "ready", expect=("ringing",), version=row.version, now=now,
                   fields={"missed_in_row": missed}):
            return "ready"
    row = AgentSession.get_or_none(AgentSession.id == session_id)
    return "logged_out" if row is None or row.ended_at is not None else row.state


def call_ended(session_id: int, wrapup_seconds: int, now: dt.datetime | None = None) -> bool:
    """on_call -> wrapup for `wrapup_seconds` of after-call work (-> ready when 0). The call
    stays on the session during wrap-up, for the disposition form."""
    now = now or utcnow()
    fields = {"last_call_ended_at": now}
    if wrapup_seconds and wrapup_seconds > 0:
        fields["wrapup_until"] = now + dt.timedelta(seconds=int(wrapup_seconds))
        return _move(session_id, "wrapup", expect=("on_call",), now=now, fields=fields)
    return _move(session_id, "ready", expect=("on_call",), now=now, fields=fields)


def finish_wrapups(now: dt.datetime | None = None) -> list[int]:
    """Sessions whose wrap-up time is over go back to ready; returns their ids. A sweeper
    runs this every second (a wrap-up extended in between is left alone)."""
    now = now or utcnow()
    due = [sid for (sid,) in AgentSession.select(AgentSession.id).where(
        AgentSession.ended_at.is_null(), AgentSession.state == "wrapup",
        AgentSession.wrapup_until <= now).tuples()]
    return [sid for sid in due
            if _move(sid, "ready", expect=("wrapup",), now=now, due_by=now)]
