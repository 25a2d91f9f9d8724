"""The ACD's writer-thread jobs: what a queue is set to, a caller's stay in it (QueueCall),
and the offers made to agents. Every function runs on the Stasis app's writer thread
(`ctx.writer.run` / `post`), like voxcast.dialing and voxcast.cdr.

One dispatch round of the AgentPool is one job (make_offers): for every waiting caller it
picks ready agents by the strategy, moves each to ringing by compare-and-set
(voxcast.agents.states) and opens the agent leg's CDR, so an offer costs one writer job
however many callers and agents there are."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from peewee import PostgresqlDatabase

from models import Call, Tenant, database
from models.db import node_name
from models.entities import AgentSession, Extension, Queue, QueueCall, QueueMember, utcnow
from models.prepared import col, insert, q
from voxcast.agents import states


# The Queue columns a QueuePlan is made of, in this order (enter_queue reads them).
PLAN_FIELDS = (Queue.id, Queue.tenant, Queue.name, Queue.number, Queue.strategy,
               Queue.ring_seconds, Queue.max_wait_seconds, Queue.music_class,
               Queue.announce_every_seconds, Queue.announce_position, Queue.announce_wait,
               Queue.wrapup_seconds, Queue.fallback, Queue.fallback_queue, Queue.fallback_ivr,
               Queue.fallback_text)
QUEUE_CALL_GIVEN = ("tenant", "queue", "call", "caller", "entered_at")
AGENT_LEG_GIVEN = ("tenant", "number", "did", "channel_id", "started_at", "agent")


class Statements:
    """The ACD's per-call statements as SQL text made once per database (peewee building
    the same queries anew for each call was most of the writer's time; models/prepared.py)."""

    def __init__(self, db):
        p = db.param
        self.pg = isinstance(db, PostgresqlDatabase)
        ret = (QueueCall.id,) if self.pg else ()
        s, e, m = AgentSession, Extension, QueueMember
        qt, tt = q(Queue._meta.table_name), q(Tenant._meta.table_name)
        st, et, mt = (q(x._meta.table_name) for x in (s, e, m))
        live_members = (
            f"SELECT COUNT(*) FROM {st} s JOIN {mt} m ON m.{col(m.user)} = s.{col(s.user)} "
            f"WHERE m.{col(m.queue)} = qq.{col(Queue.id)} AND s.{col(s.tenant)} = "
            f"qq.{col(Queue.tenant)} AND s.{col(s.ended_at)} IS NULL")
        self.enter = (
            "SELECT " + ", ".join(f"qq.{col(f)}" for f in PLAN_FIELDS)
            + f", t.{col(Tenant.email)}, t.{col(Tenant.agent_max_missed)}, ({live_members}) "
            f"FROM {qt} qq JOIN {tt} t ON t.{col(Tenant.id)} = qq.{col(Queue.tenant)} "
            f"WHERE qq.{col(Queue.id)} = {p} AND qq.{col(Queue.tenant)} = {p}")
        self.queue_call = insert(QueueCall, p, QUEUE_CALL_GIVEN, returning=ret)
        self.agent_leg = insert(Call, p, AGENT_LEG_GIVEN, {"direction": "agent"},
                                returning=(Call.id,) if self.pg else ())
        self.tenant = (f"SELECT {col(Tenant.channel_limit)}, {col(Tenant.agent_max_missed)}, "
                       f"{col(Tenant.status)} FROM {tt} WHERE {col(Tenant.id)} = {p}")
        self.ready = (
            f"SELECT s.{col(s.id)}, s.{col(s.user)}, s.{col(s.state_since)}, "
            f"s.{col(s.last_call_ended_at)}, e.{col(e.number)}, m.{col(m.penalty)} "
            f"FROM {st} s JOIN {et} e ON e.{col(e.id)} = s.{col(s.extension)} "
            f"AND e.{col(e.user)} = s.{col(s.user)} "  # an extension handed on is not rung
            f"JOIN {mt} m ON m.{col(m.user)} = s.{col(s.user)} AND m.{col(m.queue)} = {p} "
            f"AND m.{col(m.tenant)} = {p} "
            f"WHERE s.{col(s.tenant)} = {p} AND s.{col(s.ended_at)} IS NULL "
            f"AND s.{col(s.state)} = 'ready'")
        call, cid = q(Call._meta.table_name), col(Call.id)
        answered = col(Call.answered_at)
        self.answer_calls = (
            f"UPDATE {call} SET {col(Call.agent)} = {p}, {answered} = CASE WHEN {cid} = {p} "
            f"THEN COALESCE({answered}, {p}) ELSE {answered} END WHERE {cid} IN ({p}, {p})")
        qc = q(QueueCall._meta.table_name)
        self.answer_queue_call = (
            f"UPDATE {qc} SET {col(QueueCall.answered_at)} = {p}, {col(QueueCall.agent)} = {p}, "
            f"{col(QueueCall.agent_call)} = {p}, {col(QueueCall.offers)} = {p}, "
            f"{col(QueueCall.outcome)} = 'answered', {col(QueueCall.wait_seconds)} = {p} "
            f"WHERE {col(QueueCall.id)} = {p}")
        self.end_queue_call = (
            f"UPDATE {qc} SET {col(QueueCall.ended_at)} = {p} "
            f"WHERE {col(QueueCall.id)} = {p} AND {col(QueueCall.ended_at)} IS NULL")


