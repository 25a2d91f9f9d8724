"""The message records report: the tenant's SMS, faxes and e-mails (sent by campaigns and
received) filtered by local days (the viewer's zone), channel, direction, campaign, state and
address, newest first, paged; their CSV streamed batch by batch; one message's page with its
SMS segments. Views only: the query is voxcast.messaging.records."""
from __future__ import annotations

import itertools

from flask import Blueprint, current_app, render_template, url_for
from werkzeug.routing import BuildError

from models import Campaign
from models.entities import Contact, Message
from models.tenancy import get_scoped, scoped
from voxcast.messaging import records
from voxcast.reports.filters import local_text

from .auth import current_tenant_id, tenant_required
from .downloads import csv_response, report_filename
from .paging import Page
from .viewer import request_filter, viewer_zone

bp = Blueprint("messages", __name__, url_prefix="/reports/messages")
PER_PAGE = 50


def _filter() -> records.MessageFilter:
    """The page's filters; another tenant's campaign is a 404."""
    return request_filter(records.parse, current_tenant_id())


def _document_url(message) -> str | None:
    """An inbound fax's PDF, served by the fax helper's inbox when it is there."""
    if message.channel != "fax" or not message.document:
        return None
    if "fax_inbox.pdf" not in current_app.view_functions:
        return None
    try:
        return url_for("fax_inbox.pdf", fax_id=message.id)
    except BuildError:
        return None


@bp.route("/")
@tenant_required
def index():
    tid = current_tenant_id()
    f = _filter()
    page = Page.from_request(records.query(tid, f), PER_PAGE)
    return render_template("reports/messages.html", page=page, f=f, args=f.as_args(),
                           local=local_text(f.zone), names=records.campaign_names(tid, page.items),
                           campaigns=list(scoped(Campaign, tid).order_by(Campaign.name)),
                           channels=records.CHANNELS, directions=records.DIRECTIONS,
                           states=records.STATES)


@bp.route("/export.csv")
@tenant_required
def export_csv():
    """The filtered list as CSV, streamed: rows are read and sent one batch at a time."""
    tid = current_tenant_id()
    f = _filter()
    rows = itertools.chain([records.csv_header(f.zone.key)],
                           records.csv_rows(tid, f, local_text(f.zone)))
    return csv_response(rows, report_filename("messages", f.period, f.zone.key))


@bp.route("/<int:message_id>")
@tenant_required
def detail(message_id: int):
    tid = current_tenant_id()
    message = get_scoped(Message, tid, message_id)  # another tenant's: 404
    contact = scoped(Contact, tid).where(Contact.id == message.contact_id).first() \
        if message.contact_id else None
    campaign = scoped(Campaign, tid).where(Campaign.id == message.campaign_id).first() \
        if message.campaign_id else None
    zone = viewer_zone()
    return render_template("reports/message_detail.html", message=message, contact=contact,
                           campaign=campaign, parts=records.parts(tid, message),
                           local=local_text(zone), zone_name=zone.key,
                           document_url=_document_url(message))
