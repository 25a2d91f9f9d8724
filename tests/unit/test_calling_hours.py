"""Calling windows (voxcast.campaigns.calling_hours), pacing and retry decisions: pure functions."""
from __future__ import annotations

import datetime as dt

import pytest

from voxcast.dialing.pacing import TokenBucket, free_slots
from voxcast.dialing.retry import RetryPolicy, decide
from voxcast.campaigns import calling_hours as ch
from voxcast.tenants.timeslots import TimeslotError

WEEKDAYS_9_TO_17 = [ch.Window("01234", "09:00", "17:00")]


def utc(*args):
    return dt.datetime(*args)


def test_open_in_the_tenant_zone_not_in_utc():
    # Monday 2025-03-03 14:30 UTC is 09:30 in New York (EST, UTC-5)
    assert ch.is_open([WEEKDAYS_9_TO_17], "America/New_York", utc(2025, 3, 3, 14, 30))
    assert not ch.is_open([WEEKDAYS_9_TO_17], "America/New_York", utc(2025, 3, 3, 13, 30))


def test_every_rule_set_must_be_open_and_empty_sets_do_not_restrict():
    tenant = [ch.Window("0123456", "08:00", "20:00")]
    campaign = [ch.Window("0123456", "12:00", "13:00")]
    assert ch.is_open([tenant, campaign], "UTC", utc(2025, 3, 3, 12, 30))
    assert not ch.is_open([tenant, campaign], "UTC", utc(2025, 3, 3, 10, 0))
    assert ch.is_open([[], []], "UTC", utc(2025, 3, 3, 3, 0))


def test_next_open_is_the_next_start_of_the_intersection():
    tenant = [ch.Window("0123456", "08:00", "20:00")]
    campaign = [ch.Window("0123456", "12:00", "13:00")]
    assert ch.next_open([tenant, campaign], "UTC", utc(2025, 3, 3, 10, 0)) == utc(2025, 3, 3, 12, 0)
    # after today's window: tomorrow's
    assert ch.next_open([tenant, campaign], "UTC", utc(2025, 3, 3, 13, 0)) == utc(2025, 3, 4, 12, 0)


def test_next_open_skips_the_weekend():
    # Friday 2025-03-07 18:00 UTC -> Monday 09:00 UTC
    assert ch.next_open([WEEKDAYS_9_TO_17], "UTC", utc(2025, 3, 7, 18, 0)) == utc(2025, 3, 10, 9, 0)


def test_dst_change_moves_the_window_in_utc():
    # New York: EST (UTC-5) before 2025-03-09, EDT (UTC-4) after
    before = ch.next_open([WEEKDAYS_9_TO_17], "America/New_York", utc(2025, 3, 7, 22, 0))
    after = ch.next_open([WEEKDAYS_9_TO_17], "America/New_York", utc(2025, 3, 10, 22, 0))
    assert before == utc(2025, 3, 10, 13, 0)  # Monday 09:00 EDT
    assert after == utc(2025, 3, 11, 13, 0)
    friday = ch.next_open([WEEKDAYS_9_TO_17], "America/New_York", utc(2025, 3, 6, 22, 0))
    assert friday == utc(2025, 3, 7, 14, 0)  # Friday 09:00 EST


def test_window_starting_in_the_spring_forward_gap_opens_after_it():
    rules = [[ch.Window("6", "02:30", "04:00")]]  # Sunday 2025-03-09, 02:30 does not exist
    when = ch.next_open(rules, "America/New_York", utc(2025, 3, 9, 5, 0))
    assert when is not None and ch.is_open(rules, "America/New_York", when)
    assert when <= utc(2025, 3, 9, 8, 0)  # before 04:00 EDT


def test_never_open_gives_none():
    assert ch.next_open([[ch.Window("0", "09:00", "10:00")], [ch.Window("1", "09:00", "10:00")]],
                        "UTC", utc(2025, 3, 3, 11, 0)) is None


def test_contact_zone_from_number_only_when_single():
    assert ch.number_timezone("+33142685300") == "Europe/Paris"
    assert ch.number_timezone("+12125550100") == "America/New_York"  # 212: New York only
    assert ch.number_timezone("not a number") is None
    # a contact in Paris at 20:30 local is outside 09-17 though the tenant (New York) is open
    now = utc(2025, 3, 3, 19, 30)
    assert ch.is_open([WEEKDAYS_9_TO_17], "America/New_York", now)
    assert not ch.contact_is_open([WEEKDAYS_9_TO_17], "Europe/Paris", now)
    assert ch.contact_is_open([WEEKDAYS_9_TO_17], None, now)


def test_window_text_round_trip_and_errors():
    windows = ch.parse_text("Mon-Fri 09:00-17:00, Sat 10:00-13:00")
    assert windows == [ch.Window("01234", "09:00", "17:00"), ch.Window("5", "10:00", "13:00")]
    assert ch.parse_text(ch.to_text(windows)) == windows
    assert ch.windows_from_json(ch.windows_to_json(windows)) == windows
    assert ch.parse_text("Sat-Mon 10:00-12:00") == [ch.Window("056", "10:00", "12:00")]
    assert ch.parse_text("") == [] and ch.windows_from_json("") == []
    for bad in ("Mon 17:00-09:00", "Funday 09:00-10:00", "Mon 9-5"):
        with pytest.raises(TimeslotError):
            ch.parse_text(bad)


def test_free_slots_smallest_headroom_wins():
    assert free_slots(5, 1, 3, 2, 100, 50) == 1  # tenant (inbound included) is the limit
    assert free_slots(5, 0, 10, 0, 4, 4) == 0  # provider full
    assert free_slots(2, 3, 10, 0, 100, 0) == 0  # never negative


def test_token_bucket_caps_rate_and_returns_unused():
    bucket = TokenBucket(rate=2, burst=1)
    t0 = bucket.stamp
    assert bucket.take(10, t0) == 1
    assert bucket.take(10, t0 + 0.1) == 0
    assert bucket.take(10, t0 + 1.1) == 1  # capped at burst
    bucket.give_back(1)
    assert bucket.take(10, t0 + 1.1) == 1


def test_retry_per_disposition_and_machine():
    now = utc(2025, 1, 1)
    policy = RetryPolicy(busy=1, no_answer=0, failed=0, interval_s=60, machine=2)
    assert decide("BUSY", 1, policy, now).state == "pending"
    assert decide("BUSY", 2, policy, now).state == "failed"
    assert decide("NO ANSWER", 1, policy, now).state == "failed"
    assert decide("MACHINE", 2, policy, now) == ch_outcome("pending", now + dt.timedelta(seconds=60))
    assert decide("MACHINE", 3, policy, now).state == "failed"
    assert decide("MACHINE", 1, policy, now, message_left=True).state == "done"
    assert decide("NOT PLACED", 1, policy, now) == ch_outcome("pending", now)


def ch_outcome(state, when):
    from voxcast.dialing.retry import Outcome
    return Outcome(state, when)
