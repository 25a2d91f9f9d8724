"""Which agents' phones can take a call now, as Asterisk sees them: the PJSIP device state of
each extension (`deviceState:` subscription, DeviceStateChanged events: UNAVAILABLE when not
registered, NOT_INUSE when idle, INUSE / RINGING / BUSY / ONHOLD when on a call), and
GET /endpoints/PJSIP after every connect and every minute (registered or not, its channels).

Device states rather than an `endpoint:` subscription: that one also forwards every channel
event of those endpoints, which the app's `channel:` subscription already delivers, so each
DTMF key and playback event would come twice.

An extension is usable when it is registered and on no other call (a colleague rang it
directly, the agent dials out): such a phone is not offered a queue call. Read by the writer
thread in a dispatch round (plain dict look-ups)."""
from __future__ import annotations

import logging
from typing import Callable

from ari_app.client import AriError
from ari_app.events import Event

log = logging.getLogger("voxcast.presence")

OFFLINE_STATES = frozenset({"UNAVAILABLE", "INVALID", "UNKNOWN"})
IDLE_STATES = frozenset({"NOT_INUSE"})


class Presence:
    def __init__(self, on_available: Callable[[], None] | None = None):
        self.online: dict[str, bool] = {}
        self.busy: dict[str, bool] = {}
        self.ours: set[str] = set()  # our agent legs' channel ids (they do not make a phone busy)
        self.on_available = on_available  # an extension came online or freed up

    def registered(self, extension: str) -> bool:
        return self.online.get(extension, False)

    def usable(self, extension: str) -> bool:
        return self.online.get(extension, False) and not self.busy.get(extension, False)

    def _set(self, ext: str, online: bool, busy: bool) -> None:
        was = self.usable(ext)
        self.online[ext] = online
        self.busy[ext] = busy
        if not was and self.usable(ext) and self.on_available:
            self.on_available()

    def update(self, endpoint: dict) -> None:
        """An endpoint as GET /endpoints lists it."""
        if endpoint.get("technology") != "PJSIP" or not endpoint.get("resource"):
            return
        others = set(endpoint.get("channel_ids") or ()) - self.ours
        self._set(endpoint["resource"], endpoint.get("state") == "online", bool(others))

    def on_device_state(self, event: Event) -> None:
        device = event.raw.get("device_state") or {}
        name, state = device.get("name", ""), device.get("state", "")
        if not name.startswith("PJSIP/") or "&" in name:
            return
        self._set(name[len("PJSIP/"):], state not in OFFLINE_STATES, state not in IDLE_STATES
                  and state not in OFFLINE_STATES)

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
                self.busy.pop(ext, None)
