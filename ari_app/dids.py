"""Which tenant owns a dialled DID, and what it plays: read on the writer thread, cached
briefly on the event loop (DID routes change rarely and are read on every inbound call)."""
from __future__ import annotations

import asyncio
import time

from voxcast.numbers.did_routes import DidRoute, find_did


class DidDirectory:
    """Calls arriving while a look-up runs share it, so an expiry at hundreds of calls a
    second costs one query, not one per call; a failed look-up is tried again."""

    def __init__(self, writer, ttl: float = 5.0):
        self.writer = writer
        self.ttl = ttl
        self._cache: dict[str, tuple[float, asyncio.Future]] = {}

    async def find(self, number: str) -> DidRoute | None:
        now = time.monotonic()
        hit = self._cache.get(number)
        if hit is None or hit[0] <= now:
            task = asyncio.ensure_future(self.writer.run(find_did, number))
            hit = self._cache[number] = (now + self.ttl, task)
            task.add_done_callback(lambda t, n=number: (not t.cancelled() and t.exception() is None)
                                   or self._cache.pop(n, None))  # retry a failure
        return await asyncio.shield(hit[1])
