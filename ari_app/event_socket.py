"""ARI's event WebSocket: TCP through an asyncio stream of ours, RFC 6455 through the
`websockets` library's sans-I/O `ClientProtocol` (handshake, masked frames, answers to pings,
close handshake).

Why not aiohttp's WebSocket: it writes each frame with its own write, and the client sends the
REST requests of a few milliseconds in one write (on loopback every write also runs the
receiving side of TCP in our process). Here the library builds the frames and we decide how
many leave together."""
from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

log = logging.getLogger("voxcast.ari")

READ_SIZE = 1 << 18
MAX_MESSAGE = 4 << 20  # aiohttp's default, which the socket had before
# As aiohttp's heartbeat=10 did: a ping after 10 s without data from Asterisk, and the socket
# counts as dead when nothing arrives within the next 5 s.
PING_AFTER_S = 10.0
PONG_WAIT_S = 5.0
CLOSE_WAIT_S = 5.0  # for Asterisk's close frame and TCP close once we sent ours

_TEXT, _CONT, _BINARY = Opcode.TEXT, Opcode.CONT, Opcode.BINARY


class EventSocket:
    """One connection; `receive()` until it returns None, then `close()`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 protocol: ClientProtocol, early: list | None = None):
        self._reader = reader
        self._writer = writer
        self.protocol = protocol
        self._early = early or []  # frames that came in the same read as the handshake
        self._partial: list | None = None  # a fragmented text message so far
        self._partial_kind = None
        self._ended = False
        self.last_received = time.monotonic()
        self._heartbeat: asyncio.Task | None = None

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str],
                      timeout: float = 10.0) -> EventSocket:
        """Open the socket; raises OSError, asyncio.TimeoutError or websockets'
        InvalidHandshake (e.g. InvalidStatus for a 401) when Asterisk does not accept it."""
        protocol = ClientProtocol(parse_uri(url), max_size=MAX_MESSAGE)
        uri = protocol.uri
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            uri.host, uri.port, ssl=True if uri.secure else None, limit=READ_SIZE), timeout)
        try:
            request = protocol.connect()
            for name, value in headers.items():
                request.headers[name] = value
            protocol.send_request(request)
            socket = cls(reader, writer, protocol)
            socket._write_out()
            await asyncio.wait_for(socket._handshake(), timeout)
        except BaseException:
            writer.close()
            raise
        socket._heartbeat = asyncio.ensure_future(socket._keep_alive())
        return socket

    async def _handshake(self) -> None:
        protocol = self.protocol
        while True:
            data = await self._reader.read(READ_SIZE)
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            self._write_out()
            events = protocol.events_received()
            if events:  # the HTTP response first, then any frames right behind it
                if protocol.handshake_exc is not None:
                    raise protocol.handshake_exc
                self._early = events[1:]
                return
            if not data:
                raise ConnectionError("ARI closed the connection during the handshake")

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN and not self._writer.is_closing()

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
        data = b"".join(chunks)
        if data:
            self._writer.write(data)
        if b"" in chunks and self._writer.can_write_eof():  # the library's "half-close now"
            self._writer.write_eof()

    async def receive(self) -> list[bytes] | None:
        """The text messages of the next read from Asterisk (pings are answered on the way);
        None once the connection is over."""
        if self._early:
            frames, self._early = self._early, []
            texts = self._texts(frames)
            if texts:
                return texts
        protocol, reader = self.protocol, self._reader
        while not self._ended:
            if protocol.close_expected():  # close frames exchanged: Asterisk closes TCP next
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), CLOSE_WAIT_S)
                except asyncio.TimeoutError:
                    data = b""
            else:
                data = await reader.read(READ_SIZE)
            self.last_received = time.monotonic()
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            self._write_out()
            frames = protocol.events_received()
            texts = self._texts(frames) if frames else []
            if not data or protocol.state is State.CLOSED:
                self._ended = True
                self._writer.close()
            if texts:
                return texts
        return None

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

    async def _keep_alive(self) -> None:
        while self.open:
            idle = time.monotonic() - self.last_received
            if idle < PING_AFTER_S:
                await asyncio.sleep(PING_AFTER_S - idle)
                continue
            sent = time.monotonic()
            self.protocol.send_ping(b"")
            self._write_out()
            await asyncio.sleep(PONG_WAIT_S)
            if self.last_received < sent and self.open:
                log.warning("ARI event socket: no answer to a ping in %.0f s", PONG_WAIT_S)
                self._writer.transport.abort()  # the reader sees the end and we reconnect
                return

    async def close(self) -> None:
        """The close handshake (our close frame, then Asterisk's, then its TCP close), at
        most CLOSE_WAIT_S; call once nothing else is reading."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        try:
            if self.protocol.state is State.OPEN and not self._writer.is_closing():
                self.protocol.send_close(1000)
                self._write_out()
                async with asyncio.timeout(CLOSE_WAIT_S):
                    while await self.receive() is not None:
                        pass
        except (asyncio.TimeoutError, OSError):
            pass
        finally:
            self._ended = True
            if not self._writer.is_closing():
                self._writer.transport.abort()


def events_url(base_url: str, query: str) -> str:
    """ws(s)://…/events?query for an http(s) ARI base URL."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path}/events?{query}"
