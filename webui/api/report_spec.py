"""The OpenAPI part of the statistics and report-builder resources (webui/api/statistics.py):
their response schemas and paths, merged into the document by webui.api.spec.build()."""
from __future__ import annotations

from voxcast.reports.queue_stats import ABANDON_BUCKETS
from voxcast.reports.schemas import BUILDER_RUN, SAVED_CREATE, SAVED_UPDATE
from voxcast.schemas import DATETIME, ID, NULLABLE_ID, STRING, out

from .spec import PERIOD_FIELDS, PERIOD_PARAMS, TENANT_FILTER, WRITE, op, path_id, query, ref

INT = {"type": "integer"}
NUM_NULL = {"type": "number", "nullable": True}
SECONDS = {"type": "object", "additionalProperties": INT}
PERIOD = PERIOD_FIELDS


def schemas() -> dict:
    return {
        "AgentStatistics": out({**PERIOD, "items": {"type": "array", "items": out({
            "user_id": ID, "username": STRING, "name": STRING, "login": INT, "ready": INT,
            "ringing": INT, "talk": INT, "wrapup": INT, "paused": INT,
            "pauses": {**SECONDS, "description": "paused seconds per reason name "
                                                 "(\"\": no reason)"},
            "offered": INT, "answered": INT, "missed": INT,
            "asa": {**NUM_NULL, "description": "average speed of answer, seconds"},
            "aht": {**NUM_NULL, "description": "average handle time (talk + wrap-up per "
                                               "answered call), seconds"}})}}),
        "DispositionStatistics": out({
            **PERIOD, "dispositions": {"type": "array", "items": STRING},
            "items": {"type": "array", "items": out({
                "user_id": ID, "username": STRING, "campaign_id": NULLABLE_ID,
                "campaign": STRING, "counts": {"type": "object", "additionalProperties": INT},
                "total": INT})},
            "breaks": {"type": "array", "items": out({
                "user_id": ID, "username": STRING, "paused": INT, "by_reason": SECONDS})}}),
        "QueueStatistics": out({**PERIOD, "target": {
            "type": "integer", "nullable": True,
            "description": "The `target` asked for, applied to every queue; null: each queue "
                           "against its own service_level_seconds."},
            "items": {"type": "array", "items": out({
            "queue_id": ID, "name": STRING,
            "target": {**INT, "description": "The service-level target (s) this queue was "
                                             "measured against."},
            "offered": INT, "answered": INT,
            "abandoned": INT, "abandoned_after": out({label: INT for label, _l, _h in
                                                      ABANDON_BUCKETS}),
            "timeout": INT, "no_agents": INT, "transferred": INT, "waiting": INT,
            "answered_in_target": INT,
            "service_level": {**NUM_NULL, "description": "% answered within the row's "
                                                         "`target` seconds of the calls that "
                                                         "ended"},
            "abandon_rate": NUM_NULL, "average_wait": NUM_NULL,
            "average_abandon_wait": NUM_NULL, "longest_wait": INT})}}),
        "CampaignStatistics": out({**PERIOD, "items": {"type": "array", "items": out({
            "campaign_id": ID, "name": STRING, "type": STRING, "attempts": INT,
            "reached": INT, "answered": INT, "machine": INT, "busy": INT, "no_answer": INT,
            "failed": INT, "billsec": INT, "cost": {"type": "string", "example": "1.2500"},
            "answer_rate": NUM_NULL, "agent_calls": INT, "connected": INT, "abandoned": INT,
            "abandon_rate": {**NUM_NULL, "description": "Voice Agent: abandoned in % of the "
                                                        "calls a person answered"},
            "outcomes": {"type": "object", "additionalProperties": INT}})}}),
        "ReportResult": out({
            **PERIOD,
            "columns": {"type": "array", "items": out({"key": STRING, "label": STRING,
                                                       "kind": STRING})},
            "rows": {"type": "array", "items": {"type": "array", "items": {}}},
            "truncated": {"type": "boolean"},
            "used": {"type": "string", "description": "what the figures were read from: raw, or a "
                                                "rollup (call_hour, call_quarter, call_rollup)"}}),
        "SavedReport": out({"id": ID, "tenant_id": ID, "name": STRING, "owner_id": NULLABLE_ID,
                            "definition": {"type": "object"}, "created_at": DATETIME,
                            "updated_at": DATETIME}),
    }


def paths() -> dict:
    date_params = (TENANT_FILTER, *PERIOD_PARAMS)
    saved_item = {
        "parameters": [path_id()],
        "get": op("Get a saved report", "The saved report", ref("SavedReport"), tag="Reports"),
        "patch": op("Rename a saved report or replace its definition", "The saved report",
                    ref("SavedReport"), request=SAVED_UPDATE, tag="Reports", errors=WRITE),
        "delete": op("Delete a saved report", "Deleted", status="204", tag="Reports"),
    }
    return {
        "/reports/agents": {"get": op(
            "Agent statistics: time per state and pause reason, calls offered / answered / "
            "missed, average speed of answer and handle time", "Per agent",
            ref("AgentStatistics"), tag="Reports", params=date_params)},
        "/reports/dispositions": {"get": op(
            "Disposition statistics: calls per agent, campaign and disposition, and each "
            "agent's break time per pause reason", "Per agent and campaign",
            ref("DispositionStatistics"), tag="Reports", params=date_params)},
        "/reports/queues": {"get": op(
            "Queue statistics: offered, answered, abandoned (by wait), service level, average "
            "and longest wait", "Per queue", ref("QueueStatistics"), tag="Reports",
            params=(*date_params, query("target", {"type": "integer", "minimum": 1,
                                                   "maximum": 3600},
                                        "Service-level target in seconds for every queue; "
                                        "absent: each queue's own service_level_seconds.")))},
        "/reports/campaigns": {"get": op(
            "Campaign statistics: attempts, contacts reached, answered, machine, abandon rate, "
            "outcomes, cost", "Per campaign", ref("CampaignStatistics"), tag="Reports",
            params=date_params)},
        "/reports/builder": {"post": op(
            "Run a report-builder definition (not saved); 422 says what is wrong per part",
            "The report", ref("ReportResult"), request=BUILDER_RUN, tag="Reports",
            params=(TENANT_FILTER,), errors=WRITE)},
        "/saved-reports": {
            "get": op("List the tenant's saved reports", "The saved reports",
                      out({"items": {"type": "array", "items": ref("SavedReport")}}),
                      tag="Reports", params=(TENANT_FILTER,)),
            "post": op("Save a report-builder definition under a name", "Created",
                       ref("SavedReport"), status="201", request=SAVED_CREATE, tag="Reports",
                       params=(TENANT_FILTER,), errors=WRITE),
        },
        "/saved-reports/{id}": saved_item,
        "/saved-reports/{id}/run": {"parameters": [path_id()], "get": op(
            "Run a saved report over a date range", "The report", ref("ReportResult"),
            tag="Reports", params=(*date_params, query(
                "limit", {"type": "integer", "minimum": 1, "maximum": 100000},
                "At most this many rows.")))},
    }
