"""Extensions and DIDs: the input schemas (what the services take; the API validates and publishes them)."""
from __future__ import annotations

from voxcast.schemas import ID, NULLABLE_ID, obj

EXTENSION_CREATE = obj({
    "number": {"type": "string", "pattern": "^[0-9]{2,10}$", "x-pattern-message": "2 to 10 digits",
               "description": "The SIP password is generated."}}, ["number"])
EXTENSION_ALLOCATE = obj({"tenant_id": ID, "count": {"type": "integer", "minimum": 1,
                                                     "maximum": 1000}}, ["tenant_id", "count"])
ASSIGN_USER = obj({"user_id": NULLABLE_ID}, ["user_id"])
# PATCH /extensions/{id}: its user, and whether it is a browser phone (the agent console's
# WebRTC phone) or a SIP phone
EXTENSION_UPDATE = obj({
    "user_id": NULLABLE_ID,
    "browser_phone": {"type": "boolean",
                      "description": "true: the agent console's browser phone (WebRTC); "
                                     "false: any SIP phone."},
}, update=True)
ALLOCATE = obj({"tenant_id": {**NULLABLE_ID, "description": "null returns it to the pool."}},
               ["tenant_id"])

DID_CREATE = obj({
    "number": {"type": "string", "pattern": r"^\+?[0-9]{3,20}$",
               "x-pattern-message": "digits only, optionally starting with +"},
    "tenant_id": NULLABLE_ID,
    "greeting_text": {"type": "string", "maxLength": 2000},
}, ["number"])
ROUTES = ["greeting", "ivr", "queue", "user", "campaign", "fax"]  # models.entities.DID_ROUTES
DID_UPDATE = obj({
    "route": {"type": "string", "enum": ROUTES,
              "description": "Where calls go: the greeting, or the IVR / queue / user (their "
                             "phone, then voicemail to their e-mail) / campaign named by "
                             "ivr_id / queue_id / user_id / campaign_id."},
    "user_id": NULLABLE_ID, "campaign_id": NULLABLE_ID, "queue_id": NULLABLE_ID,
    "ivr_id": NULLABLE_ID,
    "closed_route": {"type": "string", "enum": ["", *ROUTES],
                     "description": "Outside the tenant's timeslots (its time zone): '' routes "
                                    "as at any other time."},
    "closed_target": {**NULLABLE_ID, "description": "The id of the closed route's IVR, queue, "
                                                    "user or campaign."},
    "closed_text": {"type": "string", "maxLength": 2000,
                    "description": "What a closed 'greeting' says (empty: the greeting)."},
    "greeting_text": {"type": "string", "maxLength": 2000},
    "greeting_prompt_id": {**NULLABLE_ID, "description": "A prompt of the audio library "
                                                         "played as the greeting instead of "
                                                         "greeting_text (null: the text)."},
    # fax (issue 14): route "fax" receives every call as a fax
    "fax_detect": {"type": "boolean", "description": "On the other routes, a fax tone "
                                                     "diverts the call to receiving the fax."},
    "fax_emails": {"type": "string", "maxLength": 3000,
                   "description": "Where received faxes are e-mailed as PDF (up to 10 "
                                  "addresses, comma or space separated)."}}, update=True)
