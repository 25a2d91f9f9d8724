"""Asterisk's own record of which channels existed (CEL through cel_custom, see
asterisk-conf/cel.conf): it outlives the Stasis app, so after a crash it tells an originate
Asterisk accepted (a CHAN_START line with our channel id, the channel's uniqueid) from one that
never reached it. Read from the end back to the oldest open CDR only: start-up does not slow
down as the file grows."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "voxcast-channels.csv"  # asterisk-conf/cel_custom.conf
_BLOCK = 1 << 16
SLACK_S = 5.0  # clock skew between the claim's timestamp and Asterisk's event time


@dataclass
class ChannelTrace:
    """What Asterisk recorded of one channel: it existed; maybe answered; maybe its hangup."""
    answered: bool = False
    ended: bool = False
    cause: int | None = None


def log_path(settings) -> Path:
    return settings.host_path(settings.ast_var) / "log" / FILE_NAME


def _lines_since(path: Path, since: float):
    """The file's lines whose event time is >= since, read backwards in blocks."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return [], False
    with f:
        end = f.seek(0, os.SEEK_END)
        pos, tail, lines, reached_start = end, b"", [], True
        while pos > 0:
            step = min(_BLOCK, pos)
            pos -= step
            f.seek(pos)
            chunk = f.read(step) + tail
            parts = chunk.split(b"\n")
            tail = parts[0] if pos > 0 else b""  # maybe a partial line: joined with the next block
            complete = parts[1:] if pos > 0 else parts
            older = False
            for raw in reversed(complete):
                if not raw.strip():
                    continue
                lines.append(raw)
                if _time_of(raw) < since:
                    older = True
            if older:
                reached_start = False
                break
        lines.reverse()
        return lines, reached_start


def _time_of(raw: bytes) -> float:
    """A line's event time (its second field), or a bare time field."""
    try:
        field = raw.split(b",", 2)[1] if b"," in raw else raw
        return float(field.strip(b'"'))
    except (IndexError, ValueError):
        return float("inf")  # unreadable: keep it, the parser below skips it


def traces(path: Path, channel_ids, since: dt.datetime) -> dict[str, ChannelTrace]:
    """The channels among `channel_ids` that Asterisk created at or after `since` (UTC,
    naive as our CDRs store it), with their answer and hangup cause when recorded."""
    wanted = set(channel_ids)
    if not wanted:
        return {}
    start = since.replace(tzinfo=dt.timezone.utc).timestamp() - SLACK_S
    lines, reached_start = _lines_since(path, start)
    rotated = path.with_name(path.name + ".1")
    if reached_start and rotated.exists():  # the window began before the last rotation
        older, _ = _lines_since(rotated, start)
        lines = older + lines
    found: dict[str, ChannelTrace] = {}
    for row in csv.reader(line.decode("utf-8", "replace") for line in lines):
        if len(row) < 4 or row[2] not in wanted or _time_of(row[1].encode()) < start:
            continue
        event, channel_id, extra = row[0], row[2], row[3]
        trace = found.setdefault(channel_id, ChannelTrace())
        if event == "ANSWER":
            trace.answered = True
        elif event == "HANGUP":
            trace.ended = True
            try:
                trace.cause = int(json.loads(extra or "{}").get("hangupcause"))
            except (ValueError, TypeError, AttributeError):
                trace.cause = None
    return found
