"""Issue 12 item 3: an IVR transfer node that targets a queue puts the caller through to a
logged-in agent (not only to the queue's fallback): real Asterisk and Stasis app, a sipp caller
on the DID, a sipp phone registered as the agent's extension."""
from __future__ import annotations

import json

from models import Call, Did
from models.entities import Ivr

from .conftest import wait_for
from .test_queues import _call, _queue, _queue_call, _seq, agents  # noqa: F401 (fixture)


def test_given_ivr_transfer_to_a_queue_when_an_agent_is_ready_then_the_agent_takes_the_call(
        stasis_app, settings, master, workdir, agents):
    agent, = agents(1)
    agent.login()
    queue = _queue(master, [(agent, 0)], max_wait_seconds=20)
    tree = {"start": "hello", "nodes": {
        "hello": {"type": "say", "text": "Putting you through.", "next": "q"},
        "q": {"type": "transfer", "target": {"kind": "queue", "value": queue.id}}}}
    ivr = Ivr.create(tenant=master, name=f"front-{queue.id}", tree=json.dumps(tree))
    number = f"1555889{next(_seq):04d}"
    Did.create(number=number, tenant=master, route="ivr", ivr=ivr)
    agent.answer(talk_ms=1500)
    caller = _call(settings, workdir, number)
    assert caller.wait(40) == 0, caller.diagnostics()  # the agent hung up: so did we
    assert agent.phone.wait(10) == 0, agent.phone.diagnostics()
    qc = _queue_call(queue)
    assert qc.outcome == "answered" and qc.agent_id == agent.user.id and qc.offers == 1
    customer = wait_for(lambda: Call.get_or_none(Call.id == qc.call_id,
                                                 Call.ended_at.is_null(False)), 10,
                        message="caller CDR closed")
    assert customer.did == number and customer.tenant_id == master.id
    assert customer.agent_id == agent.user.id
    leg = Call.get_by_id(qc.agent_call_id)
    assert leg.direction == "agent" and leg.tenant_id == master.id and leg.answered_at
