"""A survivor closes what a dead node left open (writer-thread job, no asyncio): its CDRs as
the node itself would have at its restart (voxcast.cdr.records.Cdrs.close_lost), its credit
reservations, its callers' queue stays and its agents' sessions. The contacts of calls that
may have reached the far end count as dialed; only calls Asterisk's record shows never
existed are queued again, so no contact is dialed twice."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from models import Call
from models.entities import AgentSession, QueueCall, utcnow
from models.txn import atomic
from voxcast.agents import states
from voxcast.cdr.records import open_calls
from voxcast.cluster import nodes
from voxcast.runtime import channel_log

log = logging.getLogger("voxcast.cluster")


@dataclass(frozen=True)
class TakeOver:
    node: str
    calls: int = 0
    requeued: int = 0
    reservations: int = 0
    traced: bool = False
    channels: tuple[str, ...] = ()  # the closed calls' channels, which its Asterisk may hold
    ari_url: str = ""  # the dead node's ARI, as it published it


def take_over(dead: str, me: str, cdrs, billing, now: dt.datetime | None = None,
              stale_s: float = nodes.STALE_S) -> TakeOver | None:
    """Take the dead node `dead` over for `me`; None when it came back or another survivor
    has it. `cdrs` and `billing` are this node's (the admission it closes CDRs through)."""
    now = now or utcnow()
    if not nodes.begin_takeover(dead, me, now, stale_s):
        return None
    row = nodes.Node.get_by_id(dead)
    left = open_calls(dead)
    found, traced = {}, False
    path = Path(row.channel_log) if row.channel_log else None
    if left and path is not None and path.exists():
        since = min((o.started_at for o in left if o.started_at), default=now)
        found = channel_log.traces(path, [o.channel_id for o in left], since)
        traced = True
    requeued = 0
    for orphan in left:
        with atomic():
            disp = cdrs.close_lost(orphan.call_id, now, found.get(orphan.channel_id), traced)
        requeued += disp == "NOT PLACED"
    with atomic():
        reservations = billing.reconcile(node=dead)
        ids = [o.call_id for o in left]
        if ids:
            (QueueCall.update(ended_at=now, outcome="abandoned")
             .where(QueueCall.ended_at.is_null(), QueueCall.answered_at.is_null(),
                    QueueCall.call.in_(ids)).execute())
            QueueCall.update(ended_at=now).where(QueueCall.ended_at.is_null(),
                                                 QueueCall.call.in_(ids)).execute()
            for (sid,) in (AgentSession.select(AgentSession.id)
                           .where(AgentSession.ended_at.is_null(), AgentSession.call.in_(ids),
                                  AgentSession.state.in_(("ringing", "on_call"))).tuples()):
                states.set_state(sid, "ready", expect=("ringing", "on_call"))
        nodes.end_takeover(dead, me)
    done = TakeOver(dead, len(left), requeued, reservations, traced,
                    tuple(o.channel_id for o in left if o.channel_id), row.ari_url or "")
    log.warning("took over node %s: %s open calls closed (%s queued again, Asterisk's record "
                "%s), %s reservations closed", dead, done.calls, done.requeued,
                "read" if traced else "not readable: unplaced calls counted as dialed",
                done.reservations)
    return done


def open_call_count(node: str) -> int:
    return Call.select().where(Call.node == node, Call.ended_at.is_null()).count()
