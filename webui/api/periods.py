"""The date range of a report endpoint, read one way everywhere: `start`/`end` (YYYY-MM-DD,
local days, default this month so far) in `zone` (an IANA name, default the tenant's time
zone). The API answers a range or zone it cannot read with a 400 naming the field, never
with a guess (the portal's pages fall back instead: webui/viewer.py)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import request

from models import Tenant
from voxcast.reports.period import PeriodError, ReportPeriod, zone_of

from . import ApiError


def api_zone(tenant_id: int | None, name: str | None = None,
             aliases: tuple[str, ...] = ()) -> ZoneInfo:
    """`name`, else ?zone= (or one of its older `aliases`), else the tenant's zone."""
    field = "zone"
    if name is None:
        for field in ("zone", *aliases):
            name = request.args.get(field)
            if name:
                break
        else:
            field = "zone"
    if not name:
        tenant = Tenant.get_or_none(Tenant.id == tenant_id) if tenant_id else None
        return zone_of(tenant.timezone if tenant is not None else "")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiError(400, "bad-parameter", f"'{field}' must be an IANA time zone name.",
                       {field: "is not a known time zone"}) from None


def _bad_field(end: str | None) -> str:
    """Which date a PeriodError is about: `end` when it cannot be read, else `start` (a
    reversed or too long range is said from where it begins)."""
    try:
        if end:
            dt.date.fromisoformat(end)
    except ValueError:
        return "end"
    return "start"


def api_period(tenant_id: int | None, start: str | None = None, end: str | None = None,
               zone: str | None = None, aliases: tuple[str, ...] = ()) -> ReportPeriod:
    """The period of this request: the given values (a JSON body's, where "" is the
    default), else the query's."""
    start = request.args.get("start") if start is None else start
    end = request.args.get("end") if end is None else end
    tz = api_zone(tenant_id, zone, aliases)
    try:
        return ReportPeriod.parse(start, end, tz, strict=True)
    except PeriodError as exc:
        field = _bad_field(end)
        raise ApiError(400, "bad-parameter", str(exc), {field: str(exc)}) from None
