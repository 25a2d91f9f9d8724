"""The pure choice of a DID's destination: open or closed by the tenant's timeslots in its
time zone, and the greeting when a destination lacks its target."""
from __future__ import annotations

import datetime as dt

import pytest

from voxcast.ivr import tree as ivr_tree
from voxcast.ivr.tree import IvrError
from voxcast.numbers.did_routes import DidRoute, Destination, Slot, destination

WEEKDAYS_9_TO_17 = (Slot("01234", "09:00", "17:00"),)


def route(**kw) -> DidRoute:
    base = dict(number="4930100", tenant_id=1, tenant_status="active", tenant_channel_limit=5,
                greeting_file="", greeting_text="Hello.", timezone="Europe/Berlin",
                slots=WEEKDAYS_9_TO_17)
    return DidRoute(**{**base, **kw})


def utc(*args) -> dt.datetime:
    return dt.datetime(*args)  # naive UTC, as utcnow() gives


def test_given_no_closed_route_then_open_destination_at_any_time():
    r = route(route="queue", queue_id=7)
    for when in (utc(2026, 12, 7, 12), utc(2026, 12, 6, 3)):  # Monday noon, Sunday night
        assert destination(r, when) == Destination("queue", 7, False, "Hello.")


def test_given_closed_route_when_inside_timeslot_in_tenant_zone_then_open():
    r = route(route="queue", queue_id=7, closed_route="user", closed_target=3)
    # Monday 08:30 UTC is 09:30 in Berlin (winter, UTC+1): open
    assert destination(r, utc(2026, 12, 7, 8, 30)) == Destination("queue", 7, False, "Hello.")


def test_given_closed_route_when_before_opening_in_tenant_zone_then_closed():
    r = route(route="queue", queue_id=7, closed_route="user", closed_target=3)
    # Monday 07:30 UTC is 08:30 in Berlin (closed), 16:30 UTC is 17:30 (closed)
    assert destination(r, utc(2026, 12, 7, 7, 30)) == Destination("user", 3, True, "Hello.")
    assert destination(r, utc(2026, 12, 7, 16, 30)).closed
    # 15:59 UTC is 16:59 Berlin: still open (end exclusive at 17:00)
    assert not destination(r, utc(2026, 12, 7, 15, 59)).closed


def test_given_weekend_then_closed_and_summer_time_shifts_the_window():
    r = route(route="ivr", ivr_id=2, closed_route="greeting", closed_text="We are closed.")
    assert destination(r, utc(2026, 12, 5, 12)) == Destination("greeting", None, True,
                                                               "We are closed.")
    # July: Berlin is UTC+2, so 07:30 UTC = 09:30 local: open; 15:30 UTC = 17:30: closed
    assert destination(r, utc(2026, 7, 6, 7, 30)) == Destination("ivr", 2, False, "Hello.")
    assert destination(r, utc(2026, 7, 6, 15, 30)).closed


def test_given_closed_greeting_without_text_then_the_greeting_text():
    r = route(route="queue", queue_id=7, closed_route="greeting")
    assert destination(r, utc(2026, 12, 6, 12)) == Destination("greeting", None, True, "Hello.")


def test_given_tenant_without_timeslots_then_always_open():
    r = route(route="campaign", campaign_id=4, closed_route="greeting", slots=())
    assert destination(r, utc(2026, 12, 6, 3)) == Destination("campaign", 4, False, "Hello.")


@pytest.mark.parametrize("kw", [dict(route="queue"), dict(route="user"), dict(route="ivr"),
                                dict(route="campaign"), dict(route="bogus", queue_id=1)])
def test_given_destination_without_target_then_greeting(kw):
    assert destination(route(**kw), utc(2026, 12, 7, 10)) == Destination("greeting", None,
                                                                        False, "Hello.")


def test_given_closed_kind_without_target_then_closed_greeting():
    r = route(route="queue", queue_id=7, closed_route="ivr", closed_target=None)
    assert destination(r, utc(2026, 12, 6, 12)) == Destination("greeting", None, True, "Hello.")


def test_ivr_transfer_to_a_queue_is_a_valid_target_and_listed():
    tree = {"start": "t", "nodes": {"t": {"type": "transfer",
                                          "target": {"kind": "queue", "value": 5}}}}
    assert ivr_tree.validate(tree) == tree
    assert ivr_tree.queue_targets(tree) == [5]
    for bad in ("5", 0, True, None):
        with pytest.raises(IvrError, match="queue"):
            ivr_tree.validate({"start": "t", "nodes": {"t": {
                "type": "transfer", "target": {"kind": "queue", "value": bad}}}})
