"""/api/v1/messages (the message records: SMS, fax and e-mail, sent and received; filters,
paging, CSV) and /api/v1/messages/{id}: the same query as the portal's report
(voxcast.messaging.records).

Days are local to `zone` (an IANA name; default the tenant's time zone); times in the answers
are UTC (ISO 8601 with Z). A filter that cannot be read is a 400 naming the parameter; another
tenant's campaign or message is a 404. `format=csv` answers the whole filtered list as CSV,
streamed in batches (times in `zone`), as /cdrs does for calls."""
from __future__ import annotations

import datetime as dt
import itertools

from flask import jsonify, request

from models.entities import Message
from models.tenancy import get_scoped
from voxcast.messaging import records
from voxcast.reports.filters import local_text

from .. import downloads
from . import ID, ApiError, bp, paginate, scope
from .contact_centre import _tenant_scope
from .periods import api_zone


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def dump_message(m: Message, names: dict[int, str], parts=None) -> dict:
    out = {"id": m.id, "tenant_id": m.tenant_id, "channel": m.channel,
           "direction": m.direction, "address": m.address, "sender": m.sender,
           "subject": m.subject, "body": m.body, "encoding": m.encoding, "units": m.units,
           "state": m.state, "error": m.error, "external_id": m.external_id,
           "attempts": m.attempts, "cost": records.money(m.cost),
           "campaign_id": m.campaign_id,
           "campaign": names.get(m.campaign_id, "") if m.campaign_id else "",
           "contact_id": m.contact_id, "call_id": m.call_id,
           "created_at": _time(m.created_at), "submitted_at": _time(m.submitted_at),
           "done_at": _time(m.done_at)}
    if parts is not None:
        out["parts"] = [{"seq": p.seq, "external_id": p.external_id, "state": p.state,
                         "error": p.error, "submitted_at": _time(p.submitted_at),
                         "done_at": _time(p.done_at)} for p in parts]
    return out


@bp.get("/messages")
def messages_list():
    """The tenant's messages, newest first, filtered like the portal's message records."""
    tenant_id = _tenant_scope()
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "bad-parameter", "'format' must be json or csv.",
                       {"format": "must be json or csv"})
    try:
        f = records.parse(tenant_id, request.args, api_zone(tenant_id), strict=True,
                          campaign_name="campaign_id")
    except records.MessageFilterError as exc:
        raise ApiError(exc.status, exc.code, str(exc), exc.fields) from None
    if fmt == "csv":
        rows = itertools.chain([records.csv_header(f.zone.key)],
                               records.csv_rows(tenant_id, f, local_text(f.zone)))
        return downloads.csv_response(rows, downloads.report_filename("messages", f.period,
                                                                      f.zone.key))
    return paginate(records.query(tenant_id, f), dump_message,
                    lookup=lambda rows: records.campaign_names(tenant_id, rows), zone=f.zone.key)


@bp.get(f"/messages/<{ID}:message_id>")
def messages_get(message_id: int):
    """One message (the provider's key: any tenant's), with an SMS's segments."""
    m = get_scoped(Message, scope(), message_id)
    return jsonify(dump_message(m, records.campaign_names(m.tenant_id, [m]),
                                records.parts(m.tenant_id, m)))
