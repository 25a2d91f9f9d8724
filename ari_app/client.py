"""ARI over aiohttp: REST calls and an event WebSocket that reconnects by itself.

Once the event socket is up, REST requests travel over it too ("ARI REST over WebSocket",
Asterisk 20.14 / 22.4 and later): a JSON frame each way instead of an HTTP request and
response, which is most of what a call costs the app. HTTP is used before the socket is up,
for binary downloads, when `rest_over_ws` is off, and when Asterisk turns out not to know
the protocol (then the client falls back for good)."""
from __future__ import annotations

import asyncio
import base64
import itertools
from collections import Counter, deque
import json
import logging
import random
import struct
from typing import Awaitable, Callable
from urllib.parse import urlencode

import aiohttp

try:  # several times faster on the event stream, whose channel snapshots dominate our CPU
    from orjson import dumps as _dumps_bytes, loads as _loads

    def _dumps(obj) -> str:
        return _dumps_bytes(obj).decode()
except ImportError:  # pragma: no cover
    _loads = json.loads
    _dumps = json.dumps

    def _dumps_bytes(obj) -> bytes:
        return json.dumps(obj).encode()

REST_TIMEOUT_S = 10.0
# Frames wait this long to leave together: on loopback every write runs the receiving side
# of TCP in our process too, so fewer, fuller writes save more CPU than 3 ms costs a call.
FLUSH_DELAY_S = 0.003

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
                 session: aiohttp.ClientSession | None = None, rest_over_ws: bool = True):
        self.base_url = base_url.rstrip("/")
        self.app = app
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._session = session
        self._own_session = session is None
        self.connected = asyncio.Event()
        self._subscriptions: set[str] = set()
        self._stopping = False
        self.rest_over_ws = rest_over_ws
        self._ws: aiohttp.ClientWebSocketResponse | None = None  # set while it carries REST
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self.received: Counter = Counter()  # events by type since start, logged at exit
        # Requests over the socket time out through one sweeper, not a timer each: deadlines
        # are appended in time order, so the sweep only looks at the head.
        self._deadlines: deque = deque()
        self._outbox: list[tuple[bytes, asyncio.Future]] = []  # frames for the next write
        self._sweeper: asyncio.Future | None = None

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
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._own_session and self._session is not None:
            await self._session.close()

    # -- REST ------------------------------------------------------------------------------
    async def request(self, method: str, path: str, params: dict | None = None,
                      json_body: dict | None = None, parse: bool = True):
        """ARI's answer as parsed JSON; `parse=False` (commands whose answer nobody reads)
        skips decoding it, only errors are still raised."""
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        ws = self._ws
        if ws is not None:
            return await self._ws_request(ws, method, path, clean, json_body, parse)
        return await self._http_request(method, path, clean, json_body)

    async def _http_request(self, method: str, path: str, clean: dict, json_body: dict | None):
        url = f"{self.base_url}{path}"
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

    async def _ws_request(self, ws, method: str, path: str, clean: dict,
                          json_body: dict | None, parse: bool = True):
        request_id = str(next(self._ids))
        uri = path.lstrip("/")
        if clean:
            uri = f"{uri}?{urlencode(clean)}"
        frame = {"type": "RESTRequest", "request_id": request_id, "method": method, "uri": uri}
        if json_body is not None:
            frame["content_type"] = "application/json"
            frame["message_body"] = _dumps(json_body)
        loop = asyncio.get_running_loop()
        future = self._pending[request_id] = loop.create_future()
        self._deadlines.append((loop.time() + REST_TIMEOUT_S, future))
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.ensure_future(self._sweep())
        try:
            self._send(ws, _dumps_bytes(frame), future)
            response = await future
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise AriUnavailable(method, path, str(exc) or type(exc).__name__) from exc
        except asyncio.TimeoutError as exc:
            raise AriUnavailable(method, path, "timeout") from exc
        finally:
            self._pending.pop(request_id, None)
        status = response.get("status_code", 0)
        body = response.get("message_body") or ""
        if status >= 400:
            try:
                message = _loads(body).get("message", body)
            except ValueError:
                message = body or response.get("reason_phrase", "")
            raise AriError(status, message, method, path)
        return _loads(body) if body and parse else None

    def _send(self, ws, payload: bytes, future: asyncio.Future) -> None:
        """Queue a text frame; the frames queued in one turn of the event loop leave in one
        write (a system call per REST request was the largest single cost of a call)."""
        self._outbox.append((payload, future))
        if len(self._outbox) == 1:
            asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self._flush, ws)

    def _flush(self, ws) -> None:
        batch, self._outbox = self._outbox, []
        if not batch:  # dropped with its socket
            return
        transport = getattr(getattr(ws, "_writer", None), "transport", None)
        if transport is None:  # an aiohttp without the writer we know: one send per frame
            for payload, future in batch:
                asyncio.ensure_future(self._send_str(ws, payload, future))
            return
        if transport.is_closing():
            for _, future in batch:
                if not future.done():
                    future.set_exception(aiohttp.ClientConnectionError("ARI socket closing"))
            return
        transport.write(b"".join([_client_frame(payload) for payload, _ in batch]))

    @staticmethod
    async def _send_str(ws, payload: bytes, future: asyncio.Future) -> None:
        try:
            await ws.send_str(payload.decode())
        except (aiohttp.ClientError, ConnectionError) as exc:
            if not future.done():
                future.set_exception(exc)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._deadlines:
            await asyncio.sleep(0.5)
            now = loop.time()
            while self._deadlines and self._deadlines[0][0] <= now:
                _expire(self._deadlines.popleft()[1])
            while self._deadlines and self._deadlines[0][1].done():  # answered: drop early
                self._deadlines.popleft()

    def _answered(self, frame: dict) -> None:
        future = self._pending.pop(frame.get("request_id", ""), None)
        if future is not None and not future.done():
            future.set_result(frame)

    async def _probe_rest_over_ws(self, ws) -> bool:
        """Does this Asterisk answer REST over the socket? Older ones ignore the frame."""
        self._ws = ws
        try:
            await self._ws_request(ws, "GET", "/asterisk/ping", {}, None)
            return True
        except AriError as exc:
            log.info("REST over the event socket unavailable (%s); using HTTP", exc)
            self.rest_over_ws = False
            return False
        finally:
            self._ws = None

    def _drop_ws(self) -> None:
        """The socket is gone: requests waiting on it fail now, new ones use HTTP."""
        self._ws = None
        self._outbox = []
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(aiohttp.ClientConnectionError("ARI event socket closed"))

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
        }, body, parse=False)

    async def answer(self, channel_id: str):
        return await self.request("POST", f"/channels/{channel_id}/answer", parse=False)

    async def play(self, channel_id: str, media: str, playback_id: str | None = None):
        return await self.request("POST", f"/channels/{channel_id}/play",
                                  {"media": media, "playbackId": playback_id}, parse=False)

    async def hangup(self, channel_id: str, reason: str = "normal"):
        try:
            return await self.request("DELETE", f"/channels/{channel_id}", {"reason": reason},
                                      parse=False)
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
    EVENT_TYPES = ("StasisStart", "StasisEnd", "ChannelDestroyed", "ChannelHangupRequest", "ChannelDtmfReceived", "PlaybackFinished",
                   "RecordingFinished", "RecordingFailed", "ChannelEnteredBridge",
                   "ChannelLeftBridge",
                   "RESTResponse")  # the answers to REST requests sent over the socket

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
                    reader = asyncio.create_task(self._read(ws, on_event))
                    try:
                        if self.rest_over_ws and await self._probe_rest_over_ws(ws):
                            self._ws = ws
                        await reader
                    finally:
                        self._drop_ws()
                        reader.cancel()
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

    async def _read(self, ws, on_event) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            try:
                data = _loads(msg.data)
            except ValueError:
                log.warning("undecodable ARI event: %.200s", msg.data)
                continue
            kind = data.get("type")
            self.received[kind] += 1
            if kind == "RESTResponse":
                self._answered(data)
                continue
            result = on_event(parse(data))
            if asyncio.iscoroutine(result):
                await result


_mask_keys = random.Random()


def _client_frame(payload: bytes) -> bytes:
    """One final, masked text frame (RFC 6455 5.2: a client masks everything it sends)."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    key = _mask_keys.getrandbits(32).to_bytes(4, "little")
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        n, "little")
    return header + key + masked


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(asyncio.TimeoutError())
