"""The tenant log: the provider sees any tenant's (or all), a tenant's admin its own at /log.
Filter by action and dates, paged; the same filters download as CSV."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from models import Tenant
from voxcast.audit import reading as log_service
from voxcast.audit.reading import ALL, LogFilter

from .auth import admin_required, current_tenant_id, tenant_required
from .paging import Page
from .params import arg_id
from .viewer import viewer_zone

bp = Blueprint("tenant_log", __name__)
PER_PAGE = 50


def _filter() -> tuple[LogFilter, str | None]:
    try:
        return LogFilter.parse(request.args.get("action"), request.args.get("since"),
                               request.args.get("until")), None
    except ValueError as exc:
        return LogFilter(), str(exc)


def _page(scope, endpoint: str, tenant=None, tenants=None, **url_args):
    flt, error = _filter()
    if request.args.get("format") == "csv":
        if error:
            abort(400, error)
        # Built whole while the request's database connection is open (a streamed body
        # would be read after teardown has closed it).
        body = "".join(log_service.csv_lines(log_service.entries(scope, flt, viewer_zone()),
                                                viewer_zone()))
        name = f"voxcast-log-{tenant.slug if tenant else 'all'}-{dt.date.today()}.csv"
        return Response(body,
                        mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    page = Page.from_request(log_service.entries(scope, flt, viewer_zone()), PER_PAGE)
    return render_template("log/list.html", page=page, flt=flt, error=error, tenant=tenant,
                           tenants=tenants, actions=log_service.actions(scope),
                           endpoint=endpoint, url_args=url_args), (400 if error else 200)


@bp.route("/admin/log")
@admin_required
def admin_log():
    """Every tenant's log, or one tenant's with ?tenant=<id>."""
    tenants = list(Tenant.select().order_by(Tenant.name))
    tenant_id = arg_id("tenant")
    if tenant_id:
        tenant = Tenant.get_or_none(Tenant.id == tenant_id)
        if tenant is None:
            abort(404)
        return _page(tenant.id, "tenant_log.admin_log", tenant=tenant, tenants=tenants,
                     tenant_id=tenant.id)
    return _page(ALL, "tenant_log.admin_log", tenants=tenants)


@bp.route("/log")
@tenant_required(roles=("tenant",))
def own_log():
    tid = current_tenant_id()
    return _page(tid, "tenant_log.own_log", tenant=Tenant.get_by_id(tid))


@bp.app_template_global()
def log_title(tenant) -> str:
    return _("Log of %(name)s", name=tenant.name) if tenant else _("Log of all tenants")
