"""Type-specific campaign settings (Campaign.flow, JSON): checked by pure functions with
messages fit to show, and compiled into IVR trees (voxcast.ivr.tree) so one runner in the Stasis app
plays every interactive campaign type the same way.

  voice_interactive     {"keys": {"1": "transfer", "2": "opt_out", "3": "replay"},
                         "transfer": {"kind": "extension", "value": "101"},
                         "timeout": 5, "no_input": "hangup" | "replay"}
  voice_survey          {"intro": "...", "questions": [{"key": "q1", "text": "...",
                         "digits": "12345"}], "retries": 2, "timeout": 5, "closing": "..."}
  appointment_reminder  {"text": "{first_name}, your appointment on {custom1} at {custom2}...",
                         "transfer": {...} (optional: key 3), "timeout": 5, "retries": 1,
                         "confirmed_text": "...", "cancelled_text": "..."}
  voice_ivr             {} (the campaign's IVR, Campaign.ivr, is the tree)
"""
from __future__ import annotations

import json

from voxcast.ivr import tree as ivr

INTERACTIVE_ACTIONS = ("transfer", "opt_out", "replay", "hangup")
MESSAGE_TYPES = ("voice_message", "voice_interactive")  # types that play the campaign message
RESULTS = ("pressed1", "opted_out", "confirmed", "cancelled", "transferred", "surveyed")
DEFAULT_INTERACTIVE = {"keys": {"1": "transfer", "2": "opt_out", "3": "replay"},
                       "timeout": 5, "no_input": "hangup"}
DEFAULT_REMINDER_TEXT = ("Hello {first_name}. This is a reminder of your appointment on "
                         "{custom1} at {custom2}. Press 1 to confirm, 2 to cancel, "
                         "or 3 to speak to someone.")
EXAMPLES = {
    "voice_message": {},
    "voice_interactive": {**DEFAULT_INTERACTIVE, "transfer": {"kind": "extension", "value": "101"}},
    "voice_survey": {"intro": "Please answer a short survey.", "questions": [
        {"key": "q1", "text": "How satisfied are you? Press 1 to 5.", "digits": "12345"}],
        "retries": 2, "timeout": 5, "closing": "Thank you. Goodbye."},
    "appointment_reminder": {"text": DEFAULT_REMINDER_TEXT,
                             "transfer": {"kind": "extension", "value": "101"},
                             "timeout": 5, "retries": 1},
    "voice_ivr": {},
    "voice_agent": {},
    "sms": {}, "fax": {}, "email": {},
}
# Types without settings of their own: SMS, fax and e-mail keep theirs in Campaign's columns.
NO_SETTINGS = ("voice_message", "voice_ivr", "voice_agent", "sms", "fax", "email")
MESSAGE_SOUND = "__message__"  # stands for the campaign's message in compiled trees


