"""Queues: the input schemas (what voxcast.queues.services takes; the API validates and
publishes them). The service checks again what needs the database (numbers, targets, members)."""
from __future__ import annotations

from models.entities import QUEUE_FALLBACKS, QUEUE_STRATEGIES
from voxcast.schemas import ID, NULLABLE_ID, obj

MEMBER = obj({"user_id": {**ID, "description": "One of the tenant's agents."},
              "penalty": {"type": "integer", "minimum": 0, "maximum": 100, "default": 0,
                          "description": "Lower penalties are offered calls first."}},
             ["user_id"])
QUEUE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "number": {"type": "string", "pattern": "^([0-9]{2,6})?$",
               "x-pattern-message": "2 to 6 digits, or empty",
               "description": "Dialled by the tenant's phones to reach the queue; empty: none."},
    "strategy": {"type": "string", "enum": list(QUEUE_STRATEGIES)},
    "ring_seconds": {"type": "integer", "minimum": 5, "maximum": 120,
                     "description": "How long each agent's phone rings per offer."},
    "max_wait_seconds": {"type": "integer", "minimum": 10, "maximum": 7200},
    "music_class": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$",
                    "x-pattern-message": "letters, digits, - and _"},
    "announce_every_seconds": {"type": "integer", "minimum": 0, "maximum": 600,
                               "description": "0: no announcements; else at least 15."},
    "announce_position": {"type": "boolean"},
    "announce_wait": {"type": "boolean"},
    "wrapup_seconds": {"type": "integer", "minimum": 0, "maximum": 600},
    "service_level_seconds": {"type": "integer", "minimum": 1, "maximum": 600, "default": 20,
                              "description": "Service-level target: the share of the calls "
                                             "answered within this many seconds is the "
                                             "queue's service level (wallboard, reports)."},
    "fallback": {"type": "string", "enum": list(QUEUE_FALLBACKS),
                 "description": "On timeout or when no agent is logged in: say fallback_text "
                                "and hang up, another queue, an IVR, or voicemail e-mailed to "
                                "the tenant."},
    "fallback_queue_id": NULLABLE_ID,
    "fallback_ivr_id": NULLABLE_ID,
    "fallback_text": {"type": "string", "maxLength": 1000},
    "members": {"type": "array", "maxItems": 1000, "items": MEMBER,
                "description": "The whole list of member agents (replaces it)."},
}
QUEUE_CREATE = obj({**QUEUE_FIELDS, "tenant_id": {**ID, "description": "Only with the provider's key."}},
                   ["name"])
QUEUE_UPDATE = obj(QUEUE_FIELDS, update=True)
