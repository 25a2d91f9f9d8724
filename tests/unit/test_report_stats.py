"""Agent, disposition, queue and campaign statistics over built rows, with exact figures, for
one local day in New York (UTC-5 in November): rows before the viewer's midnight belong to the
day before, a stretch across midnight is cut at it, another tenant's rows never count."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from models import Call, Tenant
from models.entities import (
    AgentDisposition, AgentSession, AgentStateLog, Campaign, CampaignContact, Contact,
    ContactGroup, PauseReason, Queue, QueueCall,
)
from tests.unit.agents_support import make_agent
from voxcast.reports import agent_stats, agent_time, campaign_stats, disposition_stats, queue_stats
from voxcast.reports.period import ReportPeriod, zone_of

ZONE = zone_of("America/New_York")
DAY = dt.date(2026, 11, 30)
PERIOD = ReportPeriod(DAY, DAY, ZONE)  # 2026-11-30 05:00 UTC .. 2026-12-01 05:00 UTC
NOW = dt.datetime(2026, 12, 2, 12, 0)
_channels = itertools.count(1)


def utc(hour: int, minute: int = 0, second: int = 0, day: int = 30) -> dt.datetime:
    month = 11 if day > 1 else 12
    return dt.datetime(2026, month, day, hour, minute, second)


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme", timezone="America/New_York")


@pytest.fixture
def other(db):
    return Tenant.create(name="Other", slug="other")


def stretch(session, state, start, end, reason=None, call=None):
    return AgentStateLog.create(tenant=session.tenant_id, session=session, user=session.user_id,
                                state=state, started_at=start, ended_at=end,
                                pause_reason=reason, call=call)


def call(tenant, **fields):
    fields.setdefault("number", "+12025550101")
    fields.setdefault("started_at", utc(12))
    return Call.create(tenant=tenant, channel_id=f"ch-{next(_channels)}", **fields)


def test_agent_statistics_clip_at_the_viewers_midnight_and_count_offers(acme, other):
    alice = make_agent(acme, "alice")
    lunch = PauseReason.create(tenant=acme, name="Lunch")
    s = AgentSession.create(tenant=acme, user=alice, started_at=utc(4))
    # 04:00-05:30 UTC ready: only the 30 minutes after local midnight (05:00 UTC) count.
    stretch(s, "ready", utc(4), utc(5, 30))
    stretch(s, "ringing", utc(5, 30), utc(5, 30, 6))          # offer 1, answered after 6 s
    stretch(s, "on_call", utc(5, 30, 6), utc(5, 40, 6))       # 600 s talk
    stretch(s, "wrapup", utc(5, 40, 6), utc(5, 41, 6))        # 60 s
    stretch(s, "ready", utc(5, 41, 6), utc(6))
    stretch(s, "ringing", utc(6), utc(6, 0, 15))              # offer 2, missed
    stretch(s, "ready", utc(6, 0, 15), utc(6, 10))
    stretch(s, "paused", utc(6, 10), utc(7, 10), reason=lunch)  # 3600 s lunch
    stretch(s, "paused", utc(7, 10), utc(7, 20))              # 600 s, no reason
    # across the next local midnight (05:00 UTC on 12-01): 30 minutes of it count
    stretch(s, "ready", utc(4, 30, day=1), utc(6, day=1))
    # another tenant's agent in the same hours
    bob = make_agent(other, "bob")
    s2 = AgentSession.create(tenant=other, user=bob)
    stretch(s2, "ready", utc(5), utc(9))

    [row] = agent_stats.report(acme.id, PERIOD, now=NOW)
    assert row.username == "alice"
    assert row.ready == 1800 + (1140 - 6) + 585 + 1800
    assert (row.ringing, row.talk, row.wrapup, row.paused) == (21, 600, 60, 4200)
    assert row.login == row.ready + 21 + 600 + 60 + 4200
    assert row.pauses == {"Lunch": 3600, "": 600}
    assert (row.offered, row.answered, row.missed) == (2, 1, 1)
    assert row.asa == 6 and row.aht == 660
    times = agent_time.totals(acme.id, PERIOD, now=NOW)
    assert set(times) == {alice.id} and times[alice.id].pause_by_reason == {lunch.id: 3600, 0: 600}
    text = agent_stats.to_csv([row])
    assert text.splitlines()[1].startswith("alice,,")
    assert "paused:Lunch" in text.splitlines()[0]


def test_an_open_stretch_runs_to_now(acme):
    alice = make_agent(acme, "alice")
    s = AgentSession.create(tenant=acme, user=alice)
    stretch(s, "ready", utc(12), None)
    [row] = agent_stats.report(acme.id, PERIOD, now=utc(12, 10))
    assert row.ready == 600 and row.login == 600


def test_disposition_statistics_per_agent_and_campaign_with_break_time(acme, other):
    alice, carol = make_agent(acme, "alice"), make_agent(acme, "carol")
    for pos, name in enumerate(("Sale", "No interest", "Call back")):
        AgentDisposition.create(tenant=acme, name=name, position=pos)
    spring = Campaign.create(tenant=acme, name="Spring", type="voice_agent")
    coffee = PauseReason.create(tenant=acme, name="Coffee")
    for who, camp, disp, start in ((alice, spring, "Sale", utc(12)),
                                   (alice, spring, "Sale", utc(13)),
                                   (alice, spring, "No interest", utc(14)),
                                   (alice, None, "Call back", utc(15)),
                                   (carol, spring, "Sale", utc(16)),
                                   (alice, spring, "Sale", utc(4, 59)),   # the day before
                                   (carol, spring, "", utc(17))):         # no disposition
        call(acme, agent=who, campaign=camp, agent_disposition=disp, started_at=start,
             direction="outbound" if camp else "inbound")
    # the agent leg of a queue call: not counted twice
    caller = call(acme, agent=alice, agent_disposition="Sale", direction="inbound")
    leg = call(acme, agent=alice, agent_disposition="Sale", direction="outbound")
    QueueCall.create(tenant=acme, call=caller, agent=alice, agent_call=leg, outcome="answered",
                     entered_at=utc(12))
    call(other, agent=make_agent(other, "bob"), agent_disposition="Sale")
    s = AgentSession.create(tenant=acme, user=carol)
    stretch(s, "paused", utc(10), utc(10, 15), reason=coffee)

    rep = disposition_stats.report(acme.id, PERIOD, now=NOW)
    assert rep.dispositions == ["Sale", "No interest", "Call back"]
    got = {(r.username, r.campaign): r.counts for r in rep.rows}
    assert got == {("alice", "Spring"): {"Sale": 2, "No interest": 1},
                   ("alice", ""): {"Call back": 1, "Sale": 1},
                   ("carol", "Spring"): {"Sale": 1}}
    assert rep.totals() == {"Sale": 4, "No interest": 1, "Call back": 1}
    [b] = rep.breaks
    assert (b.username, b.paused, b.by_reason) == ("carol", 900, {"Coffee": 900})
    lines = disposition_stats.to_csv(rep).splitlines()
    assert lines[0] == "username,campaign,Sale,No interest,Call back,total,paused_s,paused:Coffee"
    assert "carol,*breaks*,,,,,900,900" in lines


def test_queue_statistics_offered_abandoned_buckets_service_level(acme, other):
    sales = Queue.create(tenant=acme, name="Sales")
    Queue.create(tenant=acme, name="Empty")
    rows = [("answered", 5), ("answered", 20), ("answered", 21), ("answered", 40),
            ("abandoned", 3), ("abandoned", 10), ("abandoned", 45), ("abandoned", 61),
            ("timeout", 300), ("no_agents", 0), ("transferred", 12), ("", 0)]
    for outcome, wait in rows:
        QueueCall.create(tenant=acme, queue=sales, outcome=outcome, wait_seconds=wait,
                         entered_at=utc(12))
    QueueCall.create(tenant=acme, queue=sales, outcome="answered", wait_seconds=1,
                     entered_at=utc(4, 59))  # the day before, locally
    other_q = Queue.create(tenant=other, name="Sales")
    QueueCall.create(tenant=other, queue=other_q, outcome="abandoned", entered_at=utc(12))

    empty, row = queue_stats.report(acme.id, PERIOD)
    assert empty.name == "Empty" and empty.offered == 0 and empty.service_level is None
    assert (row.offered, row.answered, row.abandoned, row.timeout, row.no_agents,
            row.transferred, row.waiting) == (12, 4, 4, 1, 1, 1, 1)
    assert row.abandoned_after == {"lt10": 1, "10_30": 1, "30_60": 1, "gt60": 1}
    assert row.answered_in_target == 2
    assert row.service_level == 100.0 * 2 / 10
    assert row.average_wait == (5 + 20 + 21 + 40) / 4
    assert row.longest_wait == 300 and row.average_abandon_wait == (3 + 10 + 45 + 61) / 4
    assert queue_stats.report(acme.id, PERIOD, target=30)[1].answered_in_target == 3
    assert queue_stats.to_csv([row]).splitlines()[1] == (
        "Sales,20,12,4,4,1,1,1,1,1,1,1,1,2,20.0,40.0,21.5,29.8,300")


def test_queue_statistics_each_queue_against_its_own_target_unless_one_is_given(acme):
    """Two queues with the same waits and different targets (10 s and 30 s): each is measured
    against its own; ?target= measures both against that one."""
    fast = Queue.create(tenant=acme, name="Fast", service_level_seconds=10)
    slow = Queue.create(tenant=acme, name="Slow", service_level_seconds=30)
    for queue in (fast, slow):
        for outcome, wait in [("answered", 5), ("answered", 10), ("answered", 25),
                              ("answered", 40), ("abandoned", 8)]:
            QueueCall.create(tenant=acme, queue=queue, outcome=outcome, wait_seconds=wait,
                             entered_at=utc(12))
    f, s = queue_stats.report(acme.id, PERIOD)
    assert (f.name, f.target, f.answered_in_target, f.service_level) == ("Fast", 10, 2, 40.0)
    assert (s.name, s.target, s.answered_in_target, s.service_level) == ("Slow", 30, 3, 60.0)
    assert f.as_dict()["target"] == 10 and s.as_dict()["target"] == 30
    lines = queue_stats.to_csv([f, s]).splitlines()
    assert lines[0].startswith("queue,target_s,offered,")
    assert lines[1].startswith("Fast,10,5,4,1,") and lines[2].startswith("Slow,30,5,4,1,")
    f, s = queue_stats.report(acme.id, PERIOD, target=25)
    assert (f.target, f.answered_in_target, s.target, s.answered_in_target) == (25, 3, 25, 3)


def test_campaign_statistics_attempts_reached_abandon_rate_outcomes_cost(acme, other):
    group = ContactGroup.create(tenant=acme, name="G")
    people = [Contact.create(tenant=acme, group=group, phone=f"+1202555010{i}") for i in range(4)]
    press = Campaign.create(tenant=acme, name="Press", type="voice_interactive", group=group)
    agents = Campaign.create(tenant=acme, name="Agents", type="voice_agent", group=group)
    entries = [CampaignContact.create(tenant=acme, campaign=press, contact=p, phone=p.phone)
               for p in people]
    entries[0].result = "pressed1"
    entries[0].save()
    entries[1].result = "opted_out"
    entries[1].save()
    for who, disp, cost in ((0, "ANSWERED", "0.0120"), (0, "ANSWERED", "0.0100"),
                            (1, "ANSWERED", "0.0100"), (2, "BUSY", None),
                            (3, "MACHINE", "0.0050"), (3, "NOT PLACED", None)):
        call(acme, campaign=press, contact=people[who], entry=entries[who], disposition=disp,
             billsec=30 if disp == "ANSWERED" else 0,
             cost=Decimal(cost) if cost else None)
    call(acme, campaign=press, contact=people[2], disposition="NO ANSWER",
         started_at=utc(4))  # the day before locally
    for outcome in ("answered", "answered", "answered", "abandoned"):
        qcall = call(acme, campaign=agents, disposition="ANSWERED")
        QueueCall.create(tenant=acme, campaign=agents, call=qcall, outcome=outcome,
                         entered_at=utc(12))
    call(other, campaign=Campaign.create(tenant=other, name="X"), disposition="ANSWERED")

    agent_row, press_row = campaign_stats.report(acme.id, PERIOD)
    assert (press_row.attempts, press_row.reached, press_row.answered, press_row.machine,
            press_row.busy, press_row.no_answer) == (5, 2, 3, 1, 1, 0)
    assert press_row.cost == Decimal("0.0370") and press_row.billsec == 90
    assert press_row.outcomes["pressed1"] == 1 and press_row.outcomes["opted_out"] == 1
    assert press_row.answer_rate == 60.0
    assert (agent_row.agent_calls, agent_row.connected, agent_row.abandoned) == (4, 3, 1)
    assert agent_row.abandon_rate == 25.0
    assert campaign_stats.report(other.id, PERIOD)[0].name == "X"
