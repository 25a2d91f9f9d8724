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

from models import Call, Tenant
from models.entities import AgentSession, Queue, QueueCall, QueueMember, utcnow
from voxcast.agents import states


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


def _plan(row: Queue, tenant: Tenant) -> QueuePlan:
    return QueuePlan(
        id=row.id, tenant_id=row.tenant_id, name=row.name, number=row.number,
        strategy=row.strategy, ring_seconds=max(1, row.ring_seconds or 15),
        max_wait_seconds=max(0, row.max_wait_seconds or 0), music_class=row.music_class,
        announce_every_seconds=max(0, row.announce_every_seconds or 0),
        announce_position=row.announce_position, announce_wait=row.announce_wait,
        wrapup_seconds=max(0, row.wrapup_seconds or 0), fallback=row.fallback,
        fallback_queue_id=row.fallback_queue_id, fallback_ivr_id=row.fallback_ivr_id,
        fallback_text=row.fallback_text or "", tenant_email=tenant.email or "",
        max_missed=tenant.agent_max_missed or 0)


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
    """A caller enters a queue of their tenant: its plan and a QueueCall row, in one job."""
    row = Queue.get_or_none(Queue.id == queue_id, Queue.tenant == tenant_id)
    if row is None:
        return Entry(None)
    tenant = Tenant.get_by_id(tenant_id)
    qc = QueueCall.create(tenant=tenant_id, queue=queue_id, call=call_id, caller=caller or "",
                          entered_at=now or utcnow())
    return Entry(_plan(row, tenant), qc.id, logged_in_members(tenant_id, queue_id))


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


def make_offers(requests: list[OfferRequest], usable: Callable[[str], bool]
                ) -> dict[int, list[Offer]]:
    """One dispatch round: for each request in order (the longest waiting caller first), the
    agents it rings now, each moved ready -> ringing (compare-and-set: an agent the web just
    paused is skipped) with the agent leg's CDR opened. `usable(extension)`: registered and
    on no other call (the pool's presence). A tenant at its channel limit gets no offer."""
    now = utcnow()
    taken: set[int] = set()
    tenants: dict[int, tuple[int, int]] = {}
    used: dict[int, int] = {}  # agent legs opened in this round, per tenant
    ready_cache: dict[tuple, list[states.ReadyAgent]] = {}
    out: dict[int, list[Offer]] = {}
    for req in requests:
        if req.tenant_id not in tenants:
            row = (Tenant.select(Tenant.channel_limit, Tenant.agent_max_missed, Tenant.status)
                   .where(Tenant.id == req.tenant_id).first())
            tenants[req.tenant_id] = ((row.channel_limit, row.agent_max_missed or 0)
                                      if row is not None and row.status == "active" else (0, 0))
        limit, max_missed = tenants[req.tenant_id]
        room = limit - req.live_channels - used.get(req.tenant_id, 0)
        if room <= 0:
            continue
        cache_key = (req.tenant_id, req.queue_id,
                     tuple(req.user_ids) if req.user_ids is not None else None)
        if cache_key not in ready_cache:
            ready_cache[cache_key] = states.ready_agents(req.tenant_id, req.user_ids,
                                                         queue_id=req.queue_id)
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
            call = Call.create(tenant=req.tenant_id, direction="agent", number=agent.extension,
                               did=req.caller[:64], channel_id=channel_id, started_at=now,
                               agent=agent.user_id)
            offers.append(Offer(agent.session_id, agent.user_id, agent.extension, call.id,
                                channel_id, max_missed))
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
             queue_call_id: int | None, offers: int, at: dt.datetime) -> None:
    """The agent took the call: on_call with the customer's CDR on the session, both CDRs
    carry the agent, the agent leg is answered, the QueueCall records who and how long."""
    states.offer_answered(session_id, customer_call_id, now=at)
    ids = [agent_call_id] + ([customer_call_id] if customer_call_id else [])
    Call.update(agent=user_id).where(Call.id.in_(ids)).execute()
    Call.update(answered_at=at).where(Call.id == agent_call_id, Call.answered_at.is_null()).execute()
    if queue_call_id:
        qc = QueueCall.get_or_none(QueueCall.id == queue_call_id)
        if qc is not None:
            wait = max(0, round((at - qc.entered_at).total_seconds()))
            (QueueCall.update(answered_at=at, agent=user_id, agent_call=agent_call_id,
                              offers=offers, outcome="answered", wait_seconds=wait)
             .where(QueueCall.id == queue_call_id).execute())


def bridge_ended(session_id: int, wrapup_seconds: int, queue_call_id: int | None,
                 at: dt.datetime) -> bool:
    """The bridged call is over: the agent to wrap-up (or ready), the QueueCall ended."""
    if queue_call_id:
        (QueueCall.update(ended_at=at)
         .where(QueueCall.id == queue_call_id, QueueCall.ended_at.is_null()).execute())
    return states.call_ended(session_id, wrapup_seconds, now=at)


def count_offers(queue_call_id: int | None, offers: int) -> None:
    if queue_call_id:
        QueueCall.update(offers=offers).where(QueueCall.id == queue_call_id).execute()


def reset_after_restart() -> int:
    """Sessions left ringing or on a call by an earlier run of the app (its calls are gone or
    hung up at adoption): back to ready, so they are offered calls again."""
    moved = 0
    for (sid,) in (AgentSession.select(AgentSession.id)
                   .where(AgentSession.ended_at.is_null(),
                          AgentSession.state.in_(("ringing", "on_call"))).tuples()):
        if states.set_state(sid, "ready", expect=("ringing", "on_call")):
            moved += 1
    return moved

