"""The OpenAPI 3.0 document of /api/v1, as Python data beside the resources.

The request-body schemas are each feature's own (`voxcast/<feature>/schemas.py`, built from
`voxcast.schemas`); the resources validate against them (webui.api.body) and this document
publishes them, so the published document and the server's checks are one definition."""
from __future__ import annotations

import copy

from voxcast.schemas import (  # noqa: F401  (re-exported for the resources)
    MAX_ID, ID, NULLABLE_ID, TEXT, LONG_TEXT, EMAIL, DECIMAL, TIMEZONE, LANGUAGE, COUNTRY,
    PHONE_IN, DATETIME, STRING, DATETIME_NULL, ROLES, USERNAME, PASSWORD, PIN, CUSTOM, obj,
    out,
)
from voxcast.tenants.schemas import (  # noqa: F401  (re-exported for the resources)
    TENANT_FIELDS, TENANT_CREATE, TENANT_UPDATE,
)
from voxcast.accounts.schemas import (  # noqa: F401  (re-exported for the resources)
    USER_FIELDS, USER_CREATE, USER_UPDATE,
)
from voxcast.numbers.schemas import (  # noqa: F401  (re-exported for the resources)
    EXTENSION_CREATE, EXTENSION_ALLOCATE, ASSIGN_USER, ALLOCATE, DID_CREATE, DID_UPDATE,
    EXTENSION_UPDATE,
)
from voxcast.contacts.schemas import (  # noqa: F401  (re-exported for the resources)
    GROUP_CREATE, GROUP_UPDATE, CONTACT_FIELDS, CONTACT_CREATE, CONTACT_UPDATE, BULK_MAX,
    CONTACT_BULK, DNC_CREATE,
)
from voxcast.campaigns.schemas import (  # noqa: F401  (re-exported for the resources)
    CAMPAIGN_TYPES, FLOW, CAMPAIGN_FIELDS, CAMPAIGN_CREATE, CAMPAIGN_UPDATE,
)
from voxcast.ivr.schemas import (  # noqa: F401  (re-exported for the resources)
    IVR_TREE, IVR_CREATE, IVR_UPDATE,
)
from voxcast.queues.schemas import (  # noqa: F401  (re-exported for the resources)
    QUEUE_CREATE, QUEUE_UPDATE,
)
from voxcast.supervision.monitor import MONITOR_REQUEST  # noqa: F401
from voxcast.agents.schemas import (  # noqa: F401  (re-exported for the resources)
    PAUSE_REASON_CREATE, PAUSE_REASON_UPDATE, DISPOSITION_CREATE, DISPOSITION_UPDATE,
    AGENT_STATE,
)
from voxcast.evaluation.schemas import (  # noqa: F401  (re-exported for the resources)
    FORM_CREATE as EVALUATION_FORM_CREATE, FORM_UPDATE as EVALUATION_FORM_UPDATE,
    EVALUATION_CREATE, EVALUATION_UPDATE,
)


# --- responses -------------------------------------------------------------------------------
# the date range every report answer echoes (webui/api/periods.py)
PERIOD_FIELDS = {"start": {"type": "string", "format": "date"},
                 "end": {"type": "string", "format": "date"}, "zone": STRING}


def ref_summary_row() -> dict:
    """One line of the evaluation summary (voxcast.evaluation.summary.Row.as_dict)."""
    pct = {"type": "string", "nullable": True, "example": "82.69"}
    return out({"agent_id": ID, "agent": STRING, "form_id": NULLABLE_ID, "form": STRING,
                "count": {"type": "integer"},
                "scored": {"type": "integer", "description": "evaluations with a score"},
                "average": pct, "minimum": pct, "maximum": pct,
                "sections": {"type": "array", "items": out({
                    "section_id": ID, "title": STRING, "average": pct,
                    "count": {"type": "integer"}})}})


