"""ARI: REST calls (aiohttp) and an event WebSocket (event_socket.py) that reconnects by itself.

Once the event socket is up, REST requests travel over it too ("ARI REST over WebSocket",
Asterisk 20.14 / 22.4 and later), those of a few milliseconds in one write: a JSON frame each
way instead of an HTTP request and response, which is most of what a call costs the app.
HTTP is used before the socket is up, for binary downloads, when `rest_over_ws` is off, and
when Asterisk turns out not to know the protocol (then the client falls back for good)."""
from __future__ import annotations

import asyncio
import base64
import itertools
from collections import Counter, deque
import json
import logging
from typing import Awaitable, Callable
from urllib.parse import urlencode

import aiohttp
from websockets.exceptions import WebSocketException

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

from ari_app.event_socket import EventSocket, events_url
from ari_app.events import Event, parse

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


class NotSent(aiohttp.ClientConnectionError):
    """The request never left: its socket closed before the frame was written."""


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
        self._ws: EventSocket | None = None  # set while it carries REST
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

    async def _ws_request(self, ws: EventSocket, method: str, path: str, clean: dict,
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

    def _send(self, ws: EventSocket, payload: bytes, future: asyncio.Future) -> None:
        """Queue a text frame; the frames queued within FLUSH_DELAY_S leave in one write (a
        system call per REST request was the largest single cost of a call)."""
        self._outbox.append((payload, future))
        if len(self._outbox) == 1:
            asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self._flush, ws)

    def _flush(self, ws: EventSocket) -> None:
        batch, self._outbox = self._outbox, []
        if not batch:  # dropped with its socket
            return
        if not ws.open:
            for _, future in batch:
                if not future.done():
                    future.set_exception(NotSent("ARI socket closing"))
            return
        ws.send_texts([payload for payload, _ in batch])

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

    async def _probe_rest_over_ws(self, ws: EventSocket) -> bool:
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

    async def originate_to(self, endpoint: str, channel_id: str, context: str, extension: str,
                           caller_id: str = "", timeout: int = 30,
                           variables: dict | None = None):
        """Originate into a dialplan context (priority 1) instead of straight into the app:
        the dialplan then enters Stasis, or holds the call while the app is away."""
        body = {"variables": variables} if variables else None
        return await self.request("POST", "/channels", {
            "endpoint": endpoint, "context": context, "extension": extension, "priority": 1,
            "channelId": channel_id, "callerId": caller_id or None, "timeout": timeout,
        }, body, parse=False)

    async def snoop(self, channel_id: str, snoop_id: str, spy: str = "both",
                    whisper: str = "none", app_args: str = "snoop"):
        """A snoop channel on `channel_id`, entering this app: `spy` is the audio it reads
        from the channel (in: what the channel sends us, out: what we send it, both),
        `whisper` where the audio written to it goes (out: heard by the channel's far end,
        in: mixed into what the channel sends, both, none)."""
        return await self.request("POST", f"/channels/{channel_id}/snoop", {
            "spy": spy, "whisper": whisper, "app": self.app, "appArgs": app_args,
            "snoopId": snoop_id}, parse=False)

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
                   "DeviceStateChanged",  # agents' phones: registered, in use (ari_app.presence)
                   "ChannelUserevent",  # the agent console's commands (ari_app.agent_commands)
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
        ws_url = events_url(self.base_url, urlencode({"app": self.app, "subscribeAll": "false"}))
        backoff = 0.2
        clock = asyncio.get_running_loop().time
        while not self._stopping:
            began = clock()
            try:
                ws = await EventSocket.connect(ws_url, self._headers)
                try:
                    backoff = 0.2
                    phases = [("connect", clock() - began)]
                    await self._filter_events()
                    self.connected.set()
                    log.info("ARI event socket connected")
                    for source in sorted(self._subscriptions):
                        try:
                            await self.post(f"/applications/{self.app}/subscription",
                                            eventSource=source)
                        except AriError as exc:
                            log.warning("resubscribe %s failed: %s", source, exc)
                    phases.append(("filter and subscriptions", clock() - began))
                    if on_state:
                        await on_state(True)
                    phases.append(("on_state", clock() - began))
                    ws.start(self._consumer(on_event))
                    try:
                        if self.rest_over_ws and await self._probe_rest_over_ws(ws):
                            self._ws = ws
                        phases.append(("REST over the socket", clock() - began))
                        log.info("ARI resume phases (s since the connect began): %s", ", ".join(
                            f"{name} {at:.2f}" for name, at in phases))
                        await ws.wait_closed()
                    finally:
                        self._drop_ws()
                finally:
                    await ws.close()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, WebSocketException) as exc:
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

    def _consumer(self, on_event):
        """What the event socket calls with the messages of each read: REST answers resolve
        their requests, events go to `on_event` right away. Should `on_event` return a
        coroutine, the rest of the read waits for it (and the socket stops reading)."""
        received, answered = self.received, self._answered

        def consume(messages: list[bytes]):
            for i, message in enumerate(messages):
                try:
                    data = _loads(message)
                except ValueError:
                    log.warning("undecodable ARI event: %.200r", message)
                    continue
                kind = data.get("type")
                received[kind] += 1
                if kind == "RESTResponse":
                    answered(data)
                    continue
                try:
                    result = on_event(parse(data))
                except Exception:  # one broken event must not take the socket down
                    log.exception("handling ARI %s failed", kind)
                    continue
                if result is not None and asyncio.iscoroutine(result):
                    return _then(result, consume, messages[i + 1:])
            return None

        return consume


async def _then(pending, consume, rest: list[bytes]) -> None:
    await pending
    more = consume(rest)
    if more is not None:
        await more


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(asyncio.TimeoutError())
