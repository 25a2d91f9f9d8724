"""Concatenated mobile-originated SMS: a long text arrives as several deliver_sm, each with
its reference, part count and number (a UDH with IEI 00 or 08, or the sar_* TLVs). Each part
is stored as it comes (nothing is lost when the app stops between them); the text is joined
once every part is there, or after PARTS_WAIT without them, as far as it came."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PARTS_WAIT = dt.timedelta(hours=1)  # a missing part is not coming any more after this


@dataclass(frozen=True)
class PartInfo:
    ref: int
    total: int
    seq: int


def _valid(ref, total, seq) -> PartInfo | None:
    if isinstance(total, int) and isinstance(seq, int) and 1 < total <= 255 and 1 <= seq <= total:
        return PartInfo(int(ref or 0), total, seq)
    return None


def split_udh(data: bytes) -> tuple[PartInfo | None, bytes]:
    """(the concatenation header, or None; the text after the UDH). A UDH longer than the
    data is malformed: the data is kept whole, as text."""
    if not data or data[0] + 1 > len(data):
        return None, data
    header, body = data[1:1 + data[0]], data[1 + data[0]:]
    info, i = None, 0
    while i + 2 <= len(header):
        iei, length = header[i], header[i + 1]
        value = header[i + 2:i + 2 + length]
        if iei == 0x00 and length == 3 and len(value) == 3:
            info = _valid(value[0], value[1], value[2])
        elif iei == 0x08 and length == 4 and len(value) == 4:
            info = _valid(value[0] << 8 | value[1], value[2], value[3])
        i += 2 + length
    return info, body


def from_tlvs(ref, total, seq) -> PartInfo | None:
    """The sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs, when all set."""
    if ref is None or total is None or seq is None:
        return None
    try:
        return _valid(int(ref), int(total), int(seq))
    except (TypeError, ValueError):
        return None


def group_key(source: str, destination: str, info: PartInfo) -> str:
    """What the parts of one message share (stored on each part's row)."""
    return f"mo:{source}:{destination}:{info.ref}:{info.total}"


def part_key(source: str, destination: str, info: PartInfo) -> str:
    return f"{group_key(source, destination, info)}:{info.seq}"


def seq_of(key: str) -> int:
    return int(key.rsplit(":", 1)[1])


def join(parts: list[tuple[str, str]]) -> str:
    """The text of [(part key, text)], in part order; a part twice counts once."""
    by_seq = {}
    for key, text in parts:
        by_seq.setdefault(seq_of(key), text)
    return "".join(by_seq[s] for s in sorted(by_seq))


def complete(parts: list[tuple[str, str]], total: int) -> bool:
    return len({seq_of(key) for key, _ in parts}) >= total
