"""How many segments an SMS text takes and how each one is encoded for submit_sm.

GSM 03.38 default alphabet: one septet a character, the extension table's characters
(^ { } \\ [ ~ ] | € and form feed) two (escape + code); 160 septets in one SMS, 153 in each
part of a concatenated one (the 6-octet UDH takes 7 septets). A text with any character outside
that alphabet is sent as UCS-2: 70 UTF-16 units in one SMS, 67 a part; a character outside the
BMP (most emoji) is a surrogate pair and counts 2 units. An escape pair or a surrogate pair is
never split across two parts. webui/static/sms_counter.js counts the same way (a unit test
compares both)."""
from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic table, by code 0x00-0x7F (0x1B, the escape, is not a character of a text).
GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                 "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
ESCAPE = 0x1B
_BASIC_CODE = {ch: code for code, ch in enumerate(GSM_BASIC) if code != ESCAPE}

GSM7 = "gsm7"
UCS2 = "ucs2"
DATA_CODING = {GSM7: 0x00, UCS2: 0x08}  # SMSC default alphabet / UCS-2 (ISO 10646)
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}  # (single, each concatenated part)


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # gsm7 | ucs2
    units: int  # septets (gsm7) or UTF-16 units (ucs2) of the whole text
    segments: int
    per_segment: int  # the limit that applied (160/153/70/67)


_GSM7_CHARS = frozenset(_BASIC_CODE) | frozenset(GSM_EXTENSION)
# str.translate's table: each character to its septet(s) as a Latin-1 character, for
# encode_gsm7 to do in C what a loop did per character.
_GSM7_TABLE = {**{ord(ch): chr(code) for ch, code in _BASIC_CODE.items()},
               **{ord(ch): chr(ESCAPE) + chr(code) for ch, code in GSM_EXTENSION.items()}}


def is_gsm7(text: str) -> bool:
    return _GSM7_CHARS.issuperset(text)


def encoding_of(text: str) -> str:
    return GSM7 if is_gsm7(text) else UCS2


def _char_units(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _split(text: str, encoding: str) -> list[str]:
    """The text cut into parts, never inside an escape or surrogate pair."""
    single, part = LIMITS[encoding]
    if _units(text, encoding) <= single:
        return [text]
    weights = _char_units(text, encoding)
    parts, start, used = [], 0, 0
    for i, w in enumerate(weights):
        if used + w > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += w
    parts.append(text[start:])
    return parts


def _units(text: str, encoding: str) -> int:
    if encoding == GSM7:
        return len(text) + sum(text.count(ch) for ch in GSM_EXTENSION)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def count(text: str) -> SegmentInfo:
    """Encoding, length in units and number of segments (an empty text is one empty SMS)."""
    encoding = encoding_of(text)
    units = _units(text, encoding)
    single, part = LIMITS[encoding]
    segments = 1 if units <= single else len(_split(text, encoding))
    return SegmentInfo(encoding, units, segments, single if segments == 1 else part)


def encode_gsm7(text: str) -> bytes:
    """Unpacked GSM 7-bit (one octet a septet), as SMPP data_coding 0 carries it."""
    if not _GSM7_CHARS.issuperset(text):
        raise KeyError(next(ch for ch in text if ch not in _GSM7_CHARS))
    return text.translate(_GSM7_TABLE).encode("latin-1")


def decode_gsm7(data: bytes) -> str:
    reverse_ext = {v: k for k, v in GSM_EXTENSION.items()}
    out, escaped = [], False
    for b in data:
        if escaped:
            out.append(reverse_ext.get(b, " "))
            escaped = False
        elif b == ESCAPE:
            escaped = True
        elif b < 128:
            out.append(GSM_BASIC[b])
    return "".join(out)


def encode(text: str, encoding: str) -> bytes:
    return encode_gsm7(text) if encoding == GSM7 else text.encode("utf-16-be")


def decode(data: bytes, data_coding: int) -> str:
    """Text of an inbound short message (deliver_sm): UCS-2, Latin-1 or the default alphabet
    (many SMSCs send plain ASCII there, which the GSM table maps to the same letters)."""
    if data_coding == 0x08:
        return data.decode("utf-16-be", errors="replace")
    if data_coding in (0x01, 0x03):
        return data.decode("latin-1")
    if data_coding == 0x00:
        return decode_gsm7(data)
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Segment:
    seq: int  # 1-based
    total: int
    payload: bytes  # short_message, UDH included when total > 1
    esm_class: int
    data_coding: int


def segments(text: str, ref: int) -> list[Segment]:
    """The submit_sm payloads of a text: one, or several each with a UDH (IEI 00,
    concatenated short messages, 8-bit reference `ref`)."""
    encoding = encoding_of(text)
    parts = _split(text, encoding)
    coding = DATA_CODING[encoding]
    if len(parts) == 1:
        return [Segment(1, 1, encode(text, encoding), 0x00, coding)]
    total = len(parts)
    if total > 255:
        raise ValueError("text too long for a concatenated SMS")
    return [Segment(i, total, bytes((5, 0, 3, ref & 0xFF, total, i)) + encode(p, encoding),
                    0x40, coding)
            for i, p in enumerate(parts, start=1)]
