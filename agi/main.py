"""The FastAGI process (`voxcast agi`; `voxcast run` starts it beside the Stasis app): the
database opened once, one writer thread for its jobs, the server until SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import signal

from models import init_database
from models.migrations import require_current
from voxcast.config import Settings

from agi.server import AgiServer

log = logging.getLogger("voxcast.agi")


async def amain(settings: Settings) -> None:
    from ari_app.writer import Writer
    init_database(settings.db_url, node=settings.node)
    require_current()
    writer = Writer()
    server = AgiServer(writer.run, "127.0.0.1", settings.agi_port)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("FastAGI server stopping after %s conversations", server.served)
    await server.close()
    writer.close()


def run(settings: Settings) -> None:
    asyncio.run(amain(settings))
