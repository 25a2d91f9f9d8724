"""Reading the tenant log (TenantLog rows written by voxcast.audit.records.record): filters shared
by the log page and its CSV download."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from zoneinfo import ZoneInfo

from models import TenantLog
from voxcast import csv_export
from voxcast.reports.period import to_utc

ALL = object()  # the provider's view: every tenant and provider-level rows


@dataclass
class LogFilter:
    action: str = ""  # an exact action ("tenant.create") or an area ("tenant")
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive day

    @classmethod
    def parse(cls, action: str | None, since: str | None, until: str | None) -> "LogFilter":
        """From query-string values; a malformed date raises ValueError with a message."""
        def day(value, name):
            if not value:
                return None
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"'{value}' is not a date (YYYY-MM-DD) for '{name}'.") from None
        f = cls((action or "").strip()[:100], day(since, "from"), day(until, "to"))
        if f.since and f.until and f.until < f.since:
            raise ValueError("The end date is before the start date.")
        return f


def entries(tenant_id, flt: LogFilter, zone: ZoneInfo | None = None):
    """Newest first. tenant_id is a tenant's id (its own rows only) or ALL; the filter's days
    are the reader's local days in `zone` (UTC days without one)."""
    def start_of(day: dt.date) -> dt.datetime:
        midnight = dt.datetime.combine(day, dt.time())
        return to_utc(midnight, zone) if zone is not None else midnight

    query = TenantLog.select()
    if tenant_id is not ALL:
        query = query.where(TenantLog.tenant == tenant_id)
    if flt.action:
        query = query.where((TenantLog.action == flt.action)
                            | TenantLog.action.startswith(flt.action + "."))
    if flt.since:
        query = query.where(TenantLog.created_at >= start_of(flt.since))
    if flt.until:
        query = query.where(TenantLog.created_at < start_of(flt.until + dt.timedelta(days=1)))
    return query.order_by(TenantLog.created_at.desc(), TenantLog.id.desc())


def actions(tenant_id) -> list[str]:
    """The distinct actions present, for the filter's choices (areas first)."""
    query = TenantLog.select(TenantLog.action).distinct()
    if tenant_id is not ALL:
        query = query.where(TenantLog.tenant == tenant_id)
    names = sorted({r.action for r in query})
    areas = sorted({n.split(".")[0] for n in names if "." in n})
    return areas + names


CSV_HEADER = ["time_utc", "tenant_id", "user", "action", "object_type", "object_id", "detail",
              "ip"]


def csv_lines(rows, zone: ZoneInfo | None = None):
    """The rows as CSV text, one chunk per row, for a streamed download; times in `zone`
    (the viewer's), named in the header ("time (Europe/Berlin)"), else UTC ("time_utc")."""
    buf = io.StringIO()
    writer = csv_export.writer(buf)  # every cell formula-safe

    def take():
        value = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return value

    writer.writerow([csv_export.time_header("time", zone), *CSV_HEADER[1:]])
    yield take()
    for r in rows:
        writer.writerow([csv_export.local_time(r.created_at, zone), r.tenant_id or "",
                         r.username, r.action, r.object_type, r.object_id,
                         r.detail, r.ip])
        yield take()

