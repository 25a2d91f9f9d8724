"""One SMPP transceiver session per SMSC connection (Bind): bound, kept up with enquire_link
and reconnects with backoff, submits written in bursts within the window and the
connection's rate, answers and receipts handed to its SmsService (messaging_app.sms), which
decides what they mean for each message. The bind-loss rule is there too: written parts
without a response are `unknown`, never re-sent."""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from models.entities import SmscConnection, utcnow
from voxcast.messaging.dispatch import Outgoing
from voxcast.messaging.sms import segments
from voxcast.runtime.status import set_status

from . import smpp_codec as codec, smpp_hot
from .smpp_codec import as_text

if TYPE_CHECKING:
    from .sms import SmsService

log = logging.getLogger("voxcast.sms")

LOST_ERROR = "no submit_sm_resp before the bind was lost: not re-sent"


def status_key(connection_id: int) -> str:
    return f"smsc:{connection_id}"


@dataclass(frozen=True)
class Connection:
    id: int
    name: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str
    source_addr: str
    source_ton: int
    source_npi: int
    dest_ton: int
    dest_npi: int
    throughput: int

    @classmethod
    def of(cls, row: SmscConnection) -> "Connection":
        return cls(row.id, row.name, row.host, row.port, row.system_id, row.password,
                   row.system_type, row.source_addr, row.source_ton, row.source_npi,
                   row.dest_ton, row.dest_npi, row.throughput)


@dataclass(eq=False)
class PartJob:
    message: "MessageJob"
    segment: segments.Segment
    part_id: int = 0
    outcome: str = ""  # of the submit: "" while open; submitted | rejected | unknown
    receipt: str = ""  # the final state its receipt gave (delivered, undelivered, ...)
    external_id: str = ""
    error: str = ""


@dataclass(eq=False)
class MessageJob:
    out: Outgoing
    parts: list[PartJob] = field(default_factory=list)

    def settled(self) -> bool:
        return all(p.outcome for p in self.parts)


class RateLimiter:
    """At most `rate` events in any one second (0: no limit): a sliding window of the last
    `rate` event times, so a burst after a pause never exceeds the rate either."""

    def __init__(self, rate: float, clock=time.monotonic) -> None:
        self.rate = int(rate)
        self.clock = clock
        self.times: collections.deque[float] = collections.deque()

    def _trim(self) -> float:
        now = self.clock()
        while self.times and now - self.times[0] >= 1.0:
            self.times.popleft()
        return now

    def available(self) -> int:
        if self.rate <= 0:
            return 1 << 30
        self._trim()
        return max(0, self.rate - len(self.times))

    def take(self, n: int = 1) -> None:
        if self.rate > 0:
            now = self._trim()
            self.times.extend([now] * n)

    def wait_time(self) -> float:
        if self.rate <= 0:
            return 0.0
        now = self._trim()
        if len(self.times) < self.rate:
            return 0.0
        return max(0.001, self.times[0] + 1.0 - now)


