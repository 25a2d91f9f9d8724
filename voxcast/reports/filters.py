"""What the record reports' filters share (CDRs: voxcast.cdr.search; messages:
voxcast.messaging.records): the error a filter raises, the period and the ids read from
request parameters, the query-string form of the period, the keyset walk of a result newest
first that exports use (one batch in memory, no OFFSET), and the local times their pages and
CSV files show."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from zoneinfo import ZoneInfo

from voxcast.errors import ServiceError
from voxcast.reports.period import PeriodError, ReportPeriod, to_local

MAX_ID = 2**31 - 1
BATCH = 1000


class FilterError(ServiceError):
    """A filter that cannot be used; `field` names the parameter. Status 404: an id of
    another tenant (code not-found)."""
    code = "bad-parameter"
    status = 400

    def __init__(self, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status
        if status == 404:
            self.code = "not-found"


def parse_period(args: Mapping[str, str], zone: ZoneInfo, *, strict: bool,
                 today: dt.date | None, error: type[FilterError]) -> ReportPeriod | None:
    """The days of parameters start and end (None when neither is given: every day); with
    one of them the other defaults as in ReportPeriod.parse. An unreadable one: `error`
    ("start") when strict; else ReportPeriod.parse falls back."""
    if not (args.get("start") or args.get("end")):
        return None
    try:
        return ReportPeriod.parse(args.get("start"), args.get("end"), zone, today=today,
                                  strict=strict)
    except PeriodError as exc:
        raise error("start", str(exc)) from None


def parse_id(args: Mapping[str, str], name: str, *, strict: bool,
             error: type[FilterError]) -> int | None:
    """The id in parameter `name` (1 to MAX_ID), None when empty; anything else is ignored,
    or `error` when strict."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) <= 12 and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    if strict:
        raise error(name, f"'{name}' must be an id (1-{MAX_ID}).")
    return None


def period_args(period: ReportPeriod | None) -> dict[str, str]:
    """start and end as the query string carries them; none for every day."""
    if period is None:
        return {}
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def local_text(zone: ZoneInfo) -> Callable[[dt.datetime | None], str]:
    """Stored UTC times as the pages and CSV files show them, in `zone` (found once per
    request); None is empty."""
    def local(value: dt.datetime | None) -> str:
        shown = to_local(value, zone)
        return shown.strftime("%Y-%m-%d %H:%M:%S") if shown is not None else ""
    return local


def keyset_batches(query: Callable[[], object], time_field, id_field,
                   batch: int = BATCH) -> Iterator[list]:
    """Every row of `query()` (ordered by time_field, then id_field, both descending),
    `batch` rows at a time, each batch read after the last row of the one before (keyset,
    not OFFSET: each batch costs the same however deep the export is)."""
    last: tuple[dt.datetime, int] | None = None
    while True:
        q = query()
        if last is not None:
            at, row_id = last
            # the first term bounds the index range; the OR alone makes SQLite scan from
            # the newest row on every batch (quadratic over an export)
            q = q.where((time_field <= at) & ((time_field < at) | (id_field < row_id)))
        rows = list(q.limit(batch))
        if rows:
            yield rows
        if len(rows) < batch:
            return
        last = (getattr(rows[-1], time_field.name), getattr(rows[-1], id_field.name))
