"""Subscription periods: calendar months, the day of the month clamped to the month's last
(a period from 31 January ends on 28/29 February; the next one, anchored on the 31st, on 31
March)."""
from __future__ import annotations

import calendar
import datetime as dt

from models.entities import PERIOD_MONTHS


def add_months(start: dt.datetime, months: int, day: int | None = None) -> dt.datetime:
    """`start` moved by `months` calendar months; the day is `day` (default: start's),
    clamped to the length of the month reached. The time of day is kept."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return start.replace(year=year, month=month, day=min(day or start.day, last))


def add_period(start: dt.datetime, period: str, day: int | None = None) -> dt.datetime:
    """The end of the period of kind `period` (monthly | quarterly | yearly) that begins at
    `start`. `day` is the subscription's anchor day (the day of its first period's start), so
    periods that were clamped to a short month return to it afterwards."""
    try:
        months = PERIOD_MONTHS[period]
    except KeyError:
        raise ValueError(f"unknown period {period!r}") from None
    return add_months(start, months, day)


def running_period(start: dt.datetime, end: dt.datetime, period: str, now: dt.datetime,
                   day: int | None = None, first: dt.datetime | None = None
                   ) -> tuple[dt.datetime, dt.datetime]:
    """The paid period that contains `now`. A subscription renewed ahead of time stores its
    newest period, which starts in the future; usage "this period" is the running one's,
    found by stepping back whole periods (never before `first`, its first start)."""
    months = PERIOD_MONTHS[period]
    for _ in range(36):  # paid ahead by a few periods at most
        if now >= start or (first is not None and start <= first):
            break
        start, end = max(add_months(start, -months, day), first or dt.datetime.min), start
    return start, end
