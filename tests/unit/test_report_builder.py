"""The report builder: definitions checked against the whitelist with a reason per part, and
reports over built rows with exact figures, local days in the viewer's zone (New York and
Kolkata, +5:30), the rollup path equal to the raw one, another tenant's rows never counted."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from models import Call, Tenant
from models.entities import AgentSession, AgentStateLog, Campaign, PauseReason, Queue, QueueCall
from tests.unit.agents_support import make_agent
from voxcast.reports import builder
from voxcast.reports.builder import BuilderError
from voxcast.reports.period import ReportPeriod, zone_of

NY = zone_of("America/New_York")
NOW = dt.datetime(2026, 12, 5, 12, 0)
_channels = itertools.count(1)


@pytest.fixture
def acme(db):
    return Tenant.create(name="Acme", slug="acme")


@pytest.fixture
def other(db):
    return Tenant.create(name="Other", slug="other")


def call(tenant, started_at, **fields):
    fields.setdefault("number", "+12025550101")
    return Call.create(tenant=tenant, channel_id=f"ch-{next(_channels)}",
                       started_at=started_at, **fields)


def refused(definition) -> dict:
    with pytest.raises(BuilderError) as info:
        builder.validate(definition)
    assert info.value.status == 422 and info.value.code == "bad-definition"
    return info.value.errors


def test_a_bad_field_is_refused_with_what_may_be_chosen():
    errors = refused({"source": "calls", "fields": ["day", "password_hash"], "group_by": ["day"]})
    assert errors["fields[1]"].startswith("unknown field 'password_hash' for calls; choose from:")
    assert "campaign" in errors["fields[1]"] and "sum:billsec" in errors["fields[1]"]


@pytest.mark.parametrize("definition,where,why", [
    ({"source": "users", "fields": ["id"]}, "source", "must be one of"),
    ({"source": "calls", "fields": []}, "fields", "choose at least one"),
    ({"source": "calls", "fields": ["number", "count"], "group_by": ["campaign"]}, "fields[0]",
     "neither grouped by nor an aggregate"),
    ({"source": "calls", "fields": ["number", "count"]}, "group_by", "aggregates need"),
    ({"source": "calls", "fields": ["count"], "group_by": ["number"]}, "group_by[0]",
     "cannot group by 'number'"),
    ({"source": "calls", "fields": ["count"], "group_by": ["day", "week"]}, "group_by",
     "one of day, week or month"),
    ({"source": "calls", "fields": ["count"], "filters": {"direction": ["sideways"]}},
     "filters.direction", "values must be among"),
    ({"source": "calls", "fields": ["count"], "filters": {"campaign_id": ["1 OR 1=1"]}},
     "filters.campaign_id", "must be a list of ids"),
    ({"source": "calls", "fields": ["count"], "filters": {"tenant_id": [2]}},
     "filters.tenant_id", "unknown filter"),
    ({"source": "calls", "fields": ["count"], "group_by": ["campaign"], "sort": ["-cost"]},
     "sort[0]", "sort by one of the report's fields"),
    ({"source": "calls", "fields": ["number"], "limit": 0}, "limit", "whole number"),
    ({"source": "calls", "fields": ["number"], "sql": "DROP TABLE call"}, "sql",
     "not a part of a definition"),
    ("{not json", "definition", "is not JSON"),
])
def test_definitions_that_cannot_run_say_why(definition, where, why):
    assert why in refused(definition)[where]


def test_calls_grouped_by_local_day_and_campaign_rollup_equals_raw(acme, other):
    spring = Campaign.create(tenant=acme, name="Spring")
    autumn = Campaign.create(tenant=acme, name="Autumn")
    # New York, November: local 2026-11-30 is 05:00 UTC 11-30 .. 05:00 UTC 12-01
    rows = [(dt.datetime(2026, 11, 30, 4, 59), spring, "ANSWERED", 10, 12, "0.0100"),  # 11-29
            (dt.datetime(2026, 11, 30, 5, 0), spring, "ANSWERED", 20, 25, "0.0200"),
            (dt.datetime(2026, 11, 30, 23, 0), spring, "NO ANSWER", 0, 30, None),
            (dt.datetime(2026, 12, 1, 4, 59), autumn, "ANSWERED", 60, 61, "0.0600"),  # 11-30
            (dt.datetime(2026, 12, 1, 5, 0), autumn, "BUSY", 0, 5, None)]              # 12-01
    for started, camp, disp, billsec, duration, cost in rows:
        call(acme, started, campaign=camp, disposition=disp, billsec=billsec,
             duration=duration, cost=Decimal(cost) if cost else None)
    call(other, dt.datetime(2026, 11, 30, 12, 0), disposition="ANSWERED", billsec=99)
    definition = {"source": "calls", "group_by": ["day", "campaign"],
                  "fields": ["day", "campaign", "count", "sum:answered", "sum:billsec",
                             "avg:duration", "sum:cost"]}
    period = ReportPeriod(dt.date(2026, 11, 29), dt.date(2026, 12, 1), NY)
    result = builder.run(acme.id, definition, period, now=NOW)
    assert [c.key for c in result.columns] == definition["fields"]
    assert result.rows == [
        ["2026-11-29", "Spring", 1, 1, 10, 12.0, Decimal("0.0100")],
        ["2026-11-30", "Autumn", 1, 1, 60, 61.0, Decimal("0.0600")],
        ["2026-11-30", "Spring", 2, 1, 20, 27.5, Decimal("0.0200")],
        ["2026-12-01", "Autumn", 1, 0, 0, 5.0, Decimal("0.0000")],
    ]
    assert result.zone == "America/New_York"
    assert result.used == "call_hour"  # campaign and day in a whole-hour zone
    raw = builder.run(acme.id, definition, period, now=NOW, rollup=False)
    assert raw.used == "raw" and raw.rows == result.rows
    by_disposition = {"source": "calls", "group_by": ["day", "disposition"],
                      "fields": ["day", "disposition", "count", "sum:billsec"]}
    hourly = builder.run(acme.id, by_disposition, period, now=NOW)
    assert hourly.used == "call_rollup"
    assert hourly.rows == builder.run(acme.id, by_disposition, period, now=NOW,
                                      rollup=False).rows
    assert hourly.rows[:2] == [["2026-11-29", "ANSWERED", 1, 10], ["2026-11-30", "ANSWERED", 2, 80]]
    # Kolkata (+5:30): 2026-11-30 local is 18:30 UTC 11-29 .. 18:30 UTC 11-30
    call(acme, dt.datetime(2026, 11, 30, 18, 20), disposition="ANSWERED")  # in, 23:50 local
    call(acme, dt.datetime(2026, 11, 30, 18, 40), disposition="ANSWERED")  # 12-01 00:10 local
    india = ReportPeriod(dt.date(2026, 11, 30), dt.date(2026, 11, 30), zone_of("Asia/Kolkata"))
    by_day = {"source": "calls", "group_by": ["day"], "fields": ["day", "count"]}
    in_quarters = builder.run(acme.id, by_day, india, now=NOW)
    assert in_quarters.used == "call_quarter" and in_quarters.rows == [["2026-11-30", 3]]
    assert builder.run(acme.id, by_day, india, now=NOW, rollup=False).rows == [["2026-11-30", 3]]
    by_day_disposition = {**by_disposition, "fields": ["day", "disposition", "count"]}
    in_india = builder.run(acme.id, by_day_disposition, india, now=NOW)
    assert in_india.used == "raw"  # hourly buckets cannot be cut at a half-hour midnight
    assert in_india.rows == [["2026-11-30", "ANSWERED", 3]]
    # without days: the whole hours from the hourly rollup, the half hours at both ends raw
    call(acme, dt.datetime(2026, 11, 29, 18, 45), disposition="BUSY", duration=7)  # 00:15 local
    call(acme, dt.datetime(2026, 11, 29, 18, 25), disposition="BUSY")  # 11-29 23:55 local
    per_disposition = {"source": "calls", "group_by": ["disposition"],
                       "fields": ["disposition", "count", "sum:billsec", "avg:duration"]}
    split = builder.run(acme.id, per_disposition, india, now=NOW)
    assert split.used == "call_rollup+raw"
    assert split.rows == [["ANSWERED", 3, 30, round(37 / 3, 2)], ["BUSY", 1, 0, 7.0]]
    assert split.rows == builder.run(acme.id, per_disposition, india, now=NOW,
                                     rollup=False).rows


def test_sort_filters_and_totals(acme):
    spring = Campaign.create(tenant=acme, name="Spring")
    for i, disp in enumerate(("ANSWERED", "ANSWERED", "BUSY", "ANSWERED")):
        call(acme, dt.datetime(2026, 11, 30, 12, i), campaign=spring if i else None,
             disposition=disp, billsec=10 * i, direction="outbound" if i < 3 else "inbound")
    period = ReportPeriod(dt.date(2026, 11, 30), dt.date(2026, 11, 30), zone_of("UTC"))
    by_disposition = builder.run(acme.id, {
        "source": "calls", "fields": ["disposition", "count", "max:billsec"],
        "group_by": ["disposition"], "sort": [{"field": "count", "desc": True}]}, period, now=NOW)
    assert by_disposition.rows == [["ANSWERED", 3, 30], ["BUSY", 1, 20]]
    totals = builder.run(acme.id, {"source": "calls", "fields": ["count", "sum:billsec"],
                                   "filters": {"direction": ["outbound"],
                                               "campaign_id": [spring.id]}}, period, now=NOW)
    assert totals.rows == [[2, 30]]
    nothing = builder.run(acme.id, {"source": "calls", "fields": ["count", "sum:billsec"],
                                    "filters": {"campaign_id": [999]}}, period, now=NOW)
    assert nothing.rows == [[0, 0]]


def test_a_plain_list_in_local_time_sorted_and_cut_at_the_limit(acme, other):
    for minute in range(5):
        call(acme, dt.datetime(2026, 11, 30, 17, minute), number=f"+1202555010{minute}",
             billsec=minute)
    call(other, dt.datetime(2026, 11, 30, 17, 0), number="+19999999999")
    period = ReportPeriod(dt.date(2026, 11, 30), dt.date(2026, 11, 30), NY)
    result = builder.run(acme.id, {"source": "calls", "fields": ["started_at", "number", "billsec"],
                                   "sort": ["-billsec"]}, period, limit=3, now=NOW)
    assert result.rows == [["2026-11-30 12:04:00", "+12025550104", 4],
                           ["2026-11-30 12:03:00", "+12025550103", 3],
                           ["2026-11-30 12:02:00", "+12025550102", 2]]
    assert result.truncated
    text = builder.to_csv(result).splitlines()
    assert text[0] == "Started,Number,Talk time" and text[1] == "2026-11-30 12:04:00,+12025550104,4"


def test_agent_state_time_by_agent_and_reason_clipped_to_the_period(acme, other):
    alice = make_agent(acme, "alice")
    lunch = PauseReason.create(tenant=acme, name="Lunch")
    s = AgentSession.create(tenant=acme, user=alice)
    for state, start, end, reason in (
            ("ready", dt.datetime(2026, 11, 30, 4, 0), dt.datetime(2026, 11, 30, 6, 0), None),
            ("paused", dt.datetime(2026, 11, 30, 6, 0), dt.datetime(2026, 11, 30, 6, 30), lunch),
            ("paused", dt.datetime(2026, 11, 30, 6, 30), dt.datetime(2026, 11, 30, 6, 40), None)):
        AgentStateLog.create(tenant=acme, session=s, user=alice, state=state, started_at=start,
                             ended_at=end, pause_reason=reason)
    bob = make_agent(other, "bob")
    AgentStateLog.create(tenant=other, session=AgentSession.create(tenant=other, user=bob),
                         user=bob, state="ready", started_at=dt.datetime(2026, 11, 30, 6, 0),
                         ended_at=dt.datetime(2026, 11, 30, 7, 0))
    period = ReportPeriod(dt.date(2026, 11, 30), dt.date(2026, 11, 30), NY)  # from 05:00 UTC
    result = builder.run(acme.id, {"source": "agent_states",
                                   "fields": ["agent", "state", "pause_reason", "sum:seconds"],
                                   "group_by": ["agent", "state", "pause_reason"]}, period, now=NOW)
    assert result.rows == [["alice", "paused", "", 600], ["alice", "paused", "Lunch", 1800],
                           ["alice", "ready", "", 3600]]


def test_queue_calls_by_queue_and_outcome(acme, other):
    sales = Queue.create(tenant=acme, name="Sales")
    for outcome, wait in (("answered", 10), ("answered", 30), ("abandoned", 50)):
        QueueCall.create(tenant=acme, queue=sales, outcome=outcome, wait_seconds=wait,
                         entered_at=dt.datetime(2026, 11, 30, 12, 0))
    QueueCall.create(tenant=other, queue=Queue.create(tenant=other, name="Sales"),
                     outcome="answered", entered_at=dt.datetime(2026, 11, 30, 12, 0))
    period = ReportPeriod(dt.date(2026, 11, 30), dt.date(2026, 11, 30), NY)
    result = builder.run(acme.id, {"source": "queue_calls",
                                   "fields": ["queue", "outcome", "count", "avg:wait_seconds"],
                                   "group_by": ["queue", "outcome"]}, period, now=NOW)
    assert result.rows == [["Sales", "abandoned", 1, 50.0], ["Sales", "answered", 2, 20.0]]
