"""The Stasis app's status for the web UI: SystemStatus rows, "ari" refreshed every 3 s."""
from __future__ import annotations

import asyncio
import logging

from models import SystemStatus
from models.entities import utcnow

log = logging.getLogger("voxcast.heartbeat")


def set_status(key: str, value: str) -> None:
    (SystemStatus.insert(key=key, value=value, updated_at=utcnow())
     .on_conflict(conflict_target=[SystemStatus.key],
                  update={SystemStatus.value: value, SystemStatus.updated_at: utcnow()})
     .execute())


async def heartbeat(writer, connected: asyncio.Event, every: float = 3.0) -> None:
    while True:
        state = "connected" if connected.is_set() else "down"
        try:
            await writer.run(set_status, "ari", state)
        except Exception:
            log.exception("heartbeat write failed")
        await asyncio.sleep(every)
