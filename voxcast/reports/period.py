"""A report's date range: whole local days in the viewer's time zone, queried as the naive
UTC datetimes the database stores. Shared by every report, the UI and the API alike."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voxcast.errors import ServiceError

MAX_DAYS = 3660


def zone_of(name: str | None) -> ZoneInfo:
    """A time zone by name; an unknown or empty one is UTC (never an error in a report)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return local.replace(tzinfo=zone).astimezone(dt.timezone.utc).replace(tzinfo=None)


def to_local(utc: dt.datetime | None, zone: ZoneInfo) -> dt.datetime | None:
    """A stored (naive UTC) datetime in the viewer's zone, still aware (so %Z shows it)."""
    if utc is None:
        return None
    return utc.replace(tzinfo=dt.timezone.utc).astimezone(zone)


class PeriodError(ServiceError, ValueError):
    """A date range that cannot be read; the message says why (shown to the user / API)."""
    code = "bad-period"
    status = 400


@dataclass(frozen=True)
class ReportPeriod:
    start: dt.date  # first local day
    end: dt.date    # last local day, inclusive
    zone: ZoneInfo

    @classmethod
    def parse(cls, start: str | None, end: str | None, zone: ZoneInfo,
              today: dt.date | None = None, strict: bool = False) -> "ReportPeriod":
        """From YYYY-MM-DD strings; missing ones default to this month so far (local). A
        bad or reversed range falls back to the default, or raises PeriodError if strict
        (the API says what is wrong instead of guessing)."""
        today = today or dt.datetime.now(dt.timezone.utc).astimezone(zone).date()
        default = cls(today.replace(day=1), today, zone)
        try:
            first = dt.date.fromisoformat(start) if start else default.start
            last = dt.date.fromisoformat(end) if end else default.end
        except ValueError:
            if strict:
                raise PeriodError("dates must be YYYY-MM-DD") from None
            return default
        if last < first or (last - first).days > MAX_DAYS:
            if strict:
                raise PeriodError(f"the range must run forwards and span at most {MAX_DAYS} days")
            return default
        return cls(first, last, zone)

    @property
    def since(self) -> dt.datetime:
        """Naive UTC start, inclusive."""
        return to_utc(dt.datetime.combine(self.start, dt.time()), self.zone)

    @property
    def until(self) -> dt.datetime:
        """Naive UTC end, exclusive (local midnight after the last day)."""
        return to_utc(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time()), self.zone)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def local_day(self, utc: dt.datetime) -> dt.date:
        return to_local(utc, self.zone).date()

    @property
    def zone_name(self) -> str:
        return self.zone.key
