"""Opt-out words in inbound SMS: the tenant's words (Tenant.sms_opt_out_words, separated by
spaces or commas), matched without regard to case, surrounding space and punctuation, against
the whole message or its first word ("Stop!", " stopp ", "STOP please")."""
from __future__ import annotations

import re
import unicodedata

_SPLIT = re.compile(r"[\s,;]+")


def _norm(word: str) -> str:
    word = unicodedata.normalize("NFKC", word).casefold()
    return "".join(ch for ch in word if not unicodedata.category(ch).startswith(("P", "S")))


def words(setting: str) -> set[str]:
    return {w for w in (_norm(x) for x in _SPLIT.split(setting or "")) if w}


def is_opt_out(text: str, setting: str) -> bool:
    wanted = words(setting)
    if not wanted:
        return False
    tokens = [t for t in (_norm(x) for x in (text or "").split()) if t]
    if not tokens:
        return False
    return "".join(tokens) in wanted or " ".join(tokens) in wanted or tokens[0] in wanted