class FlowError(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def parse(raw) -> dict:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise FlowError([f"the settings are not valid JSON: {exc}"]) from None
    if not isinstance(value, dict):
        raise FlowError(["the settings must be a JSON object"])
    return value


def _num(cfg: dict, name: str, lo: int, hi: int, default: int, errors: list[str]) -> int:
    value = cfg.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        errors.append(f"'{name}' must be a whole number from {lo} to {hi}")
        return default
    return value


def _known(cfg: dict, allowed: set[str], errors: list[str]) -> None:
    extra = sorted(set(cfg) - allowed)
    if extra:
        errors.append(f"unknown settings: {', '.join(extra)} (known: {', '.join(sorted(allowed))})")


def validate(campaign_type: str, raw, repeat_count: int = 1) -> dict:
    """The settings, with defaults filled in, when valid for the type; FlowError otherwise."""
    cfg = parse(raw)
    errors: list[str] = []
    if campaign_type in NO_SETTINGS:
        _known(cfg, set(), errors)
    if campaign_type == "voice_message" and not (
            isinstance(repeat_count, int) and 1 <= repeat_count <= 10):
        errors.append("the message can be repeated 1 to 10 times")
    if campaign_type == "voice_interactive":
        _known(cfg, {"keys", "transfer", "timeout", "no_input"}, errors)
        cfg = {**DEFAULT_INTERACTIVE, **cfg}
        keys = cfg["keys"]
        if not isinstance(keys, dict) or not keys:
            errors.append("'keys' must map phone keys to actions")
        else:
            for key, action in keys.items():
                if key not in ivr.DIGITS:
                    errors.append(f"key {key!r} is not a phone key (0-9, *, #)")
                if action not in INTERACTIVE_ACTIONS:
                    errors.append(f"key {key}: unknown action {action!r} "
                                  f"(one of {', '.join(INTERACTIVE_ACTIONS)})")
            if "transfer" in keys.values():
                if "transfer" not in cfg:
                    errors.append("a key transfers, so say where to: 'transfer' target")
                else:
                    ivr.check_target(cfg["transfer"], "'transfer'", errors)
        _num(cfg, "timeout", 1, 60, 5, errors)
        if cfg["no_input"] not in ("hangup", "replay"):
            errors.append("'no_input' must be 'hangup' or 'replay'")
    elif campaign_type == "voice_survey":
        _known(cfg, {"intro", "questions", "retries", "timeout", "closing"}, errors)
        questions = cfg.get("questions")
        if not isinstance(questions, list) or not questions:
            errors.append("a survey needs at least one question")
        else:
            keys = set()
            for i, q in enumerate(questions, start=1):
                where = f"question {i}"
                if not isinstance(q, dict):
                    errors.append(f"{where}: must be an object with key, text and digits")
                    continue
                _known(q, {"key", "text", "digits"}, errors)
                key = q.get("key")
                if not isinstance(key, str) or not ivr.VAR.match(key):
                    errors.append(f"{where}: 'key' must be a short lower-case name like q1")
                elif key in keys:
                    errors.append(f"{where}: key '{key}' is used twice")
                keys.add(key)
                ivr.check_text(q.get("text"), where, set(ivr.CONTACT_FIELDS), errors)
                digits = q.get("digits")
                if not isinstance(digits, str) or not digits or set(digits) - ivr.DIGITS \
                        or len(set(digits)) != len(digits):
                    errors.append(f"{where}: 'digits' lists the allowed keys once each, e.g. 12345")
        for name in ("intro", "closing"):
            if name in cfg:
                ivr.check_text(cfg[name], f"'{name}'", set(ivr.CONTACT_FIELDS), errors)
        _num(cfg, "retries", 0, 5, 2, errors)
        _num(cfg, "timeout", 1, 60, 5, errors)
    elif campaign_type == "appointment_reminder":
        _known(cfg, {"text", "transfer", "timeout", "retries", "confirmed_text",
                     "cancelled_text"}, errors)
        if "text" not in cfg:
            errors.append("the reminder needs its 'text'")
        else:
            ivr.check_text(cfg["text"], "the reminder text", set(ivr.CONTACT_FIELDS), errors)
        for name in ("confirmed_text", "cancelled_text"):
            if name in cfg:
                ivr.check_text(cfg[name], f"'{name}'", set(ivr.CONTACT_FIELDS), errors)
        if "transfer" in cfg:
            ivr.check_target(cfg["transfer"], "'transfer'", errors)
        _num(cfg, "timeout", 1, 60, 5, errors)
        _num(cfg, "retries", 0, 5, 1, errors)
    elif campaign_type not in NO_SETTINGS:
        errors.append(f"unknown campaign type {campaign_type!r}")
    if errors:
        raise FlowError(errors)
    return cfg


def compile_tree(campaign_type: str, cfg: dict, message_sound: str = MESSAGE_SOUND,
                 repeat_count: int = 1) -> dict:
    """The IVR tree a campaign of this type runs (valid settings assumed)."""
    if campaign_type in ("sms", "fax", "email"):  # no call flow: nothing to compile or check
        return {"start": "", "nodes": {}}
    if campaign_type == "voice_message":
        nodes = {f"m{i}": {"type": "play", "sound": message_sound} for i in range(repeat_count)}
        for i in range(repeat_count - 1):
            nodes[f"m{i}"]["next"] = f"m{i + 1}"
        return {"start": "m0", "nodes": nodes}
    if campaign_type == "voice_interactive":
        cfg = {**DEFAULT_INTERACTIVE, **cfg}
        nodes: dict = {"menu": {"type": "menu", "sound": message_sound, "options": {},
                                "timeout": cfg["timeout"],
                                "retries": 1 if cfg["no_input"] == "replay" else 0}}
        for key, action in cfg["keys"].items():
            if action == "transfer":
                nodes["pressed"] = {"type": "set_result", "result": "pressed1", "next": "transfer"}
                nodes["transfer"] = {"type": "transfer", "target": cfg["transfer"],
                                     "failed": "unavailable"}
                nodes["unavailable"] = {"type": "hangup",
                                        "text": "Sorry, nobody is available right now. Goodbye."}
                nodes["menu"]["options"][key] = "pressed"
            elif action == "opt_out":
                nodes["optout_result"] = {"type": "set_result", "result": "opted_out",
                                          "next": "optout"}
                nodes["optout"] = {"type": "opt_out", "next": "optout_bye"}
                nodes["optout_bye"] = {"type": "hangup",
                                       "text": "You will not be called again. Goodbye."}
                nodes["menu"]["options"][key] = "optout_result"
            elif action == "replay":
                nodes["menu"]["options"][key] = "menu"
            else:
                nodes["bye"] = {"type": "hangup"}
                nodes["menu"]["options"][key] = "bye"
        return {"start": "menu", "nodes": nodes}
    if campaign_type == "voice_survey":
        questions = cfg["questions"]
        ids = [f"q_{q['key']}" for q in questions]
        nodes = {}
        if cfg.get("intro"):
            nodes["intro"] = {"type": "say", "text": cfg["intro"], "next": ids[0]}
        for i, q in enumerate(questions):
            after = ids[i + 1] if i + 1 < len(ids) else "done"
            nodes[ids[i]] = {"type": "menu", "text": q["text"], "store_as": q["key"],
                             "options": {d: after for d in q["digits"]},
                             "timeout": cfg.get("timeout", 5), "retries": cfg.get("retries", 2),
                             "no_input": after, "invalid": after}
        nodes["done"] = {"type": "set_result", "result": "surveyed", "next": "closing"}
        nodes["closing"] = {"type": "hangup", "text": cfg.get("closing") or "Thank you. Goodbye."}
        return {"start": "intro" if cfg.get("intro") else ids[0], "nodes": nodes}
    if campaign_type == "appointment_reminder":
        options = {"1": "confirm", "2": "cancel"}
        nodes = {
            "menu": {"type": "menu", "text": cfg["text"], "options": options,
                     "timeout": cfg.get("timeout", 5), "retries": cfg.get("retries", 1)},
            "confirm": {"type": "set_result", "result": "confirmed", "next": "confirmed"},
            "confirmed": {"type": "hangup", "text": cfg.get(
                "confirmed_text", "Thank you, your appointment is confirmed. Goodbye.")},
            "cancel": {"type": "set_result", "result": "cancelled", "next": "cancelled"},
            "cancelled": {"type": "hangup", "text": cfg.get(
                "cancelled_text", "Your appointment has been cancelled. Goodbye.")},
        }
        if cfg.get("transfer"):
            options["3"] = "transfer"
            nodes["transfer"] = {"type": "transfer", "target": cfg["transfer"],
                                 "failed": "unavailable"}
            nodes["unavailable"] = {"type": "hangup",
                                    "text": "Sorry, nobody is available right now. Goodbye."}
        return {"start": "menu", "nodes": nodes}
    raise ValueError(f"no compiled tree for {campaign_type}")


def transfer_targets(tree: dict) -> list[str]:
    """Extension numbers a tree transfers to (to check the tenant owns them)."""
    out = []
    for node in tree.get("nodes", {}).values():
        if node.get("type") == "transfer":
            target = node.get("target") or {}
            if target.get("kind") == "extension":
                out.append(target.get("value"))
            elif target.get("kind") == "agents":
                out.extend(target.get("value") or [])
    return out


def survey_questions(cfg: dict) -> list[dict]:
    return [q for q in cfg.get("questions", []) if isinstance(q, dict)]
