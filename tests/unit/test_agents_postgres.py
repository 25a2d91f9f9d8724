"""The agent state moves on PostgreSQL too (their SQL is prepared text with RETURNING): a full
call's moves with the state log, threads racing for one ready agent (exactly one wins), the
sweeper, stats. In its own database, voxcast_agents_test; skipped only when the server cannot
be started here."""
from __future__ import annotations

import datetime as dt
import threading


import models
from models import Tenant
from models.entities import AgentSession, AgentStateLog
from tests.pg_support import pg_fixtures
from voxcast.agents import sessions, states, stats

from .agents_support import make_agent

PG_DB = "voxcast_agents_test"
T0 = dt.datetime(2026, 1, 5, 9, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


pg_url, pg = pg_fixtures(PG_DB, "pg")


def test_given_postgresql_then_a_call_moves_through_every_state_with_its_log(pg):
    acme = Tenant.create(name="Acme", slug="acme")
    alice = make_agent(acme, "alice")
    s = sessions.login(acme.id, alice.id, now=at(0))
    assert not states.set_state(s.id, "wrapup", expect=("on_call",), now=at(1))
    assert states.offer_started(s.id, None, now=at(10))
    assert states.offer_unanswered(s.id, 1, now=at(20)) == "paused"
    assert AgentSession.get_by_id(s.id).pause_reason_id == states.system_reason(acme.id).id
    assert states.set_state(s.id, "ready", now=at(30))
    assert states.offer_started(s.id, None, now=at(40))
    assert states.offer_answered(s.id, None, now=at(45))
    assert states.call_ended(s.id, 15, now=at(105))
    assert states.finish_wrapups(now=at(119)) == []
    assert states.finish_wrapups(now=at(120)) == [s.id]
    assert sessions.logout(s.id, now=at(200))
    assert [r.state for r in AgentStateLog.select().where(AgentStateLog.session == s.id)
            .order_by(AgentStateLog.id)] == [
        "ready", "ringing", "paused", "ready", "ringing", "on_call", "wrapup", "ready",
        "logged_out"]
    got = stats.time_in_states(acme.id, alice.id, at(0), at(200), now=at(300))
    assert (got["login"], got["on_call"], got["wrapup"], got["paused"]) == (200, 60, 15, 10)


def test_given_postgresql_and_threads_racing_for_one_agent_then_exactly_one_wins(pg):
    acme = Tenant.create(name="Acme", slug="acme")
    alice = make_agent(acme, "alice")
    s = sessions.login(acme.id, alice.id)
    barrier = threading.Barrier(8)
    results = []

    def offer():
        barrier.wait()
        try:
            results.append(states.offer_started(s.id, None))
        finally:
            models.database.close()

    threads = [threading.Thread(target=offer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert AgentSession.get_by_id(s.id).version == 1
    assert AgentStateLog.select().where(AgentStateLog.session == s.id,
                                        AgentStateLog.ended_at.is_null()).count() == 1
