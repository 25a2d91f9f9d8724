"""Allowed calling windows of a tenant, in its time zone (the dialer asks `is_open`)."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from voxcast.errors import ServiceError

HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TimeslotError(ServiceError, ValueError):
    code, status = "invalid-hours", 422


def parse_hhmm(value: str) -> dt.time:
    match = HHMM.match((value or "").strip())
    if not match:
        raise TimeslotError(f"'{value}' is not a time in HH:MM (00:00 to 23:59)")
    return dt.time(int(match.group(1)), int(match.group(2)))


def validate(weekdays: str, start: str, end: str) -> tuple[str, str, str]:
    """Normalised (weekdays, start, end), or TimeslotError saying what is wrong."""
    days = "".join(sorted(set(weekdays or "")))
    if not days or any(d not in "0123456" for d in days):
        raise TimeslotError("Choose at least one weekday")
    s, e = parse_hhmm(start), parse_hhmm(end)
    if s >= e:
        raise TimeslotError(f"The start ({start}) must be before the end ({end})")
    return days, s.strftime("%H:%M"), e.strftime("%H:%M")


def is_open(timeslots, tz_name: str, now_utc: dt.datetime) -> bool:
    """True when `now_utc` falls in one of the windows (start inclusive, end exclusive) in
    the tenant's time zone. No windows at all means no restriction."""
    slots = list(timeslots)
    if not slots:
        return True
    if now_utc.tzinfo is None:
        now_utc = now_utc.replace(tzinfo=dt.timezone.utc)
    local = now_utc.astimezone(ZoneInfo(tz_name or "UTC"))
    day, clock = str(local.weekday()), local.time().replace(tzinfo=None)
    for slot in slots:
        if day in slot.weekdays and parse_hhmm(slot.start_time) <= clock < parse_hhmm(slot.end_time):
            return True
    return False
