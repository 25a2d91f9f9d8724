"""ARI events parsed once, at the edge, into named fields."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache


@dataclass(slots=True)  # not frozen: a frozen __init__ sets each field through object.__setattr__
class Event:
    type: str
    channel_id: str = ""
    channel_state: str = ""
    caller_number: str = ""
    exten: str = ""
    args: tuple[str, ...] = ()
    digit: str = ""
    playback_id: str = ""
    target_channel_id: str = ""  # for playback / recording events: the channel they run on
    cause: int = 0
    cause_txt: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def routing_channel_id(self) -> str:
        return self.channel_id or self.target_channel_id


def parse(data: dict) -> Event:
    channel = data.get("channel") or {}
    caller = channel.get("caller") or {}
    dialplan = channel.get("dialplan") or {}
    playback = data.get("playback") or data.get("recording") or {}
    target = playback.get("target_uri", "")
    target_channel = target[len("channel:"):] if target.startswith("channel:") else ""
    return Event(
        type=data.get("type", ""),
        channel_id=channel.get("id", ""),
        channel_state=channel.get("state", ""),
        caller_number=caller.get("number", ""),
        exten=dialplan.get("exten", ""),
        args=tuple(data.get("args") or ()),
        digit=data.get("digit", ""),
        playback_id=playback.get("id") or playback.get("name", ""),  # recordings have names
        target_channel_id=target_channel,
        cause=int(data.get("cause") or 0),
        cause_txt=data.get("cause_txt", ""),
        raw=data,
    )


@lru_cache(maxsize=256)
def handler_name(event_type: str) -> str:
    """`ChannelDtmfReceived` -> `channel_dtmf_received`, the method a call handler defines."""
    out = []
    for i, ch in enumerate(event_type):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def age(event: Event, now: float | None = None) -> float:
    """Seconds since Asterisk stamped the event (its `timestamp`, wall clock of the same host):
    how far behind Asterisk the app is when it handles it; 0 for an event without a stamp."""
    stamp = event.raw.get("timestamp")
    if not stamp:
        return 0.0
    try:
        created = datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return 0.0
    return (time.time() if now is None else now) - created
