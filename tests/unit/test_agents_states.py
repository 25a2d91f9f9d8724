"""Agent sessions and states on the real SQLite database: login rules, compare-and-set moves
(a move that loses), offers, the auto-pause after N missed offers, wrap-up and its sweeper,
and that every move writes the state log."""
from __future__ import annotations

import datetime as dt
import threading

import pytest

from models import Tenant
from models.entities import AgentSession, AgentStateLog, PauseReason
from voxcast.agents import errors, sessions, states
from voxcast.accounts import users as user_service
from voxcast.tenants import services as tenant_service

from .agents_support import extension_number, make_agent

T0 = dt.datetime(2026, 1, 5, 9, 0, 0)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme")


@pytest.fixture
def alice(acme):
    return make_agent(acme, "alice")


def state(session_id: int) -> str:
    return AgentSession.get_by_id(session_id).state


def log_states(session_id: int) -> list[tuple[str, bool]]:
    return [(r.state, r.ended_at is None) for r in
            AgentStateLog.select().where(AgentStateLog.session == session_id)
            .order_by(AgentStateLog.id)]


def test_given_an_agent_with_an_extension_when_logging_in_then_ready_with_an_open_log_row(acme, alice):
    s = sessions.login(acme.id, alice.id, now=T0)
    assert s.state == "ready" and s.extension.number == extension_number(alice)
    assert sessions.current(alice.id).id == s.id
    assert log_states(s.id) == [("ready", True)]


@pytest.mark.parametrize("why", ["no_extension", "not_agent", "disabled", "suspended",
                                 "no_feature", "other_tenant"])
def test_given_someone_who_may_not_take_calls_when_logging_in_then_refused(acme, why):
    user = make_agent(acme, "bob", extension=why != "no_extension",
                      role="user" if why == "not_agent" else "agent")
    tenant_id = acme.id
    if why == "disabled":
        user.active = False
        user.save()
    elif why == "suspended":
        Tenant.update(status="suspended").where(Tenant.id == acme.id).execute()
    elif why == "no_feature":
        Tenant.update(features="voice_message").where(Tenant.id == acme.id).execute()
    elif why == "other_tenant":
        tenant_id = Tenant.create(name="Other", slug="other").id
    with pytest.raises(errors.AgentError) as exc:
        sessions.login(tenant_id, user.id)
    assert exc.value.status in (403, 409)
    assert sessions.current(user.id) is None


def test_given_a_live_session_when_logging_in_again_then_the_old_one_is_replaced(acme, alice):
    first = sessions.login(acme.id, alice.id, now=at(0))
    second = sessions.login(acme.id, alice.id, via="phone", now=at(60))
    old = AgentSession.get_by_id(first.id)
    assert old.ended_at == at(60) and old.end_reason == "replaced" and old.state == "logged_out"
    assert sessions.current(alice.id).id == second.id
    # no row of the user is left open but the new session's ready row
    open_rows = AgentStateLog.select().where(AgentStateLog.user == alice.id,
                                             AgentStateLog.ended_at.is_null())
    assert [(r.session_id, r.state) for r in open_rows] == [(second.id, "ready")]


def test_given_a_pin_when_logging_in_by_phone_then_right_pin_only_and_guessing_is_throttled(acme, alice):
    number = extension_number(alice)
    with pytest.raises(errors.InvalidPin):
        sessions.login_by_pin(number, "0000")
    with pytest.raises(errors.InvalidPin):
        sessions.login_by_pin(number, "")
    s = sessions.login_by_pin(number, "4321")
    assert s.via == "phone" and s.user_id == alice.id
    for _ in range(4):
        with pytest.raises(errors.InvalidPin):
            sessions.login_by_pin(number, "1111")
    with pytest.raises(errors.PinThrottled):  # the fifth failure locks
        sessions.login_by_pin(number, "1111")
    with pytest.raises(errors.PinThrottled):  # even the right PIN, for now
        sessions.login_by_pin(number, "4321")


def test_given_an_agent_without_a_pin_when_an_empty_pin_is_keyed_then_refused(acme):
    nopin = make_agent(acme, "nopin", pin="")
    with pytest.raises(errors.InvalidPin):
        sessions.login_by_pin(extension_number(nopin), "")
    with pytest.raises(errors.NotAnAgent):
        sessions.login_by_pin("99999", "4321")


def test_can_move_table():
    assert states.can_move("ready", "paused") and states.can_move("paused", "ready")
    assert states.can_move("paused", "paused")  # another reason
    assert not states.can_move("on_call", "paused")
    assert not states.can_move("logged_out", "ready")
    assert not states.can_move("ringing", "wrapup")


