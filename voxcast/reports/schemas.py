"""Reports: the input schemas of the report builder and saved reports (the API validates
requests against them and publishes them). voxcast.reports.builder.validate checks again what
depends on the source (which fields, filters and aggregates it has)."""
from __future__ import annotations

from voxcast.reports.builder import MAX_FIELDS, MAX_ROWS, SOURCES
from voxcast.schemas import ID, TIMEZONE, obj

NAME = {"type": "string", "minLength": 1, "maxLength": 100}
FIELD = {"type": "string", "minLength": 1, "maxLength": 40,
         "description": "A dimension of the source (day, week, month, campaign, agent, ...), "
                        "\"count\", or an aggregate \"sum|avg|min|max:<measure>\"."}
IDS = {"type": "array", "items": ID, "maxItems": 500}
NAMES = {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 500}
FILTERS = obj({
    "campaign_id": IDS, "agent_id": IDS, "queue_id": IDS, "pause_reason_id": IDS,
    "direction": NAMES, "disposition": NAMES, "agent_disposition": NAMES, "state": NAMES,
    "outcome": NAMES, "number": {"type": "string", "maxLength": 40,
                                 "description": "the number contains these characters"},
})
FILTERS["description"] = "Which filters a source takes: calls: campaign_id, agent_id, " \
    "queue_id, direction, disposition, agent_disposition, number; agent_states: agent_id, " \
    "state, pause_reason_id; queue_calls: queue_id, campaign_id, agent_id, outcome."
DEFINITION = obj({
    "source": {"type": "string", "enum": list(SOURCES)},
    "fields": {"type": "array", "items": FIELD, "minItems": 1, "maxItems": MAX_FIELDS},
    "filters": FILTERS,
    "group_by": {"type": "array", "items": FIELD, "maxItems": 10},
    "sort": {"type": "array", "maxItems": 10, "items": obj(
        {"field": FIELD, "desc": {"type": "boolean", "default": False}}, ["field"])},
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS},
}, ["source", "fields"])
DATE = {"type": "string", "format": "date", "example": "2026-11-30",
        "description": "A local day (YYYY-MM-DD) in `zone`."}
BUILDER_RUN = obj({"definition": DEFINITION, "start": DATE, "end": DATE, "zone": TIMEZONE,
                   "limit": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS}},
                  ["definition"])
SAVED_CREATE = obj({"name": NAME, "definition": DEFINITION}, ["name", "definition"])
SAVED_UPDATE = obj({"name": NAME, "definition": DEFINITION}, update=True)
