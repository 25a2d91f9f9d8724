"""Server-sent events for the live pages (campaign progress, the wallboard, the agent console).

A stream is the polled JSON endpoint turned around: the same view code, tenant-scoped the
same way, run by the server every `interval` seconds and sent as an event only when it
changed, instead of the browser asking every second or two. Waitress serves each request on
one of a fixed number of threads, and a stream holds its thread while open, so (see
docs/decisions.md, "Live pages pushed"):

- a stream ends after STREAM_SECONDS (25 s); the browser's EventSource reconnects by itself
  after `retry` (1 s), and that reconnect is a new request, authenticated again;
- at most `max_streams()` streams are open per process (VOXCAST_LIVE_STREAMS, default 8);
  one more is answered 204 (no content) at once and the page polls the JSON endpoint as before, so open
  dashboards can never take the threads ordinary requests need. `voxcast web` gives waitress
  that many threads more than its 8 for requests (webui.serve);
- every tick the session is checked again as a new request would be (logged out, disabled,
  suspended, role or feature taken away: the stream ends), and the database connection is
  taken from the pool only for the tick.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

from flask import Response, current_app, g, stream_with_context
from flask_login import current_user

from models import database

STREAM_SECONDS = 25.0
RETRY_MS = 1000
HEARTBEAT_S = 10.0
DEFAULT_STREAMS = 8


def max_streams() -> int:
    raw = os.environ.get("VOXCAST_LIVE_STREAMS", "").strip() or str(DEFAULT_STREAMS)
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= 1000:
        raise ValueError(f"VOXCAST_LIVE_STREAMS must be a number of streams (0-1000), not {raw!r}")
    return count


class StreamSlots:
    """The cap on open streams in this process."""

    def __init__(self, size: int):
        self.size = size
        self._lock = threading.Lock()
        self.open = 0

    def take(self) -> bool:
        with self._lock:
            if self.open >= self.size:
                return False
            self.open += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.open -= 1


def slots() -> StreamSlots:
    """This app's cap (one app per process; each test's app its own)."""
    found = current_app.extensions.get("voxcast_live_slots")
    if found is None:
        found = current_app.extensions.setdefault("voxcast_live_slots",
                                                  StreamSlots(max_streams()))
    return found


def _still_allowed(user_id: int, role: str, tenant_id: int | None, feature: str | None) -> bool:
    """The session as the next request would find it (webui.auth.load_user), with the same
    role, tenant and, when the page needs one, the tenant's feature."""
    from . import auth
    from voxcast.tenants import features
    fresh = auth.load_user(str(user_id))
    if fresh is None or fresh.role != role or fresh.tenant_id != tenant_id:
        return False
    g._login_user = fresh  # what the page's code reads as current_user from now on
    if feature is not None:
        from .permissions import current_tenant
        if not features.has(current_tenant(), feature):
            return False
    return True


def _event(payload: dict) -> str:
    """One event, its data encoded as the JSON endpoints encode theirs (the app's provider)."""
    return "data: " + current_app.json.dumps(payload, separators=(",", ":")) + "\n\n"


class SharedPayloads:
    """What a stream's produce() gave, kept for half a tick under a key that names everything
    the payload depends on (the tenant, the reader's language or time zone), so the open
    dashboards of one tenant make one set of queries per tick between them rather than one
    each. The key is the view's to give; None shares nothing."""

    def __init__(self):
        self._lock = threading.Lock()
        self._found: dict[tuple, tuple[float, dict]] = {}

    def get(self, key: tuple | None, fresh_s: float, produce: Callable[[], dict]) -> dict:
        if key is None:
            return produce()
        now = time.monotonic()
        with self._lock:
            hit = self._found.get(key)
            if hit is not None and now - hit[0] < fresh_s:
                return hit[1]
        payload = produce()
        with self._lock:
            if len(self._found) > 1000:  # keys of streams long gone
                self._found = {k: v for k, v in self._found.items() if now - v[0] < fresh_s}
            self._found[key] = (now, payload)
        return payload


def shared() -> SharedPayloads:
    found = current_app.extensions.get("voxcast_live_shared")
    if found is None:
        found = current_app.extensions.setdefault("voxcast_live_shared", SharedPayloads())
    return found


def event_stream(produce: Callable[[], dict], *, interval: float,
                 feature: str | None = None, ignore: tuple[str, ...] = (),
                 share: tuple | None = None) -> Response:
    """A text/event-stream of produce()'s dict, sent at once and then whenever it changes
    (keys in `ignore`, such as a timestamp, do not count as a change). Call it from a view
    that has checked the login, role and feature as its JSON twin does. `share`: a key that
    names everything produce() depends on (SharedPayloads), for streams that show several
    readers the same figures."""
    pool = slots()
    payloads = shared()
    if not pool.take():
        # 204, not 503: EventSource stops without retrying and the page polls, and the
        # browser logs no failed load for a slot that a closed page still holds for a tick
        return Response(status=204, headers={"Retry-After": "30"})
    released = threading.Event()

    def give_back() -> None:
        if not released.is_set():
            released.set()
            pool.give_back()

    user = (current_user.id, current_user.role, current_user.tenant_id)
    seconds = float(current_app.config.get("LIVE_STREAM_SECONDS", STREAM_SECONDS))

    def generate():
        try:
            yield f"retry: {RETRY_MS}\n\n"
            deadline = time.monotonic() + seconds
            last = None
            beat = time.monotonic() + HEARTBEAT_S
            while True:
                database.connect(reuse_if_open=True)
                try:
                    if not _still_allowed(*user, feature):
                        yield "event: end\ndata: {}\n\n"
                        return
                    payload = payloads.get(share, interval / 2, produce)
                finally:
                    database.close()  # back to the pool between ticks
                same = {k: v for k, v in payload.items() if k not in ignore}
                if same != last:
                    last = same
                    beat = time.monotonic() + HEARTBEAT_S
                    yield _event(payload)
                elif time.monotonic() >= beat:
                    beat = time.monotonic() + HEARTBEAT_S
                    yield ": keep-alive\n\n"  # a closed connection shows up at this write
                if time.monotonic() + interval >= deadline:
                    return
                time.sleep(interval)
        finally:
            give_back()

    response = Response(stream_with_context(generate()), mimetype="text/event-stream")
    response.call_on_close(give_back)  # also when the body is never read
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy in front must not buffer it
    return response