SCHEMAS = {
    "Error": out({"error": out({
        "code": {"type": "string", "example": "validation"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Field name -> why it was refused."},
    })}),
    "Tenant": out({
        "id": ID, "name": STRING, "slug": STRING, "country": STRING, "timezone": STRING,
        "language": STRING, "email": STRING, "channel_limit": {"type": "integer"},
        "allowed_caller_ids": {"type": "array", "items": STRING},
        "blocked_prefixes": {"type": "array", "items": STRING},
        "balance": {"type": "string", "example": "25.0000"},
        "status": {"type": "string", "enum": ["active", "suspended"]},
        "features": {"type": "array", "items": STRING},
        "max_users": {"type": "integer"}, "max_agents": {"type": "integer"},
        "max_campaigns": {"type": "integer"}, "max_contacts": {"type": "integer"},
        "sms_per_second": {"type": "integer", "description": "SMS submits per second, all campaigns"},
        "email_per_hour": {"type": "integer", "description": "E-mails per hour, all campaigns"},
        "created_at": DATETIME,
    }),
    "User": out({
        "id": ID, "tenant_id": ID, "username": STRING, "role": STRING,
        "first_name": STRING, "last_name": STRING, "email": STRING, "phone": STRING,
        "timezone": STRING, "language": STRING, "active": {"type": "boolean"},
        "created_at": DATETIME,
    }),
    "Extension": out({
        "id": ID, "number": STRING, "secret": {"type": "string", "description": "SIP password"},
        "tenant_id": NULLABLE_ID, "user_id": NULLABLE_ID,
        "browser_phone": {"type": "boolean", "description": "the agent console's WebRTC phone"},
        "created_at": DATETIME,
    }),
    "Did": out({
        "id": ID, "number": STRING, "tenant_id": NULLABLE_ID, "route": STRING,
        "user_id": NULLABLE_ID, "campaign_id": NULLABLE_ID, "queue_id": NULLABLE_ID,
        "ivr_id": NULLABLE_ID, "closed_route": STRING, "closed_target": NULLABLE_ID,
        "closed_text": STRING, "greeting_text": STRING, "greeting_prompt_id": NULLABLE_ID,
        "fax_detect": {"type": "boolean"}, "fax_emails": STRING,
    }),
    "Group": out({"id": ID, "tenant_id": ID, "name": STRING,
                  "contacts": {"type": "integer", "minimum": 0}}),
    "Contact": out({"id": ID, "group_id": ID, "phone": STRING, "first_name": STRING,
                    "last_name": STRING, "email": STRING,
                    **{f"custom{i}": STRING for i in range(1, 9)}}),
    "BulkResult": out({
        "created": {"type": "array", "items": {"$ref": "#/components/schemas/Contact"}},
        "errors": {"type": "array", "items": out({
            "index": {"type": "integer", "minimum": 0}, "code": STRING, "message": STRING,
            "fields": {"type": "object", "additionalProperties": {"type": "string"}}})},
    }),
    "Campaign": out({
        "id": ID, "tenant_id": ID, "name": STRING, "type": {"type": "string", "enum": CAMPAIGN_TYPES},
        "group_id": NULLABLE_ID, "ivr_id": NULLABLE_ID, "flow": {"type": "object"},
        "repeat_count": {"type": "integer"}, "message_text": STRING, "message_file": STRING,
        "caller_id": STRING, "channel_limit": {"type": "integer"},
        "dial_timeout": {"type": "integer"}, "retry_busy": {"type": "integer"},
        "retry_noanswer": {"type": "integer"}, "retry_failed": {"type": "integer"},
        "retry_interval": {"type": "integer"}, "retry_machine": {"type": "integer"},
        "amd_enabled": {"type": "boolean"}, "amd_action": STRING, "record": {"type": "boolean"},
        "windows": {"type": "string", "description": "Calling hours, as they are typed."},
        "status": {"type": "string", "enum": ["draft", "running", "paused", "completed", "stopped"]},
        "status_reason": STRING,
        "status_code": {"type": "string", "description": "why it is paused or waiting: "
                        "no_credit, tenant_suspended, type_not_dialable, message_missing, "
                        "ari_down, no_window, closed_until, not_recording, no_agents, text (a reason "
                        "from before codes, in params.text); empty when none"},
        "status_params": {"type": "object", "description": "the cause's parameters"},
        "progress": {"type": "object", "additionalProperties": {"type": "integer"},
                     "description": "total, dialed, answered, ... and pressed1, opted_out, "
                                    "confirmed, cancelled, transferred, surveyed; abandoned "
                                    "(voice_agent: answered, no agent within 2 s); sms, fax, "
                                    "email: messages, sent, delivered, ... as in "
                                    "CampaignProgress (GET /campaigns/{id}/progress)."},
        "dial_ratio": {"type": "number"}, "wrapup_seconds": {"type": "integer"},
        "pacing_mode": {"type": "string", "enum": ["ratio", "predictive"]},
        "abandon_cap_pct": {"type": "number", "minimum": 0.5, "maximum": 10},
        "script": STRING, "web_form_url": STRING,
        "agent_ids": {"type": "array", "items": ID},
        "abandon_rate": {"type": "number", "minimum": 0, "maximum": 100,
                         "description": "voice_agent: abandoned calls in % of the calls a "
                                        "person answered, live."},
        # sms, fax, email (voxcast/campaigns/schemas.py MESSAGE_FIELDS describes them)
        "sms_text": STRING, "sms_sender": STRING, "smsc_id": NULLABLE_ID,
        "email_subject": STRING, "email_html": STRING, "email_text": STRING,
        "email_from": STRING, "bounce_address": STRING, "fax_document_id": NULLABLE_ID,
        "cost": {"type": "string", "nullable": True, "example": "1.2500",
                 "description": "sms, fax, email: the charges so far (null for voice "
                                "campaigns: see their CDRs)"},
        "created_at": DATETIME,
    }),
    "SurveyResults": out({"items": {"type": "array", "items": out({
        "key": STRING, "text": STRING, "total": {"type": "integer"},
        "digits": {"type": "array", "items": out({"digit": STRING,
                                                   "count": {"type": "integer"}})}})}}),
    "Ivr": out({"id": ID, "tenant_id": ID, "name": STRING, "number": STRING, "tree": {"type": "object"},
                "created_at": DATETIME}),
    "Dnc": out({"id": ID, "tenant_id": NULLABLE_ID, "phone": STRING, "source": STRING,
                "created_at": DATETIME}),
    "Queue": out({
        "id": ID, "tenant_id": ID, "name": STRING, "number": STRING, "strategy": STRING,
        "ring_seconds": {"type": "integer"}, "max_wait_seconds": {"type": "integer"},
        "music_class": STRING, "announce_every_seconds": {"type": "integer"},
        "announce_position": {"type": "boolean"}, "announce_wait": {"type": "boolean"},
        "wrapup_seconds": {"type": "integer"},
        "service_level_seconds": {"type": "integer", "description": "The service-level target "
                                  "(answered within this many seconds)."},
        "fallback": STRING,
        "fallback_queue_id": NULLABLE_ID, "fallback_ivr_id": NULLABLE_ID, "fallback_text": STRING,
        "members": {"type": "array", "items": out({"user_id": ID,
                                                   "penalty": {"type": "integer"}})},
        "created_at": DATETIME,
    }),
    "AgentSession": out({
        "id": ID, "tenant_id": ID, "user_id": ID, "username": STRING,
        "extension": {"type": "string", "nullable": True},
        "via": {"type": "string", "enum": ["web", "phone"]},
        "state": {"type": "string", "enum": ["logged_out", "ready", "ringing", "on_call",
                                             "wrapup", "paused"]},
        "state_since": DATETIME, "pause_reason_id": NULLABLE_ID,
        "pause_reason": {"type": "string", "nullable": True}, "call_id": NULLABLE_ID,
        "wrapup_until": DATETIME_NULL, "missed_in_row": {"type": "integer"},
        "version": {"type": "integer", "description": "Grows on every change of the session."},
        "started_at": DATETIME,
    }),
    "MonitorCommand": out({
        "action": {"type": "string", "enum": ["start", "stop"]},
        "mode": {"type": "string", "enum": ["listen", "whisper", "barge"], "nullable": True},
        "agent_session_id": ID, "agent_id": ID, "supervisor_id": ID,
        "extension": {"type": "string", "nullable": True,
                      "description": "The supervisor's phone that rings."}}),
    "PauseReason": out({"id": ID, "tenant_id": ID, "name": STRING,
                        "system": {"type": "boolean", "description": "The reason the platform "
                                   "pauses agents with after unanswered offers."},
                        "active": {"type": "boolean"}}),
    "Disposition": out({"id": ID, "tenant_id": ID, "name": STRING,
                        "kind": {"type": "string", "enum": ["normal", "callback", "dnc"]},
                        "position": {"type": "integer"}, "active": {"type": "boolean"}}),
    "QueueStats": out({
        "since": DATETIME,
        "service_seconds": {"type": "integer", "description": "The default target (s) of a "
                            "queue; each item carries its queue's own service_seconds."},
        "items": {"type": "array", "items": out({
            "queue_id": ID,
            "service_seconds": {"type": "integer",
                                "description": "The queue's service-level target (s)."},
            "waiting": {"type": "integer"},
            "longest_wait": {"type": "integer", "description": "seconds, of the callers waiting"},
            "logged_in": {"type": "integer"}, "ready": {"type": "integer"},
            "answered": {"type": "integer"}, "abandoned": {"type": "integer"},
            "timeout": {"type": "integer"}, "no_agents": {"type": "integer"},
            "transferred": {"type": "integer"},
            "average_wait": {"type": "number", "nullable": True},
            "service_level": {"type": "number", "nullable": True,
                              "description": "% answered within service_seconds of the calls "
                                             "that ended in the queue"}})},
    }),
    # -- the wallboard and live statistics (webui/api/supervision.py) --
    "LiveCall": out({
        "call_id": ID,
        "leg": {"type": "string", "enum": ["outbound", "inbound", "queue", "agent", "transfer",
                                           "internal", "phone"]},
        "direction": STRING, "number": STRING, "did": STRING,
        "state": {"type": "string", "enum": ["dialing", "ringing", "amd", "in_flow", "queued",
                                             "talking", "on_hold", "consulting", "conference",
                                             "transferring"]},
        "started_at": DATETIME, "answered_at": DATETIME_NULL,
        "duration": {"type": "integer", "description": "seconds since the call started"},
        "state_seconds": {"type": "integer", "description": "seconds in `state`"},
        "campaign_id": NULLABLE_ID, "campaign": STRING, "queue_id": NULLABLE_ID,
        "queue": STRING, "agent_id": NULLABLE_ID, "agent": STRING,
        "queue_call_id": NULLABLE_ID,
    }),
    "LiveCalls": out({"now": DATETIME, "items": {"type": "array", "items": {
        "$ref": "#/components/schemas/LiveCall"}}}),
    "Wallboard": out({
        "now": DATETIME, "since": DATETIME, "zone": STRING,
        "service_seconds": {"type": "integer", "description": "The default target (s) of a "
                            "queue; each queue carries its own service_seconds."},
        "totals": {"type": "object", "additionalProperties": {"type": "integer"},
                   "description": "agents, ready, ringing, on_call, wrapup, paused, calls, "
                                  "waiting, longest_wait"},
        "agents": {"type": "array", "items": out({
            "user_id": ID, "session_id": ID, "username": STRING, "name": STRING,
            "extension": STRING, "via": {"type": "string", "enum": ["web", "phone"]},
            "state": {"type": "string", "enum": ["ready", "ringing", "on_call", "wrapup",
                                                 "paused"]},
            "state_since": DATETIME, "state_seconds": {"type": "integer"},
            "pause_reason": {"type": "string", "nullable": True},
            "wrapup_until": DATETIME_NULL,
            "call": {"allOf": [{"$ref": "#/components/schemas/LiveCall"}], "nullable": True}})},
        "queues": {"type": "array", "items": out({
            "queue_id": ID, "name": STRING, "number": STRING,
            "service_seconds": {"type": "integer",
                                "description": "The queue's service-level target (s)."},
            "waiting": {"type": "integer"},
            "longest_wait": {"type": "integer"}, "logged_in": {"type": "integer"},
            "ready": {"type": "integer"}, "answered": {"type": "integer"},
            "abandoned": {"type": "integer"}, "timeout": {"type": "integer"},
            "no_agents": {"type": "integer"}, "transferred": {"type": "integer"},
            "average_wait": {"type": "number", "nullable": True},
            "service_level": {"type": "number", "nullable": True}})},
        "calls": {"type": "array", "items": {"$ref": "#/components/schemas/LiveCall"}},
        "campaigns": {"type": "array", "description": "Running Voice Agent campaigns.",
                      "items": {"type": "object", "required": [
                          "campaign_id", "name", "pacing_mode", "abandon_cap_pct", "calls",
                          "waiting"], "properties": {
                          "campaign_id": ID, "name": STRING,
                          "pacing_mode": {"type": "string", "enum": ["ratio", "predictive"]},
                          "abandon_cap_pct": {"type": "number"},
                          "calls": {"type": "integer"}, "waiting": {"type": "integer"},
                          "abandon_pct": {"type": "number"},
                          "window_abandon_pct": {"type": "number"},
                          "answer_rate_pct": {"type": "number", "nullable": True},
                          "aht_seconds": {"type": "integer", "nullable": True},
                          "dial_level": {"type": "number", "nullable": True}}}},
    }),
    "EvaluationForm": out({
        "id": ID, "tenant_id": ID, "name": STRING, "description": STRING,
        "active": {"type": "boolean"},
        "evaluations": {"type": "integer", "description": "Evaluations made with the form."},
        "sections": {"type": "array", "items": out({
            "id": ID, "title": STRING, "position": {"type": "integer"},
            "questions": {"type": "array", "items": out({
                "id": ID, "text": STRING, "kind": {"type": "string", "enum": ["yes_no", "scale"]},
                "scale_max": {"type": "integer"},
                "weight": {"type": "string", "example": "1.50"},
                "allow_na": {"type": "boolean"}, "position": {"type": "integer"},
                "locked": {"type": "boolean", "description": "Answered in evaluations: only "
                           "its text may change."}})}})},
        "created_at": DATETIME, "updated_at": DATETIME,
    }),
    "Evaluation": out({
        "id": ID, "tenant_id": ID, "form_id": ID, "call_id": NULLABLE_ID, "agent_id": ID,
        "evaluator_id": NULLABLE_ID,
        "score": {"type": "string", "nullable": True, "example": "87.50",
                  "description": "points / max_points x 100; null when every answer was N/A."},
        "points": {"type": "string"}, "max_points": {"type": "string"}, "comment": STRING,
        "call_started_at": DATETIME_NULL,
        "answers": {"type": "array", "items": out({
            "question_id": ID, "value": STRING, "points": {"type": "string"}})},
        "created_at": DATETIME, "updated_at": DATETIME,
    }),
    "EvaluationSummary": out({
        **PERIOD_FIELDS,
        "timezone": {**STRING, "description": "The same as zone (its former name)."},
        "items": {"type": "array", "description": "Per agent and form.",
                  "items": ref_summary_row()},
        "agents": {"type": "array", "description": "Per agent over every form (form_id null).",
                   "items": ref_summary_row()},
        "questions": {"type": "array", "description": "Per form, each question over the "
                      "chosen evaluations: answered, N/A, average share of its weight earned.",
                      "items": out({"form_id": ID, "items": {"type": "array", "items": out({
                          "question_id": ID, "text": STRING, "section": STRING,
                          "answered": {"type": "integer"}, "na": {"type": "integer"},
                          "average": {"type": "string", "nullable": True}})}})},
    }),
    "AgentStats": out({
        "since": DATETIME, "until": DATETIME,
        "items": {"type": "array", "items": out({
            "user_id": ID,
            "seconds": {"type": "object", "additionalProperties": {"type": "integer"},
                        "description": "ready, ringing, on_call, wrapup, paused, logged_out "
                                       "and login (all but logged_out)."}})},
    }),
}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(name: str) -> dict:
    return out({"items": {"type": "array", "items": ref(name)}, "page": {"type": "integer"},
                "per_page": {"type": "integer"}, "total": {"type": "integer"}})


ERRORS = {
    "400": "Malformed request (not JSON, bad query parameter).",
    "401": "No API key, or an unknown or revoked one.",
    "403": "This key may not do this (tenant key on a provider resource, suspended tenant).",
    "404": "No such object for this key's tenant.",
    "409": "Conflicts with an existing object (duplicate name or number).",
    "422": "The body did not validate; `fields` says why per field.",
    "503": "The telephony server is not reachable now; try again.",
}


def json_content(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def op(summary: str, ok: str | None, ok_schema: dict | None = None, *, status: str = "200",
       request: dict | None = None, params=(), tag: str = "", errors=("400", "401", "403", "404"),
       extra: dict | None = None) -> dict:
    responses = {}
    if ok_schema is not None:
        responses[status] = {"description": ok, "content": json_content(ok_schema)}
    else:
        responses[status] = {"description": ok}
    for code in errors:
        responses[code] = {"description": ERRORS[code], "content": json_content(ref("Error"))}
    if extra:
        responses.update(extra)
    operation = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        operation["parameters"] = list(params)
    if request is not None:
        operation["requestBody"] = {"required": True, "content": json_content(request)}
    return operation


def path_id(name: str = "id") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def query(name: str, schema: dict, description: str = "") -> dict:
    p = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        p["description"] = description
    return p


PAGING = (query("page", {"type": "integer", "minimum": 1, "maximum": MAX_ID, "default": 1}),
          query("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}))
TENANT_FILTER = query("tenant_id", ID, "Only with the provider's key: limit to one tenant.")
WRITE = ("400", "401", "403", "404", "409", "422")
EVALUATION_FILTERS = (query("agent_id", ID), query("form_id", ID), query("call_id", ID))
ZONE_SCHEMA = {"type": "string", "maxLength": 64}
PERIOD_PARAMS = (  # every report endpoint's date range (webui/api/periods.py)
    query("start", {"type": "string", "format": "date"}, "First local day (YYYY-MM-DD); "
          "default the first of this month."),
    query("end", {"type": "string", "format": "date"}, "Last local day, inclusive; default today."),
    query("zone", ZONE_SCHEMA, "IANA time zone of the days; default the tenant's."))
EVALUATION_PERIOD_PARAMS = (*PERIOD_PARAMS, query(
    "timezone", ZONE_SCHEMA, "Former name of `zone`, still read when `zone` is absent."))


def crud(name: str, tag: str, create_schema, update_schema, *, list_params=(),
         update_method: str = "patch") -> tuple[dict, dict]:
    collection = {
        "get": op(f"List {tag.lower()}", "One page", page_of(name), tag=tag,
                  params=(*PAGING, *list_params)),
    }
    if create_schema is not None:
        collection["post"] = op(f"Create a {name.lower()}", "Created", ref(name), status="201",
                                request=create_schema, tag=tag, errors=WRITE)
    item = {
        "parameters": [path_id()],
        "get": op(f"Get a {name.lower()}", "The object", ref(name), tag=tag),
        "delete": op(f"Delete a {name.lower()}", "Deleted", status="204", tag=tag,
                     errors=("400", "401", "403", "404", "409")),
    }
    if update_schema is not None:
        item[update_method] = op(f"Change a {name.lower()}", "The changed object", ref(name),
                                 request=update_schema, tag=tag, errors=WRITE)
    return collection, item


def build() -> dict:
    tenants, tenant = crud("Tenant", "Tenants", TENANT_CREATE, TENANT_UPDATE)
    users, user = crud("User", "Users", USER_CREATE, USER_UPDATE, list_params=(TENANT_FILTER,))
    groups, group = crud("Group", "Contacts", GROUP_CREATE, GROUP_UPDATE,
                         list_params=(TENANT_FILTER,))
    _, contact = crud("Contact", "Contacts", None, CONTACT_UPDATE)
    campaigns, campaign = crud("Campaign", "Campaigns", CAMPAIGN_CREATE, CAMPAIGN_UPDATE,
                               list_params=(TENANT_FILTER,))
    del campaign["delete"]  # campaigns are stopped, not deleted: their CDRs stay
    ivrs, ivr = crud("Ivr", "IVRs", IVR_CREATE, IVR_UPDATE, list_params=(TENANT_FILTER,))
    queues, queue = crud("Queue", "Queues", QUEUE_CREATE, QUEUE_UPDATE,
                         list_params=(TENANT_FILTER,))
    reasons, reason = crud("PauseReason", "Agents", PAUSE_REASON_CREATE, PAUSE_REASON_UPDATE,
                           list_params=(TENANT_FILTER,))
    dispositions, disposition = crud("Disposition", "Agents", DISPOSITION_CREATE,
                                     DISPOSITION_UPDATE, list_params=(TENANT_FILTER,))
    eval_forms, eval_form = crud("EvaluationForm", "Evaluation", EVALUATION_FORM_CREATE,
                                 EVALUATION_FORM_UPDATE, list_params=(TENANT_FILTER,))
    eval_form["delete"]["summary"] = ("Delete an evaluation form that has no evaluations "
                                      "(409 otherwise: deactivate it)")
    evals, evaluation = crud("Evaluation", "Evaluation", EVALUATION_CREATE, EVALUATION_UPDATE,
                             list_params=(TENANT_FILTER, *EVALUATION_FILTERS,
                                          *EVALUATION_PERIOD_PARAMS))
    evals["post"]["summary"] = ("Score a call taken by an agent with an active form (one "
                                "evaluation per call and form: 409 with its id when it exists)")
    evaluation["patch"]["summary"] = "Re-score an evaluation (answers) or change its comment"
    admin = " (provider key only)"
    paths = {
        "/tenants": tenants,
        "/tenants/{id}": tenant,
        "/tenants/{id}/suspend": {"parameters": [path_id()], "post": op(
            "Suspend a tenant: its users and keys are refused" + admin, "The tenant",
            ref("Tenant"), tag="Tenants")},
        "/tenants/{id}/enable": {"parameters": [path_id()], "post": op(
            "Enable a suspended tenant" + admin, "The tenant", ref("Tenant"), tag="Tenants")},
        "/users": users,
        "/users/{id}": user,
        "/extensions": {
            "get": op("List extensions (the tenant's; with the provider key every one, or the "
                      "pool with tenant_id=0)", "One page", page_of("Extension"),
                      tag="Extensions", params=(*PAGING, query(
                          "tenant_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                          "Provider key: one tenant's, or 0 for the unallocated pool."))),
            "post": op("Create an extension in the pool" + admin, "Created", ref("Extension"),
                       status="201", request=EXTENSION_CREATE, tag="Extensions", errors=WRITE),
        },
        "/extensions/{id}": {
            "parameters": [path_id()],
            "get": op("Get an extension", "The extension", ref("Extension"), tag="Extensions"),
            "patch": op("Assign the extension to a user of its tenant, or unassign (null); "
                        "make it a browser phone or a SIP phone",
                        "The extension", ref("Extension"), request=EXTENSION_UPDATE,
                        tag="Extensions", errors=WRITE),
        },
        "/extensions/allocate": {"post": op(
            "Allocate the `count` lowest free extensions to a tenant (all or none)" + admin,
            "The allocated extensions", out({"items": {"type": "array",
                                                         "items": ref("Extension")}}),
            request=EXTENSION_ALLOCATE, tag="Extensions", errors=WRITE)},
        "/extensions/{id}/release": {"parameters": [path_id()], "post": op(
            "Return an allocated extension to the pool (new secret)" + admin, "The extension",
            ref("Extension"), tag="Extensions", errors=WRITE)},
        "/dids": {
            "get": op("List DIDs (the tenant's; with the provider key every one, or the pool "
                      "with tenant_id=0)", "One page", page_of("Did"), tag="DIDs",
                      params=(*PAGING, query(
                          "tenant_id", {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                          "Provider key: one tenant's, or 0 for the unallocated pool."))),
            "post": op("Add a DID to the pool" + admin, "Created", ref("Did"), status="201",
                       request=DID_CREATE, tag="DIDs", errors=WRITE),
        },
        "/dids/{id}": {
            "parameters": [path_id()],
            "get": op("Get a DID", "The DID", ref("Did"), tag="DIDs"),
            "patch": op("Route the DID to a user or campaign; set its greeting", "The DID",
                        ref("Did"), request=DID_UPDATE, tag="DIDs", errors=WRITE),
        },
        "/dids/{id}/allocate": {"parameters": [path_id()], "post": op(
            "Allocate to a tenant, or return to the pool (null)" + admin, "The DID", ref("Did"),
            request=ALLOCATE, tag="DIDs", errors=WRITE)},
        "/groups": groups,
        "/groups/{id}": group,
        "/groups/{id}/contacts": {
            "parameters": [path_id()],
            "get": op("List a group's contacts", "One page", page_of("Contact"),
                      tag="Contacts", params=PAGING),
            "post": op(f"Add one contact (object, 201) or up to {BULK_MAX} (array, 200 with "
                       "per-item errors; valid items are stored)", "Bulk result",
                       ref("BulkResult"), request={"oneOf": [CONTACT_CREATE, CONTACT_BULK]},
                       tag="Contacts", errors=WRITE,
                       extra={"201": {"description": "The contact",
                                      "content": json_content(ref("Contact"))}}),
        },
        "/contacts/{id}": contact,
        "/dnc": {
            "get": op("List the do-not-call list: the tenant's; with the provider key the "
                      "provider-wide list, or a tenant's with tenant_id", "One page",
                      page_of("Dnc"), tag="DNC", params=(*PAGING, TENANT_FILTER)),
            "post": op("Add a number", "Added", ref("Dnc"), status="201", request=DNC_CREATE,
                       tag="DNC", errors=WRITE),
        },
        "/dnc/{id}": {"parameters": [path_id()], "delete": op(
            "Remove a number", "Removed", status="204", tag="DNC")},
        "/campaigns": campaigns,
        "/campaigns/{id}": campaign,
        **{f"/campaigns/{{id}}/{action}": {"parameters": [path_id()], "post": op(
            summary, "The campaign", ref("Campaign"), tag="Campaigns",
            errors=("400", "401", "403", "404", "409"))} for action, summary in (
            ("start", "Start (or resume) the campaign: queues its group's contacts"),
            ("pause", "Pause: no new calls, calls in progress finish"),
            ("stop", "Stop for good"))},
        "/campaigns/{id}/survey": {"parameters": [path_id()], "get": op(
            "Survey results: answers per question and key", "The results",
            ref("SurveyResults"), tag="Campaigns")},
        "/ivrs": ivrs,
        "/ivrs/{id}": ivr,
        "/queues": queues,
        "/queues/{id}": queue,
        "/queues/stats": {"get": op(
            "Live queue figures: callers waiting, agents logged in and ready, and since `since` "
            "the outcomes, average wait and service level", "Per queue", ref("QueueStats"),
            tag="Queues", params=(TENANT_FILTER, query("since", DATETIME,
                                                         "Default: today 00:00 UTC.")))},
        "/pause-reasons": reasons,
        "/pause-reasons/{id}": reason,
        "/dispositions": dispositions,
        "/dispositions/{id}": disposition,
        "/agents": {"get": op(
            "The agents logged in now, with their state (provider key: name a tenant_id)",
            "The live sessions", out({"items": {"type": "array", "items": ref("AgentSession")}}),
            tag="Agents", params=(TENANT_FILTER,))},
        "/agents/stats": {"get": op(
            "Seconds each agent spent in each state (from the state log)", "Per agent",
            ref("AgentStats"), tag="Agents", params=(
                TENANT_FILTER,
                query("since", DATETIME, "Default: today 00:00 UTC."),
                query("until", DATETIME, "Default: now.")))},
        "/evaluation-forms": eval_forms,
        "/evaluation-forms/{id}": eval_form,
        "/evaluation-forms/{id}/duplicate": {"parameters": [path_id()], "post": op(
            "Copy a form with its sections and questions (how a used form's scoring is "
            "changed: copy, edit the copy, deactivate the old one)", "The copy",
            ref("EvaluationForm"), status="201", tag="Evaluation")},
        "/evaluations": evals,
        "/evaluations/{id}": evaluation,
        "/evaluations/summary": {"get": op(
            "Evaluation summary per agent and form over whole local days of the calls' start: "
            "count, scored, average, lowest and highest score, per-section averages "
            "(provider key: name a tenant_id)", "The summary", ref("EvaluationSummary"),
            tag="Evaluation", params=(TENANT_FILTER, *EVALUATION_FILTERS[:2],
                                                  *EVALUATION_PERIOD_PARAMS))},
        "/agents/{id}/state": {"parameters": [path_id()], "post": op(
            "Make an agent ready or pause them with a reason (refused during a call)",
            "The session", ref("AgentSession"), request=AGENT_STATE, tag="Agents",
            errors=WRITE)},
        "/agents/{id}/monitor": {"parameters": [path_id()], "post": op(
            "Listen to, whisper to (only the agent hears) or barge into the call of an agent "
            "session on the supervisor's own registered phone, or stop; the phone rings and "
            "the monitoring starts when it is answered (a second request while monitoring "
            "switches mode or agent on the same call)", "The command was sent",
            ref("MonitorCommand"), status="202", request=MONITOR_REQUEST, tag="Agents",
            errors=(*WRITE, "503"))},
        "/agents/{id}/logout": {"parameters": [path_id()], "post": op(
            "End an agent session (a supervisor's log-out)", "The ended session",
            ref("AgentSession"), tag="Agents", errors=("400", "401", "403", "404", "409"))},
        "/wallboard": {"get": op(
            "The supervisor's wallboard: agents logged in (state, seconds in it, their call), "
            "queues (waiting, longest wait, and since `since` the outcomes and service level) "
            "and the calls in progress", "The wallboard", ref("Wallboard"), tag="Agents",
            params=(TENANT_FILTER, query("since", DATETIME,
                                         "Default: today 00:00 in the tenant's time zone.")))},
        "/reports/live-calls": {"get": op(
            "Live statistics: every call in progress (outbound, inbound, queue, agent and "
            "transfer legs) with its state and duration", "The calls", ref("LiveCalls"),
            tag="Reports", params=(
                TENANT_FILTER,
                query("leg", {"type": "string", "enum": ["outbound", "inbound", "queue", "agent",
                                                         "transfer", "internal", "phone"]}),
                query("state", {"type": "string", "enum": [
                    "dialing", "ringing", "amd", "in_flow", "queued", "talking", "on_hold",
                    "consulting", "conference", "transferring"]}),
                query("campaign_id", ID), query("queue_id", ID), query("agent_id", ID)))},
    }
    from . import report_spec  # statistics and the report builder (webui/api/statistics.py)
    paths.update(report_spec.paths())
    from . import cdr_spec  # CDRs and the CDR summary (webui/api/cdrs.py)
    paths.update(cdr_spec.paths())
    from . import message_spec  # message records, campaign progress (messages.py, campaigns.py)
    paths.update(message_spec.paths())
    from . import email_dnc_spec  # the e-mail DNC list (webui/api/email_dnc.py)
    paths.update(email_dnc_spec.paths())
    from . import fax_spec  # fax documents, received faxes' PDFs (webui/api/fax.py)
    paths.update(fax_spec.paths())
    from . import smsc_spec  # the provider's SMSC connections (webui/api/smsc.py)
    paths.update(smsc_spec.paths())
    from . import frontapi_spec  # ledger, plans, quotas, features, timeslots (frontapi.py)
    paths.update(frontapi_spec.paths())
    from . import provisioning_spec  # packages, subscriptions, SSO (provisioning.py, tenants.py)
    paths.update(provisioning_spec.paths())
    from . import webhooks_spec  # signed event endpoints, their deliveries (webhooks.py)
    paths.update(webhooks_spec.paths())
    from . import prompts_spec  # the audio library (webui/api/prompts.py)
    paths.update(prompts_spec.paths())
    provisioning_spec.add_idempotency(paths)  # the Idempotency-Key header on every write
    return {
        "openapi": "3.0.3",
        "info": {"title": "voxcast API", "version": "1.0.0", "description": (
            "JSON API of voxcast. Authenticate with `Authorization: Bearer <key>` (or "
            "`X-API-Key: <key>`). A tenant's key acts as that tenant's administrator; the "
            "provider's key acts as the provider and may name a tenant with `tenant_id`. "
            "Another tenant's ids are answered with 404. Errors are "
            "`{\"error\": {\"code\", \"message\", \"fields\"}}`.")},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": copy.deepcopy({**SCHEMAS, **report_spec.schemas(), **cdr_spec.schemas(),
                                     **email_dnc_spec.schemas(), **message_spec.schemas(),
                                     **fax_spec.schemas(), **smsc_spec.schemas(),
                                     **provisioning_spec.schemas(),
                                     **frontapi_spec.schemas(),
                                     **webhooks_spec.schemas(),
                                     **prompts_spec.schemas()}),
        },
        "paths": copy.deepcopy(paths),  # x-pattern-message: an allowed x- extension
    }


DOCUMENT = build()