_made: dict[tuple, Statements] = {}


def statements() -> Statements:
    db = database.obj
    key = (type(db), db.param)
    made = _made.get(key)
    if made is None:
        made = _made[key] = Statements(db)
    return made


def _dt(value):
    """A datetime column as peewee returns it (SQLite hands back text)."""
    return AgentSession.state_since.python_value(value)


def _inserted(cursor, pg: bool) -> int:
    return cursor.fetchone()[0] if pg else cursor.lastrowid


@dataclass(frozen=True)
class QueuePlan:
    """A queue's settings as one call uses them (read once when the caller enters)."""
    id: int
    tenant_id: int
    name: str
    number: str = ""
    strategy: str = "longest_idle"
    ring_seconds: int = 15
    max_wait_seconds: int = 300
    music_class: str = "default"
    announce_every_seconds: int = 60
    announce_position: bool = True
    announce_wait: bool = True
    wrapup_seconds: int = 10
    fallback: str = "message"
    fallback_queue_id: int | None = None
    fallback_ivr_id: int | None = None
    fallback_text: str = ""
    tenant_email: str = ""
    max_missed: int = 3


@dataclass(frozen=True)
class Entry:
    """enter_queue's answer: the plan (None: no such queue of the tenant), the QueueCall row
    and how many of its members are logged in now."""
    plan: QueuePlan | None
    queue_call_id: int | None = None
    logged_in: int = 0


def logged_in_members(tenant_id: int, queue_id: int) -> int:
    """Members of the queue with a live session (any state): none means nobody can ever take
    the call, and the caller goes to the fallback at once."""
    members = (QueueMember.select(QueueMember.user)
               .where(QueueMember.queue == queue_id, QueueMember.tenant == tenant_id))
    return (AgentSession.select()
            .where(AgentSession.tenant == tenant_id, AgentSession.ended_at.is_null(),
                   AgentSession.user.in_(members)).count())


def enter_queue(tenant_id: int, queue_id: int, call_id: int | None, caller: str,
                now: dt.datetime | None = None) -> Entry:
    """A caller enters a queue of their tenant: its plan, how many members are logged in and
    a new QueueCall row, in two statements."""
    sql = statements()
    row = database.execute_sql(sql.enter, (queue_id, tenant_id)).fetchone()
    if row is None:
        return Entry(None)
    (qid, tid, name, number, strategy, ring, max_wait, music, every, pos, wait, wrapup,
     fallback, fb_queue, fb_ivr, fb_text, email, max_missed, logged_in) = row
    plan = QueuePlan(
        id=qid, tenant_id=tid, name=name, number=number, strategy=strategy,
        ring_seconds=max(1, ring or 15), max_wait_seconds=max(0, max_wait or 0),
        music_class=music, announce_every_seconds=max(0, every or 0),
        announce_position=bool(pos), announce_wait=bool(wait),
        wrapup_seconds=max(0, wrapup or 0), fallback=fallback, fallback_queue_id=fb_queue,
        fallback_ivr_id=fb_ivr, fallback_text=fb_text or "", tenant_email=email or "",
        max_missed=max_missed or 0)
    cursor = database.execute_sql(sql.queue_call, (tenant_id, queue_id, call_id, caller or "",
                                                   now or utcnow()))
    return Entry(plan, _inserted(cursor, sql.pg), logged_in)


def close_queue_call(queue_call_id: int | None, outcome: str,
                     now: dt.datetime | None = None) -> None:
    """A caller left the queue without an agent: abandoned (hung up), timeout (max wait),
    no_agents (nobody logged in). Only an open row is closed."""
    if not queue_call_id:
        return
    now = now or utcnow()
    qc = QueueCall.get_or_none(QueueCall.id == queue_call_id)
    if qc is None or qc.ended_at is not None:
        return
    wait = max(0, round((now - qc.entered_at).total_seconds()))
    (QueueCall.update(outcome=outcome, ended_at=now, wait_seconds=wait)
     .where(QueueCall.id == queue_call_id, QueueCall.ended_at.is_null()).execute())


