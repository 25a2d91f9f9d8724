"""The Stasis app's status for the web UI: SystemStatus rows, "ari" refreshed every 3 s."""
from __future__ import annotations

import asyncio
import logging

from voxcast.runtime.status import set_status

log = logging.getLogger("voxcast.heartbeat")


async def heartbeat(writer, connected: asyncio.Event, every: float = 3.0) -> None:
    while True:
        state = "connected" if connected.is_set() else "down"
        try:
            await writer.run(set_status, "ari", state)
        except Exception:
            log.exception("heartbeat write failed")
        await asyncio.sleep(every)
