"""ARI over aiohttp: REST calls and an event WebSocket that reconnects by itself."""
from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Awaitable, Callable

import aiohttp

try:  # several times faster on the event stream, whose channel snapshots dominate our CPU
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads

from .events import Event, parse

log = logging.getLogger("voxcast.ari")


class AriError(Exception):
    """A REST call ARI refused; carries ARI's status and message."""

    def __init__(self, status: int, message: str, method: str = "", path: str = ""):
        super().__init__(f"ARI {method} {path} -> {status}: {message}")
        self.status = status
        self.message = message


class AriUnavailable(AriError):
    def __init__(self, method: str, path: str, reason: str):
        super().__init__(0, f"Asterisk unreachable: {reason}", method, path)


class AriClient:
    def __init__(self, base_url: str, user: str, password: str, app: str,
                 session: aiohttp.ClientSession | None = None):
        self.base_url = base_url.rstrip("/")
        self.app = app
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._session = session
        self._own_session = session is None
        self.connected = asyncio.Event()
        self._subscriptions: set[str] = set()
        self._stopping = False

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=10),
                connector=aiohttp.TCPConnector(limit=64),
            )
        return self._session

    async def close(self) -> None:
        self._stopping = True
        if self._own_session and self._session is not None:
            await self._session.close()

    # -- REST ------------------------------------------------------------------------------
    async def request(self, method: str, path: str, params: dict | None = None,
                      json_body: dict | None = None):
        url = f"{self.base_url}{path}"
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.session.request(method, url, params=clean, json=json_body) as resp:
                body = await resp.text()
                if resp.status >= 400:
                    try:
                        message = json.loads(body).get("message", body)
                    except ValueError:
                        message = body or resp.reason
                    raise AriError(resp.status, message, method, path)
                return _loads(body) if body else None
        except aiohttp.ClientError as exc:
            raise AriUnavailable(method, path, str(exc) or type(exc).__name__) from exc
        except asyncio.TimeoutError as exc:
            raise AriUnavailable(method, path, "timeout") from exc

    async def get(self, path: str, **params):
        return await self.request("GET", path, params)

    async def post(self, path: str, **params):
        return await self.request("POST", path, params)

    async def delete(self, path: str, **params):
        return await self.request("DELETE", path, params)

    # Helpers for the calls the flows use.
    async def originate(self, endpoint: str, channel_id: str, app_args: str,
                        caller_id: str = "", timeout: int = 30, variables: dict | None = None):
        body = {"variables": variables} if variables else None
        return await self.request("POST", "/channels", {
            "endpoint": endpoint, "app": self.app, "appArgs": app_args,
            "channelId": channel_id, "callerId": caller_id or None, "timeout": timeout,
        }, body)

    async def answer(self, channel_id: str):
        return await self.post(f"/channels/{channel_id}/answer")

    async def play(self, channel_id: str, media: str, playback_id: str | None = None):
        return await self.post(f"/channels/{channel_id}/play", media=media, playbackId=playback_id)

    async def hangup(self, channel_id: str, reason: str = "normal"):
        try:
            return await self.delete(f"/channels/{channel_id}", reason=reason)
        except AriError as exc:
            if exc.status == 404:  # already gone: the far end hung up first
                return None
            raise

    async def subscribe(self, event_source: str) -> None:
        """Subscribe the app to an event source; remembered and renewed after reconnects."""
        self._subscriptions.add(event_source)
        if self.connected.is_set():
            await self.post(f"/applications/{self.app}/subscription", eventSource=event_source)

    # -- events ----------------------------------------------------------------------------
    # Only what our flows handle: Asterisk then serialises and sends a fraction of the events.
    EVENT_TYPES = ("StasisStart", "StasisEnd", "ChannelDestroyed", "ChannelStateChange",
                   "ChannelHangupRequest", "ChannelDtmfReceived", "PlaybackFinished",
                   "RecordingFinished", "RecordingFailed", "ChannelEnteredBridge",
                   "ChannelLeftBridge", "Dial")

    async def _filter_events(self) -> None:
        try:
            await self.request("PUT", f"/applications/{self.app}/eventFilter", json_body={
                "allowed": [{"type": t} for t in self.EVENT_TYPES]})
        except AriError as exc:  # an older Asterisk: everything arrives, which still works
            log.info("event filter not set: %s", exc)

    async def run_events(self, on_event: Callable[[Event], Awaitable[None] | None],
                         on_state: Callable[[bool], Awaitable[None]] | None = None) -> None:
        """Receive events forever; reconnect with backoff when Asterisk goes away."""
        ws_url = self.base_url.replace("http", "ws", 1) + "/events"
        backoff = 0.2
        while not self._stopping:
            try:
                async with self.session.ws_connect(
                    ws_url, params={"app": self.app, "subscribeAll": "false"},
                    heartbeat=10, timeout=aiohttp.ClientWSTimeout(ws_close=5),
                ) as ws:
                    backoff = 0.2
                    await self._filter_events()
                    self.connected.set()
                    log.info("ARI event socket connected")
                    for source in sorted(self._subscriptions):
                        try:
                            await self.post(f"/applications/{self.app}/subscription",
                                            eventSource=source)
                        except AriError as exc:
                            log.warning("resubscribe %s failed: %s", source, exc)
                    if on_state:
                        await on_state(True)
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        try:
                            event = parse(_loads(msg.data))
                        except ValueError:
                            log.warning("undecodable ARI event: %.200s", msg.data)
                            continue
                        result = on_event(event)
                        if asyncio.iscoroutine(result):
                            await result
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                log.debug("ARI event socket: %s", exc)
            if self.connected.is_set():
                self.connected.clear()
                log.warning("ARI event socket lost; reconnecting")
                if on_state:
                    await on_state(False)
            if self._stopping:
                break
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 3.0)
