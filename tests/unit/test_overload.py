"""Inbound calls are refused while the app is behind Asterisk, read from each StasisStart's
own timestamp (see ari_app/overload.py); the end-to-end case is in
tests/integration/test_inbound.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ari_app import events
from ari_app.overload import Overload


def stasis_start(seconds_ago: float | None) -> events.Event:
    raw = {"type": "StasisStart", "channel": {"id": "c1"}, "args": ["inbound", "1555"]}
    if seconds_ago is not None:  # Asterisk's format: 2026-12-01T23:07:01.484+0000
        stamp = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
        raw["timestamp"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"
    return events.parse(raw)


def test_age_is_read_from_asterisks_timestamp():
    assert 2.9 < events.age(stasis_start(3.0)) < 3.5
    assert events.age(stasis_start(None)) == 0.0
    assert events.age(events.parse({"type": "X", "timestamp": "garbage"})) == 0.0


def test_a_fresh_call_is_taken_a_late_one_refused_and_counted():
    guard = Overload(max_age=1.0)
    assert not guard.behind(stasis_start(0.0))
    assert not guard.behind(stasis_start(None))  # no stamp: never refused for it
    assert guard.behind(stasis_start(2.0))
    assert guard.behind(stasis_start(5.0))
    assert guard.refused == 2
    assert not guard.behind(stasis_start(0.1))  # caught up: taken again, no state to reset
