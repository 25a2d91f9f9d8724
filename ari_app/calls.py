"""Per-call handler objects and the router that hands each one its channel's events.

Each call gets a queue and a task: its events are handled in order, while calls run
concurrently and a slow REST round trip on one call never holds up the event socket.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from ari_app.client import AriError
from ari_app.events import Event, handler_name

log = logging.getLogger("voxcast.calls")


@dataclass
class ChannelCounter:
    """Live channels by campaign, by tenant and in all, for the limits in pacing.free_slots."""
    by_campaign: Counter = field(default_factory=Counter)
    by_tenant: Counter = field(default_factory=Counter)
    total: int = 0

    def add(self, tenant_id: int, campaign_id: int | None = None) -> None:
        self.by_tenant[tenant_id] += 1
        if campaign_id is not None:
            self.by_campaign[campaign_id] += 1
        self.total += 1

    def remove(self, tenant_id: int, campaign_id: int | None = None) -> None:
        self.by_tenant[tenant_id] -= 1
        if campaign_id is not None:
            self.by_campaign[campaign_id] -= 1
        self.total -= 1


class CallHandler:
    """Base of one call's handler. Subclasses define methods named after ARI events
    (`stasis_start`, `playback_finished`, `channel_destroyed`...)."""

    language = "en"  # the channel's prompt language (ari_app.language.apply sets it)
    settling = False  # finds out its own fate after a reconnect (the reconcile leaves it be)

    def __init__(self, ctx, channel_id: str):
        self.ctx = ctx
        self.channel_id = channel_id
        self.done = False
        self.created = asyncio.get_running_loop().time()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def enqueue(self, event: Event) -> None:
        if not hasattr(self, handler_name(event.type)):  # nothing to do: no queue, no wake-up
            return
        self._queue.put_nowait(event)
        if self._task is None:
            self._task = self.ctx.tasks.spawn(self._drain(), name=f"call-{self.channel_id}")

    async def _drain(self) -> None:
        while not self.done:
            event = await self._queue.get()
            method = getattr(self, handler_name(event.type), None)
            if method is None:
                continue
            try:
                await method(event)
            except AriError as exc:
                if exc.status == 404:  # the channel hung up under us: nothing left to do
                    log.info("%s: channel %s gone during %s", type(self).__name__,
                             self.channel_id, event.type)
                    continue
                log.exception("%s failed on %s; hanging up", type(self).__name__, event.type)
                await self.safe_hangup()
            except Exception:  # a broken flow must not leave the caller in limbo
                log.exception("%s failed on %s; hanging up", type(self).__name__, event.type)
                await self.safe_hangup()
        self.ctx.router.forget(self.channel_id)

    async def safe_hangup(self) -> None:
        try:
            await self.ctx.ari.hangup(self.channel_id)
        except AriError as exc:
            log.warning("hangup of %s failed: %s", self.channel_id, exc)

    def finish(self) -> None:
        """Called once the call is over; later events for the channel are ignored."""
        self.done = True
        self.ctx.router.forget(self.channel_id)


class Router:
    def __init__(self):
        self._handlers: dict[str, CallHandler] = {}
        self._factories: dict[str, Callable[[object, Event], CallHandler | None]] = {}
        self._listeners: dict[str, list[Callable[[Event], None]]] = {}
        self.ctx = None

    def listen(self, event_type: str, callback: Callable[[Event], None]) -> None:
        """`callback(event)` for every event of that type, before (and whatever) the channel
        routing: events that are no channel's (DeviceStateChanged, user events)."""
        self._listeners.setdefault(event_type, []).append(callback)

    def route_stasis(self, first_arg: str, factory: Callable[[object, Event], CallHandler | None]) -> None:
        """Calls entering Stasis from dialplan with `Stasis(app,<first_arg>,...)` get a new
        handler; a factory returning None refuses the call (hung up)."""
        self._factories[first_arg] = factory

    def register(self, handler: CallHandler) -> None:
        self._handlers[handler.channel_id] = handler

    def forget(self, channel_id: str) -> None:
        self._handlers.pop(channel_id, None)

    def handlers(self) -> list[CallHandler]:
        return list(self._handlers.values())

    def dispatch(self, event: Event) -> None:
        for callback in self._listeners.get(event.type, ()):
            try:
                callback(event)
            except Exception:  # one listener's bug must not lose the event for the call
                log.exception("listener of %s failed", event.type)
        channel_id = event.routing_channel_id
        if not channel_id:
            return
        handler = self._handlers.get(channel_id)
        if handler is None and event.type == "StasisStart":
            factory = self._factories.get(event.args[0] if event.args else "")
            handler = factory(self.ctx, event) if factory is not None else None
            if handler is None:
                log.warning("channel %s entered Stasis with unknown args %s; hanging up",
                            channel_id, event.args)
                self.ctx.tasks.spawn(self.ctx.ari.hangup(channel_id), f"refuse-{channel_id}")
                return
            self.register(handler)
        if handler is not None:
            handler.enqueue(event)
