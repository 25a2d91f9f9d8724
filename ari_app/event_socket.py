"""ARI's event WebSocket: TCP through an asyncio.Protocol of ours, RFC 6455 through the
`websockets` library's sans-I/O `ClientProtocol` (handshake, masked frames, answers to pings,
close handshake).

Why not aiohttp's WebSocket: it writes each frame with its own write, and the client sends the
REST requests of a few milliseconds in one write (on loopback every write also runs the
receiving side of TCP in our process). Here the library builds the frames and we decide how
many leave together.

Why a Protocol and not an asyncio stream: `data_received` feeds the library and hands the text
messages of that read straight to the (synchronous) consumer, with no reader task to wake per
read. A consumer that returns a coroutine pauses reading until it is done, so events are still
handled one after the other, in order."""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

log = logging.getLogger("voxcast.ari")

MAX_MESSAGE = 4 << 20  # aiohttp's default, which the socket had before
# As aiohttp's heartbeat=10 did: a ping after 10 s without data from Asterisk, and the socket
# counts as dead when nothing arrives within the next 5 s.
PING_AFTER_S = 10.0
PONG_WAIT_S = 5.0
CLOSE_WAIT_S = 5.0  # for Asterisk's close frame and TCP close once we sent ours

_TEXT, _CONT, _BINARY = Opcode.TEXT, Opcode.CONT, Opcode.BINARY

Consumer = Callable[[list[bytes]], object]  # may return an awaitable: reading waits for it


