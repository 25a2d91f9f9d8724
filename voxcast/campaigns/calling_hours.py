"""When a campaign may call: the tenant's timeslots AND the campaign's own windows, in the
tenant's time zone, and, where a number's region has exactly one time zone, in the
contact's local time too. Pure functions; the dialer asks `is_open` and `next_open`.

A "rule set" is a list of windows (objects with weekdays, start_time, end_time, like
models.Timeslot); an empty set means "no restriction". Every set must be open at once.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from voxcast.tenants.timeslots import WEEKDAYS, TimeslotError, is_open as _set_open, parse_hhmm, validate


@dataclass(frozen=True)
class Window:
    weekdays: str  # "0123456", Monday=0
    start_time: str  # HH:MM
    end_time: str  # HH:MM, exclusive


def windows_from_json(text: str) -> list[Window]:
    """Campaign.windows as stored; an empty or broken value means no campaign windows."""
    if not (text or "").strip():
        return []
    try:
        return [Window(w["weekdays"], w["start"], w["end"]) for w in json.loads(text)]
    except (ValueError, KeyError, TypeError):
        return []


def windows_to_json(windows: list[Window]) -> str:
    if not windows:
        return ""
    return json.dumps([{"weekdays": w.weekdays, "start": w.start_time, "end": w.end_time}
                       for w in windows])


_DAY = {name.lower(): str(i) for i, name in enumerate(WEEKDAYS)}
_ITEM = re.compile(r"^\s*([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\d\d:\d\d)\s*-\s*(\d\d:\d\d)\s*$")


def parse_text(text: str) -> list[Window]:
    """"Mon-Fri 09:00-17:00, Sat 10:00-13:00" (one window per comma or line) -> windows.
    Raises TimeslotError naming the bad part."""
    out = []
    for part in re.split(r"[,;\n]", text or ""):
        if not part.strip():
            continue
        m = _ITEM.match(part)
        if not m or m.group(1).lower() not in _DAY or (m.group(2) and m.group(2).lower() not in _DAY):
            raise TimeslotError(f"'{part.strip()}' is not like 'Mon-Fri 09:00-17:00'")
        first = int(_DAY[m.group(1).lower()])
        last = int(_DAY[(m.group(2) or m.group(1)).lower()])
        days = "".join(str(d % 7) for d in range(first, (last if last >= first else last + 7) + 1))
        weekdays, start, end = validate(days, m.group(3), m.group(4))
        out.append(Window(weekdays, start, end))
    return out


def to_text(windows: list[Window]) -> str:
    def days(w: str) -> str:
        d = sorted(int(c) for c in w)
        if len(d) > 1 and d == list(range(d[0], d[-1] + 1)):
            return f"{WEEKDAYS[d[0]]}-{WEEKDAYS[d[-1]]}"
        return "/".join(WEEKDAYS[i] for i in d)
    parts = []
    for w in windows:
        label = days(w.weekdays)
        if "/" in label:  # scattered days: one entry per day keeps it parseable
            parts += [f"{WEEKDAYS[int(c)]} {w.start_time}-{w.end_time}" for c in sorted(w.weekdays)]
        else:
            parts.append(f"{label} {w.start_time}-{w.end_time}")
    return ", ".join(parts)


def is_open(rule_sets, tz_name: str, now_utc: dt.datetime) -> bool:
    """True when every non-empty rule set has a window open at `now_utc` in `tz_name`."""
    return all(_set_open(rules, tz_name, now_utc) for rules in rule_sets)


def next_open(rule_sets, tz_name: str, now_utc: dt.datetime, days: int = 8) -> dt.datetime | None:
    """The first moment from `now_utc` (naive UTC) on when `is_open` holds, or None if never
    within `days`. The intersection of windows opens at the start of one of them, so only
    window starts (each day, in local time, DST-aware) are candidates."""
    if is_open(rule_sets, tz_name, now_utc):
        return now_utc
    zone = ZoneInfo(tz_name or "UTC")
    aware = now_utc.replace(tzinfo=dt.timezone.utc) if now_utc.tzinfo is None else now_utc
    local_today = aware.astimezone(zone).date()
    starts = sorted({parse_hhmm(w.start_time) for rules in rule_sets for w in rules})
    for offset in range(days + 1):
        day = local_today + dt.timedelta(days=offset)
        for start in starts:
            candidate = dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.timezone.utc)
            # A start inside a spring-forward gap maps to the moment after the gap.
            utc = candidate.replace(tzinfo=None)
            if utc > now_utc.replace(tzinfo=None) and is_open(rule_sets, tz_name, utc):
                return utc
    return None


def contact_is_open(rule_sets, contact_tz: str | None, now_utc: dt.datetime) -> bool:
    """A contact with a known local zone is called only inside the windows in that zone too."""
    return contact_tz is None or is_open(rule_sets, contact_tz, now_utc)


@lru_cache(maxsize=65536)
def number_timezone(phone: str) -> str | None:
    """The number's time zone when its region has exactly one (phonenumbers), else None."""
    import phonenumbers
    from phonenumbers import timezone as pn_tz
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    zones = pn_tz.time_zones_for_number(number)
    if len(zones) != 1 or zones[0] == pn_tz.UNKNOWN_TIMEZONE:
        return None
    try:
        ZoneInfo(zones[0])
    except Exception:
        return None
    return zones[0]