class Bind:
    """One SMPP transceiver session to one SMSC, kept up with reconnects."""

    def __init__(self, conn: Connection, service: "SmsService") -> None:
        self.conn = conn
        self.service = service
        self.queue: collections.deque[PartJob] = collections.deque()
        self.inflight: dict[int, PartJob] = {}
        self.seq = codec.Sequence()
        self.limiter = RateLimiter(conn.throughput)
        self.bound = asyncio.Event()
        self.wake = asyncio.Event()
        self.state = "connecting"
        self.backoff_until = 0.0
        self.throttle_streak = 0
        self.ref = 0
        self.writer: asyncio.StreamWriter | None = None
        self.stopping = False
        self.hold = False  # stopping: write nothing more, let the answers come in
        self.last_heard = time.monotonic()
        self.submits = 0
        self.replies: list[bytes] = []  # deliver_sm_resp waiting for _send_replies

    # -- status ------------------------------------------------------------------------------

    def _status(self, state: str, error: str = "") -> None:
        self.state = state
        value = json.dumps({"state": state, "error": error[:200], "name": self.conn.name,
                            "since": utcnow().isoformat(timespec="seconds")})
        self.service.writer.post(set_status, status_key(self.conn.id), value)

    def load(self) -> int:
        return len(self.queue) + len(self.inflight)

    def add(self, jobs: list[PartJob]) -> None:
        self.queue.extend(jobs)
        self.wake.set()

    # -- the session -------------------------------------------------------------------------

    async def run(self) -> None:
        delay = self.service.reconnect_min
        while not self.stopping:
            error = ""
            try:
                await self._session()
                delay = self.service.reconnect_min
                error = "connection closed"
            except asyncio.CancelledError:
                await self._close(unbind=True)
                self._lost()
                self._status("down", "stopped")
                raise
            except (OSError, asyncio.TimeoutError, codec.PduError, BindRefused) as exc:
                error = str(exc) or exc.__class__.__name__
                log.warning("SMSC %s: %s", self.conn.name, error)
            await self._close()
            self._lost()
            if self.stopping:
                break
            self._status("down", error)
            await asyncio.sleep(delay)
            delay = min(self.service.reconnect_max, delay * 2)

    async def _session(self) -> None:
        self._status("connecting")
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.conn.host, self.conn.port), self.service.timeout)
        self.writer = writer
        pdu = codec.make("bind_transceiver", self.seq, system_id=self.conn.system_id,
                         password=self.conn.password, system_type=self.conn.system_type,
                         interface_version=0x34, addr_ton=0, addr_npi=0, address_range="")
        writer.write(pdu.generate())
        await writer.drain()
        resp = await asyncio.wait_for(codec.read_pdu(reader), self.service.timeout)
        if resp is None:
            raise ConnectionError("closed during bind")
        if resp.command != "bind_transceiver_resp" or resp.status != codec.ROK:
            raise BindRefused(f"bind refused: {codec.status_text(resp.status)}")
        log.info("SMSC %s bound (%s:%s)", self.conn.name, self.conn.host, self.conn.port)
        self._status("bound")
        self.bound.set()
        self.last_heard = time.monotonic()
        tasks = [asyncio.create_task(self._reader(reader)),
                 asyncio.create_task(self._sender()),
                 asyncio.create_task(self._keepalive())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if tasks[0] not in done:
                # The sender or keepalive failed (a write to a closed socket): responses the
                # SMSC sent before closing may still be in our buffer; read them to the end.
                await asyncio.wait([tasks[0]], timeout=2.0)
            for t in done:
                if t.exception():
                    raise t.exception()
        finally:
            self.bound.clear()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _close(self, unbind: bool = False) -> None:
        self.bound.clear()
        writer, self.writer = self.writer, None
        if writer is None:
            return
        try:
            if unbind and not writer.is_closing():
                writer.write(codec.make("unbind", self.seq).generate())
                await asyncio.wait_for(writer.drain(), 1)
            writer.close()
        except (OSError, asyncio.TimeoutError, RuntimeError):
            pass

    def _lost(self) -> None:
        """The bind is gone: written parts without a response are unknown (never re-sent);
        queued parts wait for the next bind."""
        if self.inflight:
            lost, self.inflight = list(self.inflight.values()), {}
            log.warning("SMSC %s: %d submit(s) without response at bind loss",
                        self.conn.name, len(lost))
            for job in lost:
                self.service.part_unknown(job, LOST_ERROR)

    async def _sender(self) -> None:
        writer = self.writer
        window = self.service.window
        while True:
            while self.hold or not self.queue or len(self.inflight) >= window:
                self.wake.clear()
                await self.wake.wait()
            now = time.monotonic()
            if now < self.backoff_until:
                await asyncio.sleep(self.backoff_until - now)
                continue
            wait = self.limiter.wait_time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            # As many as the window and the rate allow, in one write (one send, not one per
            # PDU: each send gives the GIL away to the database writer), then one drain.
            room = min(window - len(self.inflight), len(self.queue),
                       int(self.limiter.available()) or 1)
            pdus = []
            for _ in range(room):
                job = self.queue.popleft()
                pdus.append(self._submit_pdu(job))
                self.limiter.take()
                self.submits += 1
            writer.write(b"".join(pdus))
            await writer.drain()

    def _submit_pdu(self, job: PartJob) -> bytes:
        out, seg = job.message.out, job.segment
        sender = out.sender or self.conn.source_addr
        ton, npi = self.conn.source_ton, self.conn.source_npi
        if sender and not sender.lstrip("+").isdigit():
            ton, npi = 5, 0  # alphanumeric sender
        sequence = self.seq.next_sequence()
        data = smpp_hot.encode_submit_sm(
            sequence, source_addr_ton=ton, source_addr_npi=npi, source_addr=sender.lstrip("+"),
            dest_addr_ton=self.conn.dest_ton, dest_addr_npi=self.conn.dest_npi,
            destination_addr=out.address.lstrip("+"), esm_class=seg.esm_class,
            registered_delivery=1, data_coding=seg.data_coding, short_message=seg.payload)
        self.inflight[sequence] = job
        return data

    async def _keepalive(self) -> None:
        every = self.service.enquire_every
        while True:
            await asyncio.sleep(every)
            if time.monotonic() - self.last_heard > every + self.service.timeout:
                raise ConnectionError("no answer to enquire_link")
            self.writer.write(codec.make("enquire_link", self.seq).generate())
            await self.writer.drain()

    async def _reader(self, reader: asyncio.StreamReader) -> None:
        while True:
            pdu = await codec.read_pdu(reader)
            if pdu is None:
                raise ConnectionError("the SMSC closed the connection")
            self.last_heard = time.monotonic()
            cmd = pdu.command
            if cmd == "submit_sm_resp" or (cmd == "generic_nack" and pdu.sequence in self.inflight):
                self._submit_resp(pdu)
            elif cmd == "deliver_sm":
                self._reply(smpp_hot.encode_deliver_sm_resp(pdu.sequence))
                self.service.inbound(self.conn, pdu)
            elif cmd == "data_sm":
                self._reply(codec.make(cmd + "_resp", sequence=pdu.sequence).generate())
                self.service.inbound(self.conn, pdu)
            elif cmd == "enquire_link":
                self.writer.write(codec.make("enquire_link_resp", sequence=pdu.sequence).generate())
            elif cmd == "unbind":
                self.writer.write(codec.make("unbind_resp", sequence=pdu.sequence).generate())
                await self.writer.drain()
                raise ConnectionError("the SMSC unbound")
            elif cmd == "enquire_link_resp":
                pass
            else:
                log.info("SMSC %s: %s ignored", self.conn.name, cmd)

    def _reply(self, data: bytes) -> None:
        """Answers to the SMSC's PDUs read in one go are written together, once the reader
        has taken what was buffered (one send for a burst of receipts)."""
        self.replies.append(data)
        if len(self.replies) == 1:
            asyncio.get_running_loop().call_soon(self._send_replies)

    def _send_replies(self) -> None:
        replies, self.replies = self.replies, []
        writer = self.writer
        if replies and writer is not None and not writer.is_closing():
            writer.write(b"".join(replies))

    def _submit_resp(self, pdu) -> None:
        job = self.inflight.pop(pdu.sequence, None)
        self.wake.set()
        if job is None:
            log.warning("SMSC %s: response to unknown sequence %s", self.conn.name, pdu.sequence)
            return
        if pdu.status == codec.ROK:
            self.throttle_streak = 0
            self.service.part_submitted(job, as_text(getattr(pdu, "message_id", "")))
        elif pdu.status in codec.RETRYABLE:
            self.throttle_streak += 1
            pause = min(self.service.throttle_max,
                        self.service.throttle_min * (2 ** min(self.throttle_streak - 1, 10)))
            self.backoff_until = max(self.backoff_until, time.monotonic() + pause)
            self.queue.appendleft(job)
        else:
            self.service.part_rejected(job, codec.status_text(pdu.status))

    def next_ref(self) -> int:
        self.ref = (self.ref + 1) & 0xFF
        return self.ref


class BindRefused(Exception):
    pass