def open_internal_call(tenant_id: int, queue_id: int, caller: str, channel_id: str,
                       live_channels: int) -> int | None:
    """The CDR of a tenant's phone calling one of its queues (direction "internal": not
    PSTN, not rated), or None when the tenant is not active, is at its channel limit or has
    no such queue."""
    tenant = (Tenant.select(Tenant.status, Tenant.channel_limit)
              .where(Tenant.id == tenant_id).first())
    if tenant is None or tenant.status != "active" or live_channels >= tenant.channel_limit:
        return None
    queue = (Queue.select(Queue.number)
             .where(Queue.id == queue_id, Queue.tenant == tenant_id).first())
    if queue is None:
        return None
    return Call.create(tenant=tenant_id, direction="internal", number=caller or "anonymous",
                       did=queue.number, channel_id=channel_id, started_at=utcnow()).id


# -- offers --------------------------------------------------------------------------------

@dataclass
class OfferRequest:
    """One waiting caller in a dispatch round. `exclude`: users who already missed this call
    (offered again only once every other agent has been tried)."""
    key: int  # the waiter's id, echoed back
    tenant_id: int
    customer_call_id: int | None
    caller: str
    channel_prefix: str  # agent leg channel ids are this + 1, 2, ...
    max_legs: int = 1  # ring all: how many agents it may ring at once
    queue_id: int | None = None
    user_ids: list[int] | None = None
    strategy: str = "longest_idle"
    rr_after: int = 0  # round robin: the user offered last
    exclude: frozenset = frozenset()
    live_channels: int = 0  # the tenant's channels now, for its limit


@dataclass(frozen=True)
class Offer:
    session_id: int
    user_id: int
    extension: str
    agent_call_id: int  # the agent leg's CDR
    channel_id: str
    max_missed: int


def order(agents: list[states.ReadyAgent], strategy: str, rr_after: int = 0
          ) -> list[states.ReadyAgent]:
    """Agents in the order they are offered: lowest penalty first, then by strategy: longest
    idle first (and for ring all), or round robin (the next user after the one offered last,
    by user id)."""
    if strategy == "round_robin":
        return sorted(agents, key=lambda a: (a.penalty, a.user_id <= rr_after, a.user_id))
    return sorted(agents, key=lambda a: (a.penalty, a.idle_since, a.session_id))


def pick(agents: list[states.ReadyAgent], strategy: str, rr_after: int = 0) -> list[states.ReadyAgent]:
    """The candidates of one offer, in order: ring all rings every agent of the lowest penalty
    present at once; the others ring one agent (the first of `order` that can be moved)."""
    ranked = order(agents, strategy, rr_after)
    if strategy == "ring_all" and ranked:
        return [a for a in ranked if a.penalty == ranked[0].penalty]
    return ranked


def ready_agents(tenant_id: int, queue_id: int | None, user_ids: list[int] | None
                 ) -> list[states.ReadyAgent]:
    """voxcast.agents.states.ready_agents, for a queue as one prepared statement (the
    members' ready sessions whose extension is still theirs, with their penalty), ordered the
    same way."""
    if queue_id is None:
        return states.ready_agents(tenant_id, user_ids)
    rows = database.execute_sql(statements().ready, (queue_id, tenant_id, tenant_id)).fetchall()
    wanted = set(user_ids) if user_ids is not None else None
    agents = [states.ReadyAgent(session_id=sid, user_id=uid, extension=number,
                                idle_since=_dt(ended or since), penalty=penalty or 0)
              for sid, uid, since, ended, number, penalty in rows
              if wanted is None or uid in wanted]
    agents.sort(key=lambda a: (a.penalty, a.idle_since, a.session_id))
    return agents


