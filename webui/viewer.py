"""The viewer's time zone (their own setting, else their tenant's, else UTC) and the template
filter that shows stored UTC datetimes in it, with the zone named."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask, abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from voxcast.reports.filters import FilterError
from voxcast.reports.period import PeriodError, ReportPeriod, to_local, zone_of


def viewer_zone() -> ZoneInfo:
    user = current_user
    name = getattr(user, "timezone", "") if getattr(user, "is_authenticated", False) else ""
    if not name and getattr(user, "tenant_id", None):
        from .permissions import current_tenant
        tenant = current_tenant()  # read once per request
        name = tenant.timezone if tenant is not None else ""
    return zone_of(name)


def request_period(strict: bool = False) -> ReportPeriod:
    """?start=&end= (YYYY-MM-DD, local days) of the current request, in the viewer's zone.
    Not strict: a bad or reversed range shows this month so far, and the page says so (a
    manager must not read the default month's figures as the ones they asked for)."""
    start, end, zone = request.args.get("start"), request.args.get("end"), viewer_zone()
    try:
        return ReportPeriod.parse(start, end, zone, strict=True)
    except PeriodError as exc:
        if strict:
            raise
        if not request.path.endswith((".csv", ".json")):
            flash(_("The dates were not used (%(reason)s); showing this month so far.",
                    reason=str(exc)), "error")
        return ReportPeriod.parse(None, None, zone)


def request_filter(parse, tenant_id: int):
    """A record report's filters from the current request in the viewer's zone, `parse`
    being voxcast.cdr.search.parse or voxcast.messaging.records.parse (not strict): an id of
    another tenant is a 404, anything else it refuses a 400. Dates that cannot be read are
    said on the page as on every report (request_period flashes; its fallback, this month so
    far, is the one parse takes)."""
    if request.args.get("start") or request.args.get("end"):
        request_period()
    try:
        return parse(tenant_id, request.args, viewer_zone())
    except FilterError as exc:
        abort(exc.status if exc.status == 404 else 400)


def local_dt(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    local = to_local(value, viewer_zone())
    return local.strftime(fmt) if local is not None else ""


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local_dt"] = local_dt
    app.jinja_env.globals["viewer_zone_name"] = lambda: viewer_zone().key
