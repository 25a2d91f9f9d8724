"""SMS texts are templates with the contact's fields: {first_name}, {last_name}, {email},
{phone}, {custom1} .. {custom8}; the same rule as IVR texts (voxcast.ivr.tree.fill): unknown
names become empty, braces that are not placeholders stay."""
from __future__ import annotations

import re

from voxcast.ivr.tree import fill

FIELDS = ("first_name", "last_name", "email", "phone", *(f"custom{i}" for i in range(1, 9)))
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render(text: str, fields: dict) -> str:
    """The text for one contact. Browsers post a textarea's line ends as CRLF while the live
    counter sees LF: the text is counted and sent with LF."""
    text = (text or "").replace("\r\n", "\n")
    return fill(text, {k: ("" if v is None else str(v)) for k, v in fields.items()})


def unknown_fields(text: str) -> list[str]:
    """Placeholders that are not contact fields (for the campaign form to refuse)."""
    return sorted({m.group(1) for m in _PLACEHOLDER.finditer(text or "")} - set(FIELDS))
