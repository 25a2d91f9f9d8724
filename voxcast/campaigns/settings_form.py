"""The type-specific campaign settings (flows_config) as plain form fields, and back.

The portal's press-1, survey and reminder forms post flat fields (``key_1`` = "transfer",
``q-0-text`` = "How satisfied...", ``transfer_kind`` = "queue" ...); `from_form` turns them into
exactly the settings JSON flows_config.validate accepts (the API's and the advanced view's
format), `to_form` fills the fields from saved settings, and `error_fields` puts each of
flows_config's messages on the field it concerns. Pure: no Flask, no database.
"""
from __future__ import annotations

import re
from typing import Mapping

from voxcast.ivr import tree as ivr

from . import flows_config

FORM_TYPES = ("voice_interactive", "voice_survey", "appointment_reminder")
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#")
# key name in a form field: "*" and "#" are not safe in HTML names everywhere
KEY_NAMES = {**{k: k for k in "0123456789"}, "*": "star", "#": "hash"}
TARGET_KINDS = ("extension", "queue", "number")
MAX_QUESTIONS = 20
FIELDS = ivr.CONTACT_FIELDS  # placeholders a text may use: {first_name}, {custom1} ...
REMINDER_TEXTS = ("text", "confirmed_text", "cancelled_text")


def _get(values: Mapping, name: str) -> str:
    value = values.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _int(values: Mapping, name: str, default: int):
    """A whole number as typed; what is not one is handed on as typed, so flows_config
    names the field ("'timeout' must be a whole number...")."""
    raw = _get(values, name)
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return raw


def _target(values: Mapping, prefix: str = "transfer") -> dict | None:
    kind = _get(values, f"{prefix}_kind")
    if not kind:
        return None
    value = _get(values, f"{prefix}_{kind}")
    if kind == "queue":
        return {"kind": "queue", "value": int(value) if value.isdigit() else value}
    return {"kind": kind, "value": value}


def _target_fields(target, prefix: str = "transfer") -> dict:
    out = {f"{prefix}_kind": "", **{f"{prefix}_{k}": "" for k in TARGET_KINDS}}
    if isinstance(target, dict) and target.get("kind") in TARGET_KINDS:
        out[f"{prefix}_kind"] = target["kind"]
        out[f"{prefix}_{target['kind']}"] = str(target.get("value", ""))
    return out


def question_count(values: Mapping) -> int:
    """How many question rows the posted form has (q-<i>-text, from 0)."""
    n = 0
    while n < MAX_QUESTIONS and any(f"q-{n}-{p}" in values for p in ("key", "text", "digits")):
        n += 1
    return n


def from_form(campaign_type: str, values: Mapping) -> dict:
    """The settings the fields describe (not checked: flows_config.validate does that)."""
    if campaign_type == "voice_interactive":
        keys = {k: _get(values, f"key_{KEY_NAMES[k]}") for k in KEYS}
        cfg: dict = {"keys": {k: a for k, a in keys.items() if a}}
        target = _target(values)
        if target is not None and "transfer" in cfg["keys"].values():
            cfg["transfer"] = target
        cfg["timeout"] = _int(values, "timeout", 5)
        cfg["no_input"] = _get(values, "no_input") or "hangup"
        return cfg
    if campaign_type == "voice_survey":
        cfg = {}
        if _get(values, "intro"):
            cfg["intro"] = _get(values, "intro")
        questions = []
        for i in range(question_count(values)):
            key, text, digits = (_get(values, f"q-{i}-{p}") for p in ("key", "text", "digits"))
            if not (key or text or digits):
                continue  # an empty row added and left empty
            questions.append({"key": key or f"q{len(questions) + 1}", "text": text,
                              "digits": digits.replace(" ", "").replace(",", "")})
        cfg["questions"] = questions
        cfg["retries"] = _int(values, "retries", 2)
        cfg["timeout"] = _int(values, "timeout", 5)
        if _get(values, "closing"):
            cfg["closing"] = _get(values, "closing")
        return cfg
    if campaign_type == "appointment_reminder":
        cfg = {"text": _get(values, "text")}
        target = _target(values)
        if target is not None:
            cfg["transfer"] = target
        cfg["timeout"] = _int(values, "timeout", 5)
        cfg["retries"] = _int(values, "retries", 1)
        for name in ("confirmed_text", "cancelled_text"):
            if _get(values, name):
                cfg[name] = _get(values, name)
        return cfg
    return {}


