"""Which agents' phones can take a call now: PJSIP endpoint state as Asterisk reports it
(`endpoint:PJSIP` EndpointStateChange events, and GET /endpoints/PJSIP after every connect).

An extension is usable when it is registered (state "online") and has no channel but ours:
a phone on another call (a colleague rang it directly, the agent dials out) is not offered a
queue call. Read by the writer thread in a dispatch round (plain dict look-ups)."""
from __future__ import annotations

import logging
from typing import Callable

from ari_app.client import AriError
from ari_app.events import Event

log = logging.getLogger("voxcast.presence")


class Presence:
    def __init__(self, on_available: Callable[[], None] | None = None):
        self.online: dict[str, bool] = {}
        self.channels: dict[str, frozenset[str]] = {}
        self.ours: set[str] = set()  # our agent legs' channel ids (they do not make a phone busy)
        self.on_available = on_available  # an extension came online or freed up

    def registered(self, extension: str) -> bool:
        return self.online.get(extension, False)

    def usable(self, extension: str) -> bool:
        if not self.online.get(extension, False):
            return False
        busy = self.channels.get(extension)
        return not busy or busy <= self.ours

    def update(self, endpoint: dict) -> None:
        if endpoint.get("technology") != "PJSIP":
            return
        ext = endpoint.get("resource", "")
        if not ext:
            return
        was = self.usable(ext)
        self.online[ext] = endpoint.get("state") == "online"
        self.channels[ext] = frozenset(endpoint.get("channel_ids") or ())
        if not was and self.usable(ext) and self.on_available:
            self.on_available()

    def on_event(self, event: Event) -> None:
        self.update(event.raw.get("endpoint") or {})

    async def refresh(self, ari) -> None:
        """Every PJSIP endpoint's state: after a (re)connect, events missed meanwhile."""
        try:
            endpoints = await ari.get("/endpoints/PJSIP")
        except AriError as exc:
            log.warning("cannot list PJSIP endpoints: %s", exc)
            return
        seen = set()
        for endpoint in endpoints or ():
            seen.add(endpoint.get("resource", ""))
            self.update(endpoint)
        for ext in list(self.online):  # removed from Asterisk meanwhile
            if ext not in seen:
                self.online.pop(ext, None)
                self.channels.pop(ext, None)
