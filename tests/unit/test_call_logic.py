"""Pure call-control logic: dispositions, retries, pacing, event parsing."""
from __future__ import annotations

import datetime as dt

import pytest

from voxcast.cdr.dispositions import disposition
from ari_app.events import handler_name, parse
from voxcast.dialing.pacing import TokenBucket, free_slots
from voxcast.dialing.retry import RetryPolicy, decide

NOW = dt.datetime(2026, 11, 23, 12, 0, 0)


@pytest.mark.parametrize("answered,cause,rang,expected", [
    (True, 16, True, "ANSWERED"),
    (False, 17, True, "BUSY"),
    (False, 19, True, "NO ANSWER"),
    (False, 19, False, "FAILED"),  # the trunk never even said "ringing"
    (False, 34, True, "CONGESTION"),
    (False, 1, True, "FAILED"),
    (False, 0, True, "FAILED"),
])
def test_disposition_from_cause(answered, cause, rang, expected):
    assert disposition(answered, cause, rang) == expected


def test_given_busy_with_one_retry_when_first_attempt_fails_then_retry_after_interval():
    policy = RetryPolicy(busy=1, no_answer=0, failed=0, interval_s=60)
    first = decide("BUSY", 1, policy, NOW)
    assert first.state == "pending" and first.next_attempt_at == NOW + dt.timedelta(seconds=60)
    assert decide("BUSY", 2, policy, NOW).state == "failed"
    assert decide("NO ANSWER", 1, policy, NOW).state == "failed"
    assert decide("ANSWERED", 1, policy, NOW).state == "done"
    assert decide("CONGESTION", 1, RetryPolicy(failed=1), NOW).state == "pending"


@pytest.mark.parametrize("args,expected", [
    ((5, 0, 10, 0, 100, 0), 5),    # campaign limit binds
    ((5, 2, 3, 2, 100, 0), 1),     # tenant limit binds across campaigns
    ((5, 0, 10, 0, 100, 99), 1),   # provider-wide limit binds
    ((5, 6, 10, 0, 100, 0), 0),    # never negative, even when over (limit lowered live)
])
def test_free_slots_takes_the_smallest_headroom(args, expected):
    assert free_slots(*args) == expected


def test_token_bucket_caps_calls_per_second():
    bucket = TokenBucket(rate=10, burst=2)
    t0 = bucket.stamp
    assert bucket.take(5, now=t0) == 2
    assert bucket.take(5, now=t0) == 0
    assert bucket.take(5, now=t0 + 0.15) == 1
    assert bucket.take(50, now=t0 + 10) == 2  # never more than the burst at once


def test_event_parsed_into_named_fields():
    event = parse({
        "type": "StasisStart", "args": ["inbound", "15551230000"],
        "channel": {"id": "c1", "state": "Ring", "caller": {"number": "1555"},
                    "dialplan": {"exten": "15551230000"}},
    })
    assert (event.type, event.channel_id, event.args, event.caller_number) == \
        ("StasisStart", "c1", ("inbound", "15551230000"), "1555")
    playback = parse({"type": "PlaybackFinished",
                      "playback": {"id": "p1", "target_uri": "channel:c1"}})
    assert playback.routing_channel_id == "c1" and playback.playback_id == "p1"
    assert handler_name("ChannelDtmfReceived") == "channel_dtmf_received"