class EventSocket(asyncio.Protocol):
    """One connection: `connect()`, then `start(consumer)` to have the text messages of each
    read handed over (reading is paused until then), `wait_closed()` until the connection is
    over, `close()` for our close handshake."""

    def __init__(self, protocol: ClientProtocol):
        self.protocol = protocol
        self.transport: asyncio.Transport | None = None
        self._consumer: Consumer | None = None
        self._held: list[bytes] = []  # messages before start(), or while a consumer awaits
        self._busy = False  # a consumer's coroutine is running; reading is paused
        self._partial: list | None = None  # a fragmented text message so far
        self._partial_kind = None
        self._handshake: asyncio.Future | None = None
        self._closed: asyncio.Future | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self.last_received = time.monotonic()
        self.reading_since: float | None = None  # None while we hold reading back
        self._heartbeat: asyncio.Task | None = None

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str],
                      timeout: float = 10.0) -> EventSocket:
        """Open the socket; raises OSError, asyncio.TimeoutError or websockets'
        InvalidHandshake (e.g. InvalidStatus for a 401) when Asterisk does not accept it."""
        protocol = ClientProtocol(parse_uri(url), max_size=MAX_MESSAGE)
        uri = protocol.uri
        loop = asyncio.get_running_loop()
        socket = cls(protocol)
        socket._handshake = loop.create_future()
        socket._closed = loop.create_future()
        await asyncio.wait_for(loop.create_connection(
            lambda: socket, uri.host, uri.port, ssl=True if uri.secure else None), timeout)
        try:
            request = protocol.connect()
            for name, value in headers.items():
                request.headers[name] = value
            protocol.send_request(request)
            socket._write_out()
            await asyncio.wait_for(asyncio.shield(socket._handshake), timeout)
        except BaseException:
            socket.transport.abort()
            raise
        socket._heartbeat = asyncio.ensure_future(socket._keep_alive())
        return socket

    # -- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        self.protocol.receive_data(data)
        self._after_read()

    def eof_received(self) -> bool:
        self.protocol.receive_eof()
        self._after_read()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._handshake is not None and not self._handshake.done():
            self._handshake.set_exception(
                ConnectionError("ARI closed the connection during the handshake"))
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def _after_read(self) -> None:
        protocol = self.protocol
        self._write_out()
        frames = protocol.events_received()
        if frames and not self._handshake.done():  # the HTTP response first, frames behind it
            if protocol.handshake_exc is not None:
                self._handshake.set_exception(protocol.handshake_exc)
                return
            self._handshake.set_result(None)
            frames = frames[1:]
            if self._consumer is None:
                self._pause()  # until start()
            else:
                self.reading_since = time.monotonic()
        if frames:
            texts = self._texts(frames)
            if texts:
                if self._consumer is None or self._busy:
                    self._held.extend(texts)
                else:
                    self._deliver(texts)
        if protocol.state is State.CLOSED:
            self.transport.close()
        elif protocol.close_expected() and self._close_timer is None:
            # close frames exchanged: Asterisk closes TCP next, or we do after CLOSE_WAIT_S
            self._close_timer = asyncio.get_running_loop().call_later(
                CLOSE_WAIT_S, self.transport.abort)

    def start(self, consumer: Consumer) -> None:
        """Hand the messages of each read to `consumer` from now on (those already in first)."""
        self._consumer = consumer
        held, self._held = self._held, []
        if held:
            self._deliver(held)
        if not self._busy and not self.transport.is_closing():
            self._resume()

    def _pause(self) -> None:
        self.reading_since = None
        self.transport.pause_reading()

    def _resume(self) -> None:
        if self.reading_since is None:
            self.reading_since = time.monotonic()
        self.transport.resume_reading()

    def _deliver(self, texts: list[bytes]) -> None:
        result = self._consumer(texts)
        if result is not None and asyncio.iscoroutine(result):
            self._busy = True
            self._pause()
            asyncio.ensure_future(result).add_done_callback(self._consumer_done)

    def _consumer_done(self, task: asyncio.Future) -> None:
        self._busy = False
        if not task.cancelled() and task.exception() is not None:
            log.error("ARI event consumer failed", exc_info=task.exception())
        held, self._held = self._held, []
        if held:
            self._deliver(held)
        if not self._busy and not self.transport.is_closing():
            self._resume()

    # -- sending -----------------------------------------------------------------------------
    @property
    def open(self) -> bool:
        return (self.protocol.state is State.OPEN and self.transport is not None
                and not self.transport.is_closing())

    def send_texts(self, payloads: list[bytes]) -> None:
        """Text frames, all in one write."""
        protocol = self.protocol
        for payload in payloads:
            protocol.send_text(payload)
        self._write_out()

    def _write_out(self) -> None:
        chunks = self.protocol.data_to_send()
        if not chunks:
            return
        transport = self.transport
        if transport.is_closing():
            return
        data = b"".join(chunks)
        if data:
            transport.write(data)
        if b"" in chunks and transport.can_write_eof():  # the library's "half-close now"
            transport.write_eof()

    def _texts(self, frames: list[Frame]) -> list[bytes]:
        texts = []
        for frame in frames:
            kind = frame.opcode
            if kind is _TEXT or kind is _BINARY:
                if frame.fin:
                    if kind is _TEXT:
                        texts.append(frame.data)
                    else:
                        log.warning("ignoring a binary frame from ARI")
                else:
                    self._partial, self._partial_kind = [frame.data], kind
            elif kind is _CONT and self._partial is not None:
                self._partial.append(frame.data)
                if frame.fin:
                    if self._partial_kind is _TEXT:
                        texts.append(b"".join(self._partial))
                    self._partial = None
        return texts

    # -- life cycle --------------------------------------------------------------------------
    async def wait_closed(self) -> None:
        """Until the TCP connection is gone (Asterisk closed it, or close() / a dead ping)."""
        await asyncio.shield(self._closed)

    async def _keep_alive(self) -> None:
        """Asterisk is judged only on the time we were reading: while reading is held back
        (until start(), or while a consumer's coroutine runs) its pong cannot arrive, and a
        resume that takes a while must not drop the socket it is resuming on."""
        while self.open:
            if self.reading_since is None:  # held back: look again later
                await asyncio.sleep(PONG_WAIT_S)
                continue
            idle = time.monotonic() - max(self.last_received, self.reading_since)
            if idle < PING_AFTER_S:
                await asyncio.sleep(PING_AFTER_S - idle)
                continue
            sent = time.monotonic()
            self.protocol.send_ping(b"")
            self._write_out()
            await asyncio.sleep(PONG_WAIT_S)
            reading_all_along = self.reading_since is not None and self.reading_since <= sent
            if self.last_received < sent and self.open and reading_all_along:
                log.warning("ARI event socket: no answer to a ping in %.0f s", PONG_WAIT_S)
                self.transport.abort()  # connection_lost ends wait_closed and we reconnect
                return

    async def close(self) -> None:
        """The close handshake (our close frame, then Asterisk's, then its TCP close), at
        most CLOSE_WAIT_S."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        try:
            if self.open:
                self.protocol.send_close(1000)
                self._write_out()
                if self._busy or self._consumer is None:  # Asterisk's close frame must be read
                    self.transport.resume_reading()
                await asyncio.wait_for(asyncio.shield(self._closed), CLOSE_WAIT_S)
        except (asyncio.TimeoutError, OSError):
            pass
        finally:
            if self.transport is not None and not self._closed.done():
                self.transport.abort()


def events_url(base_url: str, query: str) -> str:
    """ws(s)://…/events?query for an http(s) ARI base URL."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}/events?{query}"