def to_form(campaign_type: str, cfg: dict | None) -> dict:
    """The field values showing these settings (defaults for a new campaign)."""
    cfg = dict(cfg or {})
    if campaign_type == "voice_interactive":
        if not cfg:
            cfg = dict(flows_config.DEFAULT_INTERACTIVE)
        keys = cfg.get("keys") if isinstance(cfg.get("keys"), dict) else {}
        out = {f"key_{KEY_NAMES[k]}": str(keys.get(k, "")) for k in KEYS}
        out.update(_target_fields(cfg.get("transfer")))
        out.update(timeout=str(cfg.get("timeout", 5)), no_input=str(cfg.get("no_input", "hangup")))
        return out
    if campaign_type == "voice_survey":
        if not cfg:
            cfg = {"questions": [{"key": "q1", "text": "", "digits": "12345"}]}
        out = {"intro": str(cfg.get("intro", "")), "closing": str(cfg.get("closing", "")),
               "retries": str(cfg.get("retries", 2)), "timeout": str(cfg.get("timeout", 5))}
        for i, q in enumerate(flows_config.survey_questions(cfg)):
            for p in ("key", "text", "digits"):
                out[f"q-{i}-{p}"] = str(q.get(p, ""))
        return out
    if campaign_type == "appointment_reminder":
        if not cfg:
            cfg = {"text": flows_config.DEFAULT_REMINDER_TEXT}
        out = {name: str(cfg.get(name, "")) for name in REMINDER_TEXTS}
        out.update(_target_fields(cfg.get("transfer")))
        out.update(timeout=str(cfg.get("timeout", 5)), retries=str(cfg.get("retries", 1)))
        return out
    return {}


def questions(values: Mapping) -> list[dict]:
    """The survey's question rows as the form shows them: [{"key", "text", "digits"}]."""
    return [{p: str(values.get(f"q-{i}-{p}", "")) for p in ("key", "text", "digits")}
            for i in range(question_count(values))]


def add_question(values: dict) -> dict:
    """The fields with one more (empty) question row."""
    n = question_count(values)
    if n < MAX_QUESTIONS:
        values = {**values, f"q-{n}-key": f"q{n + 1}", f"q-{n}-text": "", f"q-{n}-digits": "12"}
    return values


def remove_question(values: dict, index: int) -> dict:
    """The fields without question row `index` (the rows after it move up)."""
    rows = questions(values)
    if not 0 <= index < len(rows):
        return values
    del rows[index]
    out = {k: v for k, v in values.items() if not k.startswith("q-")}
    for i, row in enumerate(rows):
        for p, v in row.items():
            out[f"q-{i}-{p}"] = v
    return out


def insert_field(values: dict, target: str, field: str) -> dict:
    """The reminder's text `target` with the placeholder {field} added at its end (the
    picker's button without JavaScript; with it, at the cursor)."""
    if target not in REMINDER_TEXTS or field not in FIELDS:
        return values
    text = str(values.get(target, "")).rstrip()
    return {**values, target: (text + " " if text else "") + "{" + field + "}"}


_QUESTION = re.compile(r"^question (\d+): (.*)$")
# the field of a message that opens with it: flows_config names a setting first
# ("'timeout' must be ..."); the reminder's and the survey's own checks open with a phrase
_MESSAGE_FIELDS = (
    *((f"'{name}'", name) for name in ("timeout", "retries", "no_input", "intro", "closing",
                                       "confirmed_text", "cancelled_text")),
    ("the reminder", "text"),
    ("a survey needs", "questions"),
)


def error_fields(campaign_type: str, errors: list[str]) -> dict[str, list[str]]:
    """flows_config's (and the extension / queue checks') messages by the form field they
    concern; "" holds those of the settings as a whole."""
    out: dict[str, list[str]] = {}

    def put(name: str, message: str) -> None:
        out.setdefault(name, []).append(message)

    for message in errors:
        m = _QUESTION.match(message)
        if m:
            i, why = int(m.group(1)) - 1, m.group(2)
            part = ("key" if "'key'" in why else "digits" if "'digits'" in why else "text")
            put(f"q-{i}-{part}", why)
            continue
        low = message.lower()
        if message.startswith("key ") and ": unknown action" in message:
            key = message[4:].split(":", 1)[0]
            put(f"key_{KEY_NAMES.get(key, key)}", message)
        elif message.startswith("'transfer'") or message.startswith("a key transfers") \
                or low.startswith("extension ") or low.startswith("queue "):
            target = _target_error_field(message)
            put(target, message)
        else:
            put(_message_field(message), message)
    return out


def _message_field(message: str) -> str:
    """The field a message opens with ("" for the settings as a whole)."""
    return next((field for opening, field in _MESSAGE_FIELDS if message.startswith(opening)), "")


def _target_error_field(message: str) -> str:
    if message.startswith("a key transfers") or "'target' needs a kind" in message:
        return "transfer_kind"
    if "extension" in message:
        return "transfer_extension"
    if "queue" in message:
        return "transfer_queue"
    if "number" in message:
        return "transfer_number"
    return "transfer_kind"


def normalized(campaign_type: str, cfg: dict) -> dict:
    """Settings with the defaults the runner uses written out (what a form round trip
    yields): the same call flow as `cfg`."""
    cfg = dict(cfg)
    if campaign_type == "voice_interactive":
        cfg = {**flows_config.DEFAULT_INTERACTIVE, **cfg}
        if "transfer" not in cfg["keys"].values():
            cfg.pop("transfer", None)
    elif campaign_type == "voice_survey":
        cfg.setdefault("retries", 2)
        cfg.setdefault("timeout", 5)
        for name in ("intro", "closing"):
            if not cfg.get(name):
                cfg.pop(name, None)
    elif campaign_type == "appointment_reminder":
        cfg.setdefault("timeout", 5)
        cfg.setdefault("retries", 1)
        for name in ("confirmed_text", "cancelled_text", "transfer"):
            if not cfg.get(name):
                cfg.pop(name, None)
    return cfg
