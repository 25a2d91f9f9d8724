"""The node registry: each node's heartbeat row, who is alive, and the claim a survivor takes
on a dead node before it closes that node's calls (one conditional UPDATE, so two survivors
never take the same node over, and a node that comes back in time is never taken over)."""
from __future__ import annotations

import datetime as dt

from peewee import Case

from models.entities import Node, utcnow

STALE_S = 15.0  # a node silent this long is dead (heartbeats come every 3 s)
TAKEOVER_STALE_S = 120.0  # a take-over not finished in this time was its survivor's last act


def beat(name: str, channel_log: str = "", now: dt.datetime | None = None,
         sip_address: str = "", ari_url: str = "") -> str:
    """This node is alive; answers its state ("taking_over": a survivor is closing the calls
    it left open before it died, which this node must not touch until that is done)."""
    now = now or utcnow()
    updated = (Node.update(last_seen=now, channel_log=channel_log, sip_address=sip_address,
                           ari_url=ari_url,
                           state=Case(None, ((Node.state == "taking_over", Node.state),), "up"))
               .where(Node.name == name).execute())
    if not updated:
        Node.insert(name=name, state="up", started_at=now, last_seen=now,
                    channel_log=channel_log, sip_address=sip_address, ari_url=ari_url
                    ).on_conflict_ignore().execute()
    return Node.get_by_id(name).state


def started(name: str, channel_log: str = "", now: dt.datetime | None = None,
            sip_address: str = "", ari_url: str = "") -> str:
    """A node (re)starts: its row says so; answers its state as `beat`."""
    now = now or utcnow()
    state = beat(name, channel_log, now, sip_address, ari_url)
    Node.update(started_at=now).where(Node.name == name).execute()
    return state


def stopped(name: str) -> None:
    """A clean stop: the node is not dialing; its open calls (if any) are a survivor's once
    its heartbeat is stale, as for a crash."""
    Node.update(state="stopped").where(Node.name == name, Node.state == "up").execute()


def live(now: dt.datetime | None = None, stale_s: float = STALE_S) -> list[str]:
    """The nodes whose heartbeat is fresh and that run (for the shares of the CPS cap)."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=stale_s)
    return [n for (n,) in Node.select(Node.name)
            .where(Node.last_seen >= cutoff, Node.state != "stopped").tuples()]


def dead(me: str, now: dt.datetime | None = None, stale_s: float = STALE_S) -> list[Node]:
    """Nodes a survivor should take over: silent past `stale_s` and not taken over yet (or
    whose take-over was abandoned)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=stale_s)
    abandoned = now - dt.timedelta(seconds=TAKEOVER_STALE_S)
    return list(Node.select().where(
        Node.name != me, Node.last_seen < cutoff,
        (Node.state.in_(("up", "stopped")))
        | ((Node.state == "taking_over") & (Node.taken_over_at < abandoned))))


def begin_takeover(dead_name: str, me: str, now: dt.datetime | None = None,
                   stale_s: float = STALE_S) -> bool:
    """Claim a dead node for `me`. False: it came back, or another survivor has it."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=stale_s)
    abandoned = now - dt.timedelta(seconds=TAKEOVER_STALE_S)
    return bool(Node.update(state="taking_over", taken_over_by=me, taken_over_at=now)
                .where(Node.name == dead_name, Node.last_seen < cutoff,
                       Node.state.in_(("up", "stopped"))
                       | ((Node.state == "taking_over") & (Node.taken_over_at < abandoned)))
                .execute())


def end_takeover(dead_name: str, me: str) -> None:
    Node.update(state="down").where(Node.name == dead_name, Node.state == "taking_over",
                                    Node.taken_over_by == me).execute()


def state_of(name: str) -> str | None:
    row = Node.get_or_none(Node.name == name)
    return None if row is None else row.state


def listing(now: dt.datetime | None = None, stale_s: float = STALE_S) -> list[dict]:
    """Every node, for `voxcast nodes` and the provider's status page."""
    now = now or utcnow()
    out = []
    for n in Node.select().order_by(Node.name):
        age = (now - n.last_seen).total_seconds()
        out.append({"name": n.name, "state": n.state if age < stale_s or n.state != "up"
                    else "silent", "last_seen": n.last_seen, "started_at": n.started_at,
                    "seconds_silent": round(age, 1), "taken_over_by": n.taken_over_by,
                    "sip_address": n.sip_address})
    return out


def sip_addresses() -> list[tuple[str, str]]:
    """(name, host:port) of every node not taken over, for Kamailio's dispatcher list (its
    own health checks tell the live from the dead)."""
    return [(n, a) for n, a in Node.select(Node.name, Node.sip_address)
            .where(Node.sip_address != "", Node.state != "down").order_by(Node.name).tuples()]


def ari_urls(now: dt.datetime | None = None, stale_s: float = STALE_S) -> dict[str, str]:
    """name -> ARI URL of every live node that published one (the web's console commands)."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=stale_s)
    return dict(Node.select(Node.name, Node.ari_url)
                .where(Node.last_seen >= cutoff, Node.state == "up", Node.ari_url != "")
                .order_by(Node.name).tuples())
