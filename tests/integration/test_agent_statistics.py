"""Agent and queue statistics from real calls: sipp phones registered as the agents'
extensions, a sipp caller through a DID routed to the queue. What the state log, the
disposition form and the QueueCall rows recorded adds up in voxcast.agents.stats and
voxcast.queues.stats as a supervisor reads them."""
from __future__ import annotations

import datetime as dt

from models import Call
from models.entities import AgentDisposition, QueueCall, utcnow
from voxcast.agents import stats, wrapup
from voxcast.queues import stats as queue_stats

from .conftest import wait_for
from .test_queues import _call, _did_to, _queue, _queue_call, agents  # noqa: F401 (fixture)


def test_given_an_answered_and_a_missed_offer_then_the_statistics_add_up(
        stasis_app, settings, master, workdir, agents):  # noqa: F811
    master.agent_max_missed = 1
    master.save()
    since = utcnow() - dt.timedelta(seconds=1)
    try:
        deaf, good = agents(2)
        deaf.login()
        good.login()
        queue = _queue(master, [(deaf, 0), (good, 0)], ring_seconds=2, wrapup_seconds=1)
        did = _did_to(master, queue)
        deaf.answer(scenario="uas_no_answer.xml")
        good.answer(talk_ms=2000)
        caller = _call(settings, workdir, did)
        assert caller.wait(40) == 0, caller.diagnostics()
        qc = _queue_call(queue)
        assert qc.outcome == "answered" and qc.agent_id == good.user.id
        wait_for(lambda: good.session().state == "ready", 10, message="wrap-up over")

        # the agent records the call on the caller's CDR (the console sends either id)
        sale = AgentDisposition.create(tenant=master, name=f"Sale-{queue.id}")
        wrapup.record(master.id, good.user.id, qc.agent_call_id, sale.id, notes="took it")
        assert Call.get_by_id(qc.call_id).agent_disposition == sale.name

        until = utcnow() + dt.timedelta(seconds=1)
        report = {r.user_id: r for r in stats.agent_report(master.id, since, until)}
        g, d = report[good.user.id], report[deaf.user.id]
        assert (g.offers, g.answered, g.missed) == (1, 1, 0)
        assert 1.0 <= g.seconds["on_call"] <= 4.0  # the phone talked for 2 s
        assert g.seconds["wrapup"] > 0 and g.dispositions == {sale.name: 1}
        assert g.answer_speed is not None and g.answer_speed < 2.0
        assert (d.offers, d.answered, d.missed) == (1, 0, 1)
        assert 1.5 <= d.seconds["ringing"] <= 4.0  # rang for the queue's 2 s
        assert d.pauses and all(sec > 0 for sec in d.pauses.values())  # paused by the system
        for r in (g, d):  # the log is gapless: its states sum to the session's length so far
            logged = sum(r.seconds[s] for s in ("ready", "ringing", "on_call", "wrapup", "paused"))
            assert abs(logged - r.seconds["login"]) < 0.01

        figures = queue_stats.figures(master.id, since)[queue.id]
        assert (figures.answered, figures.abandoned, figures.waiting) == (1, 0, 0)
        assert figures.service_level == 100.0 and figures.average_wait == qc.wait_seconds
        assert QueueCall.select().where(QueueCall.queue == queue.id).count() == 1
    finally:
        master.agent_max_missed = 3
        master.save()