def make_offers(requests: list[OfferRequest], usable: Callable[[str], bool]
                ) -> dict[int, list[Offer]]:
    """One dispatch round: for each request in order (the longest waiting caller first), the
    agents it rings now, each moved ready -> ringing (compare-and-set: an agent the web just
    paused is skipped) with the agent leg's CDR opened. `usable(extension)`: registered and
    on no other call (the pool's presence). A tenant at its channel limit gets no offer."""
    now = utcnow()
    sql = statements()
    taken: set[int] = set()
    tenants: dict[int, tuple[int, int]] = {}
    used: dict[int, int] = {}  # agent legs opened in this round, per tenant
    ready_cache: dict[tuple, list[states.ReadyAgent]] = {}
    out: dict[int, list[Offer]] = {}
    for req in requests:
        if req.tenant_id not in tenants:
            row = database.execute_sql(sql.tenant, (req.tenant_id,)).fetchone()
            tenants[req.tenant_id] = ((row[0], row[1] or 0)
                                      if row is not None and row[2] == "active" else (0, 0))
        limit, max_missed = tenants[req.tenant_id]
        room = limit - req.live_channels - used.get(req.tenant_id, 0)
        if room <= 0:
            continue
        cache_key = (req.tenant_id, req.queue_id,
                     tuple(req.user_ids) if req.user_ids is not None else None)
        if cache_key not in ready_cache:
            ready_cache[cache_key] = ready_agents(req.tenant_id, req.queue_id, req.user_ids)
        agents = [a for a in ready_cache[cache_key]
                  if a.session_id not in taken and usable(a.extension)]
        fresh = [a for a in agents if a.user_id not in req.exclude]
        candidates = pick(fresh or agents, req.strategy, req.rr_after)
        wanted = min(req.max_legs, room) if req.strategy == "ring_all" else 1
        offers: list[Offer] = []
        for agent in candidates:
            if len(offers) >= wanted:
                break
            taken.add(agent.session_id)
            if not states.offer_started(agent.session_id, req.customer_call_id, now=now):
                continue
            channel_id = f"{req.channel_prefix}{len(offers) + 1}"
            cursor = database.execute_sql(sql.agent_leg, (
                req.tenant_id, agent.extension, "", channel_id, now, agent.user_id))
            offers.append(Offer(agent.session_id, agent.user_id, agent.extension,
                                _inserted(cursor, sql.pg), channel_id, max_missed))
        if offers:
            out[req.key] = offers
            used[req.tenant_id] = used.get(req.tenant_id, 0) + len(offers)
    return out


def offer_lost(session_id: int) -> bool:
    """An offer withdrawn (the caller left, another agent answered first under ring all): the
    agent goes back to ready with no miss counted."""
    return states.set_state(session_id, "ready", expect=("ringing",))


def offer_missed(session_id: int, max_missed: int) -> str:
    """No answer or busy: ready again, or paused by the system after `max_missed` in a row."""
    return states.offer_unanswered(session_id, max_missed)


def answered(session_id: int, user_id: int, customer_call_id: int | None, agent_call_id: int,
             queue_call_id: int | None, offers: int, at: dt.datetime,
             wait_seconds: int = 0) -> None:
    """The agent took the call: on_call with the customer's CDR on the session, both CDRs
    carry the agent, the agent leg is answered, the QueueCall records who and how long
    (`wait_seconds`: from entering the queue, as the pool measured it)."""
    states.offer_answered(session_id, customer_call_id, now=at)
    sql = statements()
    database.execute_sql(sql.answer_calls, (user_id, agent_call_id, at, agent_call_id,
                                            customer_call_id or agent_call_id))
    if queue_call_id:
        database.execute_sql(sql.answer_queue_call, (at, user_id, agent_call_id, offers,
                                                     max(0, int(wait_seconds)), queue_call_id))


def bridge_ended(session_id: int, wrapup_seconds: int, queue_call_id: int | None,
                 at: dt.datetime) -> bool:
    """The bridged call is over: the agent to wrap-up (or ready), the QueueCall ended."""
    if queue_call_id:
        database.execute_sql(statements().end_queue_call, (at, queue_call_id))
    return states.call_ended(session_id, wrapup_seconds, now=at)


def count_offers(queue_call_id: int | None, offers: int) -> None:
    if queue_call_id:
        QueueCall.update(offers=offers).where(QueueCall.id == queue_call_id).execute()


def reset_after_restart(now: dt.datetime | None = None) -> int:
    """What an earlier run of the app left open: its calls are gone or hung up at adoption
    (no inbound or agent call is adopted). Sessions left ringing or on a call are ready
    again, so they are offered calls; QueueCalls still open are ended (abandoned when
    nobody had answered). Returns the sessions moved."""
    now = now or utcnow()
    # In a cluster only this node's: another node's callers and agents are still on its calls.
    others = Call.select(Call.id).where(Call.node != node_name(), Call.ended_at.is_null())
    mine = QueueCall.call.is_null() | QueueCall.call.not_in(others)
    (QueueCall.update(ended_at=now, outcome="abandoned")
     .where(QueueCall.ended_at.is_null(), QueueCall.answered_at.is_null(), mine).execute())
    QueueCall.update(ended_at=now).where(QueueCall.ended_at.is_null(), mine).execute()
    moved = 0
    for (sid,) in (AgentSession.select(AgentSession.id)
                   .where(AgentSession.ended_at.is_null(),
                          AgentSession.state.in_(("ringing", "on_call")),
                          AgentSession.call.is_null() | AgentSession.call.not_in(others))
                   .tuples()):
        if states.set_state(sid, "ready", expect=("ringing", "on_call")):
            moved += 1
    return moved

