"""`voxcast webhooks` (and `voxcast run`, which starts it): one asyncio loop that claims due
deliveries from the outbox (voxcast.webhooks.outbox, in a worker thread: peewee is
synchronous), posts each signed with its endpoint's secret through one aiohttp ClientSession
(connect and total timeouts, no redirects followed: a 3xx is a failed attempt), and records
the outcome: 2xx delivered, anything else retried by voxcast.webhooks.retry's schedule.

Up to CONCURRENCY posts run at once, so one slow receiver does not hold the others up. The
SystemStatus row "webhooks" says "running (<pending> pending)" while it runs, "down" after."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from models import init_database
from models.migrations import require_current
from voxcast.config import Settings
from voxcast.runtime.status import set_status
from voxcast.webhooks import endpoints, outbox, signing
from voxcast.webhooks.retry import Schedule

log = logging.getLogger("voxcast.webhooks")
CONCURRENCY = 20
POLL_S = 1.0  # how often the outbox is asked when nothing is due sooner
CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 15.0  # well under outbox.LEASE_S (VOXCAST_WEBHOOK_TIMEOUT_S)
STATUS_S = 30.0
PURGE_S = 3600.0
BODY_KEEP = 300  # characters of a failed answer's body kept in last_error


class PrivateAddress(OSError):
    """A tenant's endpoint resolved only to addresses it may not reach."""


class PublicResolver(AbstractResolver):
    """Resolves with `inner` (aiohttp's default) and keeps only public addresses: a tenant's
    endpoint name that points at loopback or the provider's network (now, or after a DNS
    change) is refused when it is posted to, not only when it was registered."""

    def __init__(self, inner: AbstractResolver | None = None):
        self.inner = inner or aiohttp.DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family=0) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        public = [r for r in found if not endpoints.private_address(r["host"])]
        if not public:
            raise PrivateAddress(f"{host} resolves to a private address "
                                 f"({', '.join(sorted({r['host'] for r in found}))})")
        return public

    async def close(self) -> None:
        await self.inner.close()


class Sender:
    def __init__(self, schedule: Schedule | None = None, *, poll_s: float = POLL_S,
                 concurrency: int = CONCURRENCY, timeout_s: float | None = None,
                 lease_s: int | None = None):
        self.schedule = schedule or Schedule.from_env()
        # tests shorten both; the lease must outlast an attempt's timeout
        self.timeout_s = timeout_s or float(os.environ.get("VOXCAST_WEBHOOK_TIMEOUT_S",
                                                           TOTAL_TIMEOUT_S))
        self.lease_s = lease_s or int(os.environ.get("VOXCAST_WEBHOOK_LEASE_S", outbox.LEASE_S))
        self.lease_s = max(self.lease_s, int(self.timeout_s) + 5)
        self.poll_s = poll_s
        self.slots = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.running: set[asyncio.Task] = set()

    async def post(self, session: aiohttp.ClientSession, job: outbox.Job) -> tuple[int | None, str]:
        """One attempt; `session` must resolve through PublicResolver for a public_only job
        (a literal private address is refused here: aiohttp does not resolve those)."""
        headers = signing.headers(job.secret, event=job.event, event_id=job.event_id,
                                  body=job.payload)
        if job.public_only and endpoints.private_address(urlsplit(job.url).hostname or ""):
            return None, "refused: a tenant's endpoint may not be a private address"
        try:
            async with session.post(job.url, data=job.payload.encode("utf-8"), headers=headers,
                                    allow_redirects=False) as response:
                if 200 <= response.status < 300:
                    await response.read()
                    return response.status, ""
                text = (await response.text(errors="replace"))[:BODY_KEEP]
                return response.status, f"HTTP {response.status}: {text}".strip()
        except asyncio.TimeoutError:
            return None, f"timed out after {self.timeout_s:g} s"
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, PrivateAddress):
                return None, f"refused: {exc.os_error}"[:1000]
            return None, f"{type(exc).__name__}: {exc}"[:1000]
        except aiohttp.ClientError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000]
        except ValueError as exc:  # an URL aiohttp cannot use
            return None, f"invalid URL: {exc}"[:1000]

    async def deliver(self, session: aiohttp.ClientSession, job: outbox.Job) -> None:
        try:
            status, error = await self.post(session, job)
            state = await asyncio.to_thread(outbox.finish, job, status, error, self.schedule)
            log.info("%s %s to %s (attempt %s): %s %s", job.event, job.event_id, job.url,
                     job.attempt, state, status if status is not None else error)
        finally:
            self.slots.release()

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s,
                                        connect=min(CONNECT_TIMEOUT_S, self.timeout_s))
        last_status = last_purge = float("-inf")
        loop = asyncio.get_running_loop()
        public_connector = aiohttp.TCPConnector(resolver=PublicResolver())
        async with (aiohttp.ClientSession(timeout=timeout) as session,
                    aiohttp.ClientSession(timeout=timeout, connector=public_connector) as public):
            while not stop.is_set():
                if loop.time() - last_status >= STATUS_S:
                    last_status = loop.time()
                    await asyncio.to_thread(self._publish_status)
                if loop.time() - last_purge >= PURGE_S:
                    last_purge = loop.time()
                    await asyncio.to_thread(outbox.purge)
                free = self.concurrency - len(self.running)
                jobs = (await asyncio.to_thread(outbox.claim, free, lease_s=self.lease_s)
                        if free > 0 else [])
                for job in jobs:
                    await self.slots.acquire()
                    task = asyncio.create_task(
                        self.deliver(public if job.public_only else session, job))
                    self.running.add(task)
                    task.add_done_callback(self.running.discard)
                if len(jobs) < free or free <= 0:
                    try:
                        await asyncio.wait_for(stop.wait(), self.poll_s)
                    except asyncio.TimeoutError:
                        pass
            if self.running:  # posts under way finish (their timeouts bound the wait)
                await asyncio.gather(*self.running, return_exceptions=True)

    @staticmethod
    def _publish_status() -> None:
        pending = outbox.counts().get("pending", 0)
        set_status("webhooks", f"running ({pending} pending)")


async def amain(settings: Settings) -> None:
    init_database(settings.db_url)
    require_current()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sender = Sender()
    log.info("voxcast webhooks started (retry after %s s doubling to %s s, %s attempts)",
             sender.schedule.base_s, sender.schedule.cap_s, sender.schedule.max_attempts)
    failures = 0
    while not stop.is_set():
        try:
            await sender.run(stop)
        except Exception:
            failures += 1
            delay = min(30, 2 ** failures)
            log.exception("the webhook sender failed; starting it again in %ss", delay)
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
    await asyncio.to_thread(set_status, "webhooks", "down")


def run(settings: Settings) -> None:
    asyncio.run(amain(settings))
