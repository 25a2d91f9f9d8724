"""Issue 12 item 2: the ACD never offers a call to an agent in wrap-up. Through the real
Asterisk and Stasis app with a sipp phone registered as the only member: while the agent's
after-call work runs the waiting caller is not offered to them; when the wrap-up sweeper makes
them ready, the caller is offered to them at once and they take the call."""
from __future__ import annotations

import datetime as dt
import time

from models.entities import utcnow
from voxcast.agents import states

from .conftest import wait_for
from .test_queues import _call, _did_to, _queue, _queue_call, agents  # noqa: F401 (fixture)

WRAPUP_S = 4


def test_given_the_only_member_in_wrap_up_when_a_caller_waits_then_offered_only_after_it(
        stasis_app, settings, master, workdir, agents):
    agent, = agents(1)
    session = agent.login()
    queue = _queue(master, [(agent, 0)], max_wait_seconds=20)
    did = _did_to(master, queue)
    agent.answer(talk_ms=1000)
    assert states.set_state(session.id, "wrapup", expect=("ready",),
                            wrapup_until=utcnow() + dt.timedelta(seconds=WRAPUP_S))
    start = time.monotonic()
    caller = _call(settings, workdir, did)
    while agent.session().state == "wrapup":
        assert agent.invites() == 0, "offered while in wrap-up"
        assert time.monotonic() - start < WRAPUP_S + 5, "wrap-up never ended"
        time.sleep(0.2)
    wait_for(lambda: agent.invites() == 1, 5, message="offered once ready")
    assert caller.wait(30) == 0, caller.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == agent.user.id
    assert qc.wait_seconds >= WRAPUP_S - 2  # waited for the wrap-up, not for a free line
