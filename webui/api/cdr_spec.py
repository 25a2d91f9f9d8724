"""The OpenAPI part of the CDR resources (webui/api/cdrs.py): their schemas and paths, merged
into the document by webui.api.spec.build()."""
from __future__ import annotations

from voxcast.cdr.search import DIRECTIONS
from voxcast.schemas import DATETIME, DATETIME_NULL, ID, NULLABLE_ID, STRING, out

from .spec import (ERRORS, PAGING, PERIOD_FIELDS, PERIOD_PARAMS, TENANT_FILTER, json_content,
                   op, path_id, query, ref)

INT = {"type": "integer"}
MONEY = {"type": "string", "example": "0.0420"}
FIGURES = {"calls": INT, "answered": INT, "unanswered": INT,
           "answer_rate_pct": {"type": "string", "nullable": True, "example": "61.25",
                               "description": "answered in % of calls; null without calls"},
           "billsec": INT, "cost": MONEY}


def schemas() -> dict:
    return {
        "Cdr": out({
            "id": ID, "tenant_id": ID, "direction": {"type": "string", "enum": list(DIRECTIONS)},
            "number": STRING, "did": STRING, "started_at": DATETIME,
            "answered_at": DATETIME_NULL, "ended_at": DATETIME_NULL,
            "duration": {**INT, "description": "seconds from dialling to hang-up"},
            "billsec": {**INT, "description": "seconds after the answer (billed)"},
            "disposition": STRING, "hangup_cause": {**INT, "description": "Q.850 cause"},
            "cause_txt": STRING,
            "cost": {**MONEY, "nullable": True, "description": "null: not rated yet"},
            "campaign_id": NULLABLE_ID, "campaign": STRING, "contact_id": NULLABLE_ID,
            "queue": {"type": "string", "description": "the queue the call (or the agent "
                                                       "leg) passed through, if any"},
            "agent_id": NULLABLE_ID, "agent": STRING, "agent_disposition": STRING,
            "notes": STRING,
            "recording": {"type": "boolean",
                          "description": "GET /cdrs/{id}/recording serves it"}}),
        "CdrPage": out({"items": {"type": "array", "items": ref("Cdr")}, "page": INT,
                        "per_page": INT, "total": INT, "zone": STRING}),
        "CdrSummary": out({
            **PERIOD_FIELDS,
            "items": {"type": "array", "description": "Per local day and campaign with calls "
                      "(agent and transfer legs are part of their call, not counted again).",
                      "items": out({"day": {"type": "string", "format": "date"},
                                    "campaign_id": NULLABLE_ID, "campaign": STRING,
                                    "calls": INT, "answered": INT, "unanswered": INT,
                                    "billsec": INT, "cost": MONEY})},
            "days": {"type": "array", "description": "Every day of the period.",
                     "items": out({"day": {"type": "string", "format": "date"}, **FIGURES})},
            "campaigns": {"type": "array", "items": out({"campaign_id": NULLABLE_ID,
                                                         "campaign": STRING, **FIGURES})},
            "total": out(FIGURES)}),
    }


def paths() -> dict:
    filters = (
        TENANT_FILTER, *PERIOD_PARAMS,
        query("number", {"type": "string", "pattern": "^[0-9+*#]{1,32}$"},
              "Part of the number or DID."),
        query("direction", {"type": "string", "enum": list(DIRECTIONS)}),
        query("disposition", {"type": "string", "maxLength": 32},
              "Exact, e.g. ANSWERED, NO ANSWER, BUSY, FAILED, MACHINE."),
        query("campaign_id", ID), query("queue_id", ID), query("agent_id", ID),
    )
    wav = {"description": "The recording",
           "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}
    return {
        "/cdrs": {"get": op(
            "Call detail records, newest first (provider key: name a tenant_id); without "
            "start and end every day. format=csv (or Accept: text/csv): every matching row "
            "as the portal's CSV export, times in `zone`", "One page", ref("CdrPage"),
            tag="Reports", params=(*PAGING, *filters, query(
                "format", {"type": "string", "enum": ["json", "csv"]},
                "csv: the whole filtered list as CSV (paging ignored).")),
            extra={"200": {"description": "One page (JSON), or every row (format=csv)",
                           "content": {**json_content(ref("CdrPage")), "text/csv": {
                               "schema": {"type": "string"}}}}})},
        "/cdrs/{id}": {"parameters": [path_id()], "get": op(
            "One call detail record (the provider's key: any tenant's)", "The CDR", ref("Cdr"),
            tag="Reports",
            params=(TENANT_FILTER,))},
        "/cdrs/{id}/recording": {"parameters": [path_id()], "get": {
            "summary": "The call's recording (404 when it has none)", "tags": ["Reports"],
            "parameters": [TENANT_FILTER],
            "responses": {"200": wav, **{code: {"description": ERRORS[code],
                                                "content": json_content(ref("Error"))}
                                         for code in ("400", "401", "403", "404")}}}},
        "/reports/cdr-summary": {"get": op(
            "CDR summary: calls, answered and unanswered, billed seconds and cost per local "
            "day and campaign, per day, per campaign and in total (default this month so far)",
            "The summary", ref("CdrSummary"), tag="Reports",
            params=(TENANT_FILTER, *PERIOD_PARAMS,
                    query("campaign_id", ID, "Only this campaign's calls.")))},
    }
