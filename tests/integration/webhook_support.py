"""For the webhook integration tests: a real HTTP receiver (aiohttp on 127.0.0.1, in a thread
with its own loop, stopped and started again on the same port) that records every request and
answers per path as the test plans, and `voxcast webhooks` as its own process."""
from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from tests.unit.smtp_peer import free_port
from voxcast.webhooks import signing

from .child_process import VoxcastProcess

# A short schedule: 1 s, then 2 s between tries, given up after 4 attempts (5 s in all).
FAST_RETRY = {"VOXCAST_WEBHOOK_RETRY_BASE_S": "1", "VOXCAST_WEBHOOK_RETRY_CAP_S": "2",
              "VOXCAST_WEBHOOK_MAX_ATTEMPTS": "4", "VOXCAST_WEBHOOK_TIMEOUT_S": "3",
              "VOXCAST_WEBHOOK_LEASE_S": "8",
              # every receiver here is on loopback: a single-host installation's setting
              "VOXCAST_WEBHOOK_ALLOW_PRIVATE": "1"}


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float
    status: int  # what the receiver answered

    @property
    def event_id(self) -> str:
        return self.headers.get("X-Voxcast-Delivery", "")

    def signed_by(self, secret: str) -> bool:
        return signing.verify(secret, self.headers.get("X-Voxcast-Timestamp"), self.body,
                              self.headers.get("X-Voxcast-Signature", ""))


class Receiver:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.requests: list[Received] = []
        self.plans: dict[str, list[int]] = {}  # path -> statuses to answer first, then 200
        self.delays: dict[str, float] = {}  # path -> seconds before answering
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="webhook-receiver")
        self._thread.start()
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        delay = self.delays.get(request.path, 0)
        if delay:
            await asyncio.sleep(delay)
        with self._lock:
            plan = self.plans.get(request.path) or []
            status = plan.pop(0) if plan else 200
            self.requests.append(Received(request.path, dict(request.headers), body,
                                          time.monotonic(), status))
        return web.Response(status=status, text="ok" if status < 300 else "try later")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> "Receiver":
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


class WebhooksProcess(VoxcastProcess):
    """`voxcast webhooks` for the instance, as `voxcast run` starts it."""

    def __init__(self, instance: str, logdir: Path, env: dict | None = None):
        super().__init__(logdir / "webhooks.log", {**os.environ, **FAST_RETRY, **(env or {})})
        self.instance = instance

    def start(self) -> None:
        self.spawn("--instance", self.instance, "webhooks")
