"""Agent evaluation: the input schemas (what voxcast.evaluation's services take; the API
validates and publishes them). The services check again what needs the database (ids of the
form's own sections and questions, locks, answers per question)."""
from __future__ import annotations

from voxcast.schemas import ID, obj

from .forms import DESCRIPTION_MAX, MAX_QUESTIONS, MAX_SECTIONS, NAME_MAX, TEXT_MAX, TITLE_MAX
from .evaluations import COMMENT_MAX
from .scoring import KINDS, MAX_SCALE, MIN_SCALE

QUESTION = obj({
    "id": {**ID, "description": "An existing question of this form to keep; omit for a new one."},
    "text": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX},
    "kind": {"type": "string", "enum": list(KINDS),
             "description": "yes_no: yes earns the weight, no nothing; scale: 1..scale_max, "
                            "v earns weight x (v-1)/(scale_max-1)."},
    "scale_max": {"type": "integer", "minimum": MIN_SCALE, "maximum": MAX_SCALE, "default": 5},
    "weight": {"type": "number", "minimum": 0.01, "maximum": 1000, "default": 1,
               "description": "At most two decimals."},
    "allow_na": {"type": "boolean", "default": True,
                 "description": "N/A leaves the question out of the points and the maximum."},
})
SECTION = obj({
    "id": {**ID, "description": "An existing section of this form to keep; omit for a new one."},
    "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX},
    "questions": {"type": "array", "maxItems": MAX_QUESTIONS, "items": QUESTION},
}, ["title"])
SECTIONS = {"type": "array", "maxItems": MAX_SECTIONS, "items": SECTION,
            "description": "The whole structure, in order (replaces it). Questions answered in "
                           "evaluations must stay, with their kind, scale, weight, N/A option "
                           "and section (409 otherwise); their text may change."}
FORM_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
    "description": {"type": "string", "maxLength": DESCRIPTION_MAX},
    "active": {"type": "boolean", "description": "Inactive forms are not offered for scoring."},
    "sections": SECTIONS,
}
FORM_CREATE = obj({**FORM_FIELDS, "tenant_id": {**ID, "description": "Only with the provider's key."}},
                  ["name"])
FORM_UPDATE = obj(FORM_FIELDS, update=True)

ANSWER = obj({"question_id": ID,
              "value": {"type": "string", "maxLength": 3,
                        "description": "yes | no for yes_no, 1..scale_max for a scale, na where "
                                       "the question allows it."}},
             ["question_id", "value"])
ANSWERS = {"type": "array", "maxItems": MAX_QUESTIONS, "items": ANSWER,
           "description": "One answer for every question of the form."}
EVALUATION_CREATE = obj({
    "call_id": {**ID, "description": "A call taken by an agent: the evaluation is theirs."},
    "form_id": {**ID, "description": "An active form. One evaluation per call and form."},
    "answers": ANSWERS,
    "comment": {"type": "string", "maxLength": COMMENT_MAX},
}, ["call_id", "form_id", "answers"])
EVALUATION_UPDATE = obj({"answers": ANSWERS,
                         "comment": {"type": "string", "maxLength": COMMENT_MAX}}, update=True)
