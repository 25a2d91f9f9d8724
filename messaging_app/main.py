"""`voxcast messaging` (and `voxcast run`, which starts it): the database opened once, each
channel's service as a task, until SIGTERM. A service that fails is logged and started again
after a pause, so one carrier's trouble never stops the other channel."""
from __future__ import annotations

import asyncio
import logging
import signal

from models import init_database
from models.migrations import require_current
from voxcast.config import Settings
from voxcast.runtime.status import set_status

log = logging.getLogger("voxcast.messaging")
RESTART_S = (1, 2, 5, 10, 30)


def services(settings: Settings) -> list:
    """The channel services, each with `async run()`; built here so tests can pick."""
    from messaging_app.email_sender import EmailService
    from messaging_app.sms import SmsService
    return [SmsService(settings), EmailService(settings)]


async def _keep_running(service) -> None:
    name = type(service).__name__
    failures = 0
    while True:
        try:
            await service.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            delay = RESTART_S[min(failures, len(RESTART_S) - 1)]
            failures += 1
            log.exception("%s failed; starting it again in %ss", name, delay)
            await asyncio.sleep(delay)


async def amain(settings: Settings) -> None:
    init_database(settings.db_url)
    require_current()
    running = [asyncio.create_task(_keep_running(s), name=type(s).__name__)
               for s in services(settings)]
    await asyncio.to_thread(set_status, "messaging", "running")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("voxcast messaging started: %s", ", ".join(t.get_name() for t in running))
    await stop.wait()
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await asyncio.to_thread(set_status, "messaging", "down")


def run(settings: Settings) -> None:
    asyncio.run(amain(settings))