def test_given_a_paused_agent_when_the_acd_offers_then_the_cas_loses(acme, alice):
    s = sessions.login(acme.id, alice.id, now=at(0))
    assert states.set_state(s.id, "paused", now=at(5))
    assert not states.offer_started(s.id, None, now=at(6))
    assert state(s.id) == "paused"
    assert not states.set_state(s.id, "wrapup", expect=("on_call",))  # not on a call
    assert states.set_state(s.id, "ready", now=at(7))
    assert states.offer_started(s.id, None, now=at(8))
    assert not states.set_state(s.id, "paused", expect=("ready",), now=at(9))  # web came second
    assert state(s.id) == "ringing"
    assert AgentSession.get_by_id(s.id).version == 3  # the three moves that won


def test_given_two_threads_racing_for_a_ready_agent_then_exactly_one_wins(acme, alice):
    s = sessions.login(acme.id, alice.id)
    barrier = threading.Barrier(8)
    results = []

    def offer():
        barrier.wait()
        results.append(states.offer_started(s.id, None))

    threads = [threading.Thread(target=offer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert [st for st, _open in log_states(s.id)] == ["ready", "ringing"]


def test_given_a_pause_reason_of_another_tenant_when_pausing_then_refused(acme, alice):
    other = Tenant.create(name="Other", slug="other")
    foreign = PauseReason.create(tenant=other, name="Lunch")
    own = PauseReason.create(tenant=acme, name="Lunch")
    s = sessions.login(acme.id, alice.id)
    with pytest.raises(errors.AgentInputError):
        states.set_state(s.id, "paused", pause_reason_id=foreign.id)
    assert state(s.id) == "ready"
    assert states.set_state(s.id, "paused", pause_reason_id=own.id)
    assert AgentSession.get_by_id(s.id).pause_reason_id == own.id
    log = AgentStateLog.select().where(AgentStateLog.session == s.id).order_by(
        AgentStateLog.id.desc()).first()
    assert log.pause_reason_id == own.id


def test_given_an_offer_when_answered_and_ended_then_wrapup_until_the_sweeper_readies(acme, alice):
    s = sessions.login(acme.id, alice.id, now=at(0))
    assert states.offer_started(s.id, None, now=at(10))
    assert states.offer_answered(s.id, None, now=at(12))
    assert states.call_ended(s.id, 30, now=at(100))
    row = AgentSession.get_by_id(s.id)
    assert row.state == "wrapup" and row.wrapup_until == at(130)
    assert row.last_call_ended_at == at(100)
    assert states.finish_wrapups(now=at(129)) == []
    assert states.finish_wrapups(now=at(130)) == [s.id]
    assert state(s.id) == "ready"
    assert [st for st, _ in log_states(s.id)] == ["ready", "ringing", "on_call", "wrapup", "ready"]


def test_given_no_wrapup_time_when_the_call_ends_then_ready_at_once(acme, alice):
    s = sessions.login(acme.id, alice.id, now=at(0))
    states.offer_started(s.id, None, now=at(1))
    states.offer_answered(s.id, None, now=at(2))
    assert states.call_ended(s.id, 0, now=at(3))
    assert state(s.id) == "ready"
    assert not states.call_ended(s.id, 0, now=at(4))  # not on a call any more


def test_given_n_missed_offers_in_a_row_then_the_system_pauses_the_agent(acme, alice):
    s = sessions.login(acme.id, alice.id, now=at(0))
    for n in range(2):
        assert states.offer_started(s.id, None, now=at(10 * n + 1))
        assert states.offer_unanswered(s.id, 3, now=at(10 * n + 5)) == "ready"
    assert AgentSession.get_by_id(s.id).missed_in_row == 2
    assert states.offer_started(s.id, None, now=at(30))
    assert states.offer_unanswered(s.id, 3, now=at(35)) == "paused"
    row = AgentSession.get_by_id(s.id)
    reason = PauseReason.get_by_id(row.pause_reason_id)
    assert reason.system and reason.name == "No answer" and reason.tenant_id == acme.id
    assert row.missed_in_row == 0
    # the same system reason is used next time, not a second one
    assert states.system_reason(acme.id).id == reason.id


def test_given_an_answered_offer_then_the_run_of_misses_starts_again(acme, alice):
    s = sessions.login(acme.id, alice.id)
    for _ in range(2):
        states.offer_started(s.id, None)
        states.offer_unanswered(s.id, 3)
    states.offer_started(s.id, None)
    states.offer_answered(s.id, None)
    assert AgentSession.get_by_id(s.id).missed_in_row == 0
    states.call_ended(s.id, 0)
    states.offer_started(s.id, None)
    assert states.offer_unanswered(s.id, 3) == "ready"
    assert states.offer_unanswered(s.id, 3) == "ready"  # not ringing: nothing happens twice
    assert AgentSession.get_by_id(s.id).missed_in_row == 1


def test_given_max_missed_zero_then_never_auto_paused(acme, alice):
    s = sessions.login(acme.id, alice.id)
    for _ in range(5):
        states.offer_started(s.id, None)
        assert states.offer_unanswered(s.id, 0) == "ready"


def test_ready_agents_longest_idle_first_with_queue_penalties(acme):
    from models.entities import Queue, QueueMember
    a, b, c = (make_agent(acme, n) for n in ("a1", "b1", "c1"))
    sa = sessions.login(acme.id, a.id, now=at(0))
    sb = sessions.login(acme.id, b.id, now=at(10))
    sc = sessions.login(acme.id, c.id, now=at(20))
    # a took a call that ended late: now the most recently busy
    states.offer_started(sa.id, None, now=at(30))
    states.offer_answered(sa.id, None, now=at(31))
    states.call_ended(sa.id, 0, now=at(40))
    assert [r.user_id for r in states.ready_agents(acme.id)] == [b.id, c.id, a.id]
    assert [r.user_id for r in states.ready_agents(acme.id, user_ids=[a.id, c.id])] == [c.id, a.id]
    assert states.ready_agents(acme.id, user_ids=[]) == []
    states.set_state(sb.id, "paused")
    assert [r.user_id for r in states.ready_agents(acme.id)] == [c.id, a.id]
    q = Queue.create(tenant=acme, name="Sales")
    QueueMember.create(tenant=acme, queue=q, user=a, penalty=0)
    QueueMember.create(tenant=acme, queue=q, user=c, penalty=5)
    ready = states.ready_agents(acme.id, queue_id=q.id)
    assert [(r.user_id, r.penalty) for r in ready] == [(a.id, 0), (c.id, 5)]
    assert ready[0].extension == extension_number(a) and ready[0].session_id == sa.id
    other = Tenant.create(name="Other", slug="other")
    assert states.ready_agents(other.id) == []
    assert states.ready_agents(other.id, queue_id=q.id) == []


def test_given_a_live_session_when_logging_out_then_ended_and_a_logged_out_row(acme, alice):
    s = sessions.login(acme.id, alice.id, now=at(0))
    assert sessions.logout(s.id, now=at(50))
    assert not sessions.logout(s.id)
    row = AgentSession.get_by_id(s.id)
    assert row.end_reason == "logout" and row.ended_at == at(50)
    assert log_states(s.id) == [("ready", False), ("logged_out", True)]
    assert not states.set_state(s.id, "ready")  # an ended session never moves again
    assert sessions.current(alice.id) is None


def test_given_a_suspended_tenant_then_its_agent_sessions_end(acme, alice):
    bob = make_agent(acme, "bob")
    other = Tenant.create(name="Other", slug="other")
    carol = make_agent(other, "carol")
    for tenant, user in ((acme, alice), (acme, bob), (other, carol)):
        sessions.login(tenant.id, user.id)
    tenant_service.suspend(acme)
    assert sessions.current(alice.id) is None and sessions.current(bob.id) is None
    assert AgentSession.get(AgentSession.user == alice.id).end_reason == "tenant_suspended"
    assert sessions.current(carol.id) is not None


def test_given_a_disabled_or_demoted_agent_then_the_session_ends(acme, alice):
    admin = make_agent(acme, "boss", role="tenant", extension=False)
    bob = make_agent(acme, "bob")
    sessions.login(acme.id, alice.id)
    sessions.login(acme.id, bob.id)
    user_service.set_active(alice, False, actor=admin)
    assert sessions.current(alice.id) is None
    assert AgentSession.get(AgentSession.user == alice.id).end_reason == "user_disabled"
    user_service.update_user(bob, role="user", actor=admin)
    assert AgentSession.get(AgentSession.user == bob.id).end_reason == "role_changed"


def test_given_the_extension_was_handed_to_someone_else_then_no_offer_rings_it(acme, alice):
    from models import Extension
    s = sessions.login(acme.id, alice.id)
    bob = make_agent(acme, "bob", extension=False)
    Extension.update(user=bob.id).where(Extension.user == alice.id).execute()
    assert states.ready_agents(acme.id) == []
    assert AgentSession.get_by_id(s.id).state == "ready"


def test_given_the_extension_is_reassigned_through_the_service_then_the_session_ends(acme, alice):
    from models import Extension
    from voxcast.numbers import routing
    s = sessions.login(acme.id, alice.id)
    ext = Extension.get(Extension.user == alice.id)
    routing.assign_extension(ext, alice.id)  # the same holder: nothing ends
    assert sessions.current(alice.id).id == s.id
    bob = make_agent(acme, "bob", extension=False)
    routing.assign_extension(ext, bob.id)
    assert sessions.current(alice.id) is None
    assert AgentSession.get_by_id(s.id).end_reason == "extension_removed"


def test_given_two_live_sessions_of_one_user_then_only_the_newest_is_offered(acme, alice):
    from models import Extension
    first = sessions.login(acme.id, alice.id)
    ext = Extension.get(Extension.user == alice.id)
    # what two racing logins could leave behind
    second = AgentSession.create(tenant=acme, user=alice, extension=ext, state="ready")
    assert [a.session_id for a in states.ready_agents(acme.id)] == [second.id]
    assert first.id < second.id
