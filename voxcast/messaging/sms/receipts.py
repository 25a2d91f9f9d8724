"""Delivery receipts (deliver_sm with esm_class receipt bits): the SMSC's message id and the
final state, read from the TLVs receipted_message_id / message_state when present, else from
the de-facto text format (SMPP 3.4 appendix B):
    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:...
in any order and case, with fields missing. Ids are compared in decimal and hexadecimal
(`id_candidates`): some SMSCs answer submit_sm in one and report in the other."""
from __future__ import annotations

import re
from dataclasses import dataclass

# stat word -> our message state; None: not final (the message stays submitted)
STAT_STATES = {
    "DELIVRD": "delivered", "UNDELIV": "undelivered", "EXPIRED": "expired",
    "REJECTD": "rejected", "DELETED": "undelivered", "UNKNOWN": "undelivered",
    "ACCEPTD": None, "ENROUTE": None,
}
# message_state TLV values (SMPP 3.4, 5.2.28) -> stat word
MESSAGE_STATE_STAT = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV",
                      6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}
# Longer spellings some SMSCs write
_STAT_ALIASES = {"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "REJECTED": "REJECTD",
                 "ACCEPTED": "ACCEPTD", "EXPIRE": "EXPIRED"}

_HEX = re.compile(r"[0-9A-Fa-f]+")
_KEY = re.compile(r"(?i)(?<![A-Za-z])(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text)\s*:")


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str  # upper case word (DELIVRD...), "" if none
    state: str | None  # our state, None while not final
    error: str = ""  # the err: code, "" or "000" for none
    text: str = ""


def parse_text(text: str) -> dict[str, str]:
    """Fields of a receipt text, keys lower case with "_" ("submit_date")."""
    found = []
    for m in _KEY.finditer(text or ""):
        found.append(m)
        if m.group(1).lower() == "text":  # the rest is the message's start, keys and all
            break
    fields: dict[str, str] = {}
    for i, m in enumerate(found):
        key = m.group(1).lower().replace(" ", "_")
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        value = text[m.end():end].strip()
        if key != "text":
            words = value.split(None, 1)
            value = words[0] if words else ""
        fields.setdefault(key, value)
    return fields


def normal_stat(word: str) -> str:
    word = (word or "").strip().upper()
    return _STAT_ALIASES.get(word, word)


def state_of(stat: str) -> str | None:
    """Our state for a stat word; an unknown word is a final 'undelivered'."""
    stat = normal_stat(stat)
    if not stat:
        return None
    return STAT_STATES.get(stat, "undelivered")


def parse(short_message: bytes | str, receipted_message_id: str | bytes | None = None,
          message_state: int | None = None) -> Receipt | None:
    """The receipt in a deliver_sm, or None when it names no message."""
    if isinstance(short_message, bytes):
        short_message = short_message.decode("latin-1")
    if isinstance(receipted_message_id, bytes):
        receipted_message_id = receipted_message_id.decode("latin-1")
    fields = parse_text(short_message or "")
    message_id = (receipted_message_id or "").strip().rstrip("\x00") or fields.get("id", "")
    if not message_id:
        return None
    stat = MESSAGE_STATE_STAT.get(message_state or 0) or normal_stat(fields.get("stat", ""))
    err = fields.get("err", "")
    return Receipt(message_id, stat, state_of(stat), "" if err.strip("0") == "" else err,
                   fields.get("text", ""))


def id_candidates(message_id: str) -> list[str]:
    """Spellings under which we may have stored this SMSC id: as given, and its decimal and
    hexadecimal forms when it reads as a number (leading zeros and case ignored)."""
    raw = (message_id or "").strip()
    out = [raw]
    if raw.isascii() and raw.isdigit():
        n = int(raw)
        out += [str(n), format(n, "x"), format(n, "X")]
    if _HEX.fullmatch(raw):
        n = int(raw, 16)
        out += [raw.lower(), raw.upper(), str(n), format(n, "x"), format(n, "X")]
    seen: dict[str, None] = {}
    for item in out:
        seen.setdefault(item, None)
    return list(seen)
