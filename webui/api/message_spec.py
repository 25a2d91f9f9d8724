"""The OpenAPI part of the message records (webui/api/messages.py) and of a campaign's live
figures (GET /campaigns/{id}/progress, webui/api/campaigns.py): their schemas and paths,
merged into the document by webui.api.spec.build()."""
from __future__ import annotations

from voxcast.campaigns import services as campaign_service
from voxcast.messaging.records import CHANNELS, DIRECTIONS, STATES
from voxcast.schemas import DATETIME, DATETIME_NULL, ID, NULLABLE_ID, STRING, out

from .spec import PAGING, PERIOD_PARAMS, TENANT_FILTER, json_content, op, path_id, query, ref

INT = {"type": "integer"}
MONEY = {"type": "string", "example": "0.0420"}
CSV = {"description": "format=csv: the whole filtered list",
       "content": {"text/csv": {"schema": {"type": "string"}}}}


def schemas() -> dict:
    message = {
        "id": ID, "tenant_id": ID,
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "direction": {"type": "string", "enum": list(DIRECTIONS)},
        "address": {**STRING, "description": "the other party: a number (E.164) or an "
                                             "e-mail address"},
        "sender": {**STRING, "description": "our side: the SMS sender, the DID or From"},
        "subject": STRING, "body": {**STRING, "description": "the text sent or received "
                                                             "(SMS, an e-mail's text part)"},
        "encoding": {**STRING, "description": "SMS: gsm7 or ucs2"},
        "units": {**INT, "description": "billed units: SMS segments, fax pages, 1 per e-mail"},
        "state": {"type": "string", "enum": list(STATES)},
        "error": STRING, "external_id": {**STRING, "description": "the SMTP Message-ID or the "
                                                                  "fax channel"},
        "attempts": INT,
        "cost": {**MONEY, "nullable": True, "description": "null: not charged (yet)"},
        "campaign_id": NULLABLE_ID, "campaign": STRING, "contact_id": NULLABLE_ID,
        "call_id": {**NULLABLE_ID, "description": "fax: the call that carried it"},
        "created_at": DATETIME, "submitted_at": DATETIME_NULL, "done_at": DATETIME_NULL}
    figures = {name: INT for name in campaign_service.MESSAGE_FIGURES}
    base = {name: INT for name in ("total", "dialed", "answered", "busy", "no_answer",
                                   "failed", "completed", "given_up", "remaining", "active",
                                   "dnc", "machine", "pressed1", "opted_out", "confirmed",
                                   "cancelled", "transferred", "surveyed")}
    return {
        "Message": out(message),
        "MessageDetail": out({**message, "parts": {
            "type": "array", "description": "SMS: one per segment (submit_sm)",
            "items": out({"seq": INT, "external_id": {**STRING, "description": "the SMSC's "
                                                                               "message id"},
                          "state": STRING, "error": STRING, "submitted_at": DATETIME_NULL,
                          "done_at": DATETIME_NULL})}}),
        "MessagePage": out({"items": {"type": "array", "items": ref("Message")}, "page": INT,
                            "per_page": INT, "total": INT, "zone": STRING}),
        "CampaignProgress": {
            "type": "object",
            "required": ["id", "type", "status", "status_code", "status_reason", *base],
            "properties": {
                "id": ID, "type": STRING, "status": STRING, "status_code": STRING,
                "status_reason": STRING, "status_params": {"type": "object"}, **base,
                "abandon_rate": {"type": "number", "description": "voice_agent"},
                "agent_calls": INT, "connected": INT, "abandoned": INT,
                **{name: {**INT, "description": "sms, fax, email"} for name in figures},
                "cost": {**MONEY, "description": "sms, fax, email: the charges so far"}},
            "description": (
                "A campaign's live figures. Every type: contacts (total, remaining, active, "
                "completed, given_up, dnc) and its calls (dialed, answered, busy, ...; a fax "
                "campaign's calls too). SMS, fax and e-mail campaigns add: messages (one per "
                "attempt), in_flight, sent (accepted by the far side), delivered, "
                "undelivered, expired, rejected, bounced, send_failed (could not be handed "
                "on), failed_messages (every failed state), units (segments / pages / mails "
                "sent), pending (contacts waiting), contacts_<outcome> (each contact's latest "
                "message: delivered, sent, undelivered, expired, rejected, failed, bounced, "
                "no_address) and cost.")},
    }


def paths() -> dict:
    filters = (
        TENANT_FILTER, *PERIOD_PARAMS,
        query("channel", {"type": "string", "enum": list(CHANNELS)}),
        query("direction", {"type": "string", "enum": list(DIRECTIONS)}),
        query("state", {"type": "string", "enum": list(STATES)}),
        query("address", {"type": "string", "maxLength": 254},
              "Part of the number or e-mail address (spaces and dashes in a number ignored)."),
        query("campaign_id", ID),
        query("format", {"type": "string", "enum": ["json", "csv"], "default": "json"},
              "csv: every matching message as CSV (times in `zone`), not paged."),
    )
    return {
        "/messages": {"get": op(
            "Message records: SMS, faxes and e-mails sent and received, newest first "
            "(provider key: name a tenant_id); without start and end every day", "One page",
            ref("MessagePage"), tag="Reports", params=(*PAGING, *filters),
            extra={"200": {"description": "One page (format=json) or the CSV (format=csv)",
                           "content": {**json_content(ref("MessagePage")),
                                       **CSV["content"]}}})},
        "/messages/{id}": {"parameters": [path_id()], "get": op(
            "One message record with its SMS segments (the provider's key: any tenant's)",
            "The message", ref("MessageDetail"), tag="Reports", params=(TENANT_FILTER,))},
        "/campaigns/{id}/progress": {"parameters": [path_id()], "get": op(
            "A campaign's live figures (voice calls; SMS, fax and e-mail messages, segments "
            "or pages and cost)", "The figures", ref("CampaignProgress"), tag="Campaigns",
            params=(TENANT_FILTER,))},
    }

