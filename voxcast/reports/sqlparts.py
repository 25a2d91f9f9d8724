"""SQL pieces the statistics and the report builder share, written once per backend: the
seconds between two stored datetimes, and the local day / week / month a stored (naive UTC)
time falls in, in the viewer's time zone.

Local buckets are found by comparing with their UTC starts (a nested CASE over the period's
boundaries, a binary search in SQL), not by converting each row's time: that is exact in every
zone (DST days of 23 or 25 hours, India's +5:30), the same on SQLite and PostgreSQL, and the
database compares plain timestamps it has an index order for."""
from __future__ import annotations

import datetime as dt

from peewee import SQL, Case, NodeList, PostgresqlDatabase, Value, fn

from models.db import database
from voxcast.reports.period import ReportPeriod, to_utc

TIME_GRAINS = ("day", "week", "month")


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def seconds_between(start, end):
    """end - start in seconds (a float), for two datetime expressions."""
    if is_postgres():
        return fn.EXTRACT(NodeList((SQL("EPOCH FROM"), NodeList((end, SQL("-"), start)))))
    # julianday is a float of days: rounded to the millisecond, sums of whole seconds stay whole
    return fn.ROUND((fn.julianday(end) - fn.julianday(start)) * 86400.0, 3)


def clipped_seconds(start, end, since: dt.datetime, until: dt.datetime, now: dt.datetime):
    """The seconds of [start, end) that fall in [since, until); an open row (end NULL) runs
    to `now` or `until`, whichever comes first."""
    stop = min(until, now)
    lo = Case(None, ((start < since, Value(since)),), start)
    hi = Case(None, ((end.is_null(), Value(stop)), (end > stop, Value(stop))), end)
    return Case(None, ((hi > lo, seconds_between(lo, hi)),), 0)


def bucket_starts(period: ReportPeriod, grain: str) -> list[dt.date]:
    """The local dates each bucket of the period starts on: days, ISO weeks (Monday) or
    months; the first bucket starts on the period's first day's day/week/month."""
    first, last = period.start, period.end
    if grain == "day":
        return period.days()
    if grain == "week":
        day = first - dt.timedelta(days=first.weekday())
        out = []
        while day <= last:
            out.append(day)
            day += dt.timedelta(days=7)
        return out
    if grain == "month":
        day, out = first.replace(day=1), []
        while day <= last:
            out.append(day)
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return out
    raise ValueError(grain)


def bucket_index(column, period: ReportPeriod, grain: str):
    """The number of the local bucket `column` (naive UTC) falls in: 0 for the first of
    bucket_starts(period, grain), ...; rows are already limited to the period."""
    starts = bucket_starts(period, grain)
    bounds = [to_utc(dt.datetime.combine(day, dt.time()), period.zone) for day in starts]

    def pick(lo: int, hi: int):  # buckets lo..hi-1
        if hi - lo == 1:
            return Value(lo)
        mid = (lo + hi) // 2
        return Case(None, ((column < bounds[mid], pick(lo, mid)),), pick(mid, hi))

    return pick(0, len(bounds))


def whole_hours(period: ReportPeriod, grain: str) -> bool:
    """Whether every bucket boundary of the period is a whole UTC hour (then an hourly rollup
    can be summed into local buckets exactly)."""
    starts = bucket_starts(period, grain) + [period.end + dt.timedelta(days=1)]
    for day in starts + [period.start]:
        utc = to_utc(dt.datetime.combine(day, dt.time()), period.zone)
        if utc.minute or utc.second:
            return False
    return True
