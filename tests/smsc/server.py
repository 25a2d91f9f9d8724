"""An asyncio SMSC for tests and the benchmark: bind_transceiver with a system_id/password
check, submit_sm answered with message ids, delivery receipts whose stat is chosen by the
destination number, ESME_RTHROTTLED for the first N submits or above a rate, ESME_RINVDSTADR
for a destination pattern, the connection dropped after N submits, MO messages injected on
demand, and a record of every submit received.

    smsc = SmscThread(SmscConfig(port=..., stats={r"^\\+4915": "UNDELIV"}))
    smsc.start(); ...; smsc.inject_mo("+491701234567", "+4930123", "STOP"); smsc.stop()
"""
from __future__ import annotations

import asyncio
import itertools
import re
import struct
import threading
import time
from dataclasses import dataclass, field

from messaging_app import smpp_codec as codec
from messaging_app.smpp_codec import as_text


@dataclass
class SmscConfig:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = "voxcast"
    password: str = "secret"
    stats: dict[str, str] = field(default_factory=dict)  # destination regex -> stat word
    default_stat: str = "DELIVRD"
    receipts: bool = True
    receipt_delay: float = 0.0
    receipt_tlvs: bool = False  # also send receipted_message_id / message_state
    hex_ids: bool = False  # ids in hexadecimal in submit_sm_resp, decimal in the receipt text
    throttle_first: int = 0  # the first N submits get ESME_RTHROTTLED
    throttle_rate: float = 0.0  # submits/s above which ESME_RTHROTTLED (0: none)
    reject: str = ""  # destination regex answered ESME_RINVDSTADR
    drop_after: int = 0  # close the connection after answering this many submits (once)
    # Every PDU write is awaited when False; True queues them (faster, for the benchmark).
    fast: bool = False


STATE_OF_STAT = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6,
                 "UNKNOWN": 7, "REJECTD": 8, "ENROUTE": 1}


@dataclass
class Submit:
    destination: str
    source: str
    short_message: bytes
    esm_class: int
    data_coding: int
    status: int
    message_id: str
    at: float


class Smsc:
    def __init__(self, config: SmscConfig) -> None:
        self.config = config
        self.submits: list[Submit] = []
        self.binds: list[tuple[str, bool]] = []  # (system_id, accepted)
        self.receipts_sent = 0
        self.enquire_links = 0
        self._ids = itertools.count(1000)
        self._seq = codec.Sequence()
        self._sessions: set[asyncio.StreamWriter] = set()
        self._server: asyncio.AbstractServer | None = None
        self._dropped = False
        self._throttled = 0
        self._window: list[float] = []
        self._tasks: set[asyncio.Task] = set()
        # Receipts sent and not yet acknowledged (deliver_sm_resp), per session; what a lost
        # session never acknowledged is sent again on the next bind, as SMSCs do.
        self._unacked: dict[asyncio.StreamWriter, dict[int, bytes]] = {}
        self._pending: list[bytes] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, self.config.host, self.config.port)

    async def stop(self) -> None:
        if self._server:
            self._server.close()
        for w in list(self._sessions):
            w.close()
        for t in list(self._tasks):
            t.cancel()
        if self._server:
            await self._server.wait_closed()

    def accepted(self) -> list[Submit]:
        return [s for s in self.submits if s.status == codec.ROK]

    async def drop_all(self) -> None:
        for w in list(self._sessions):
            w.close()

    async def inject_mo(self, source: str, destination: str, text: str, *, udh: bytes = b"",
                        tlvs: dict | None = None) -> bool:
        """A mobile-originated SMS to the first bound session (False: none bound); one part
        of a concatenated one with `udh` (its header, esm_class 0x40) or `tlvs` (sar_*)."""
        for w in list(self._sessions):
            try:
                data = text.encode("ascii")
                coding = 0
            except UnicodeEncodeError:
                data, coding = text.encode("utf-16-be"), 8
            pdu = codec.make("deliver_sm", self._seq, source_addr=source, source_addr_ton=1,
                             source_addr_npi=1, destination_addr=destination,
                             esm_class=0x40 if udh else 0, data_coding=coding,
                             short_message=udh + data, **(tlvs or {}))
            w.write(pdu.generate())
            await w.drain()
            return True
        return False

    def _throttle(self) -> bool:
        if self._throttled < self.config.throttle_first:
            self._throttled += 1
            return True
        if self.config.throttle_rate:
            now = time.monotonic()
            self._window = [t for t in self._window if now - t < 1.0]
            if len(self._window) >= self.config.throttle_rate:
                return True
            self._window.append(now)
        return False

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bound = False
        try:
            while True:
                pdu = await codec.read_pdu(reader)
                if pdu is None:
                    break
                cmd = pdu.command
                if cmd in ("bind_transceiver", "bind_transmitter", "bind_receiver"):
                    ok = (as_text(pdu.system_id) == self.config.system_id
                          and as_text(pdu.password) == self.config.password)
                    self.binds.append((as_text(pdu.system_id), ok))
                    resp = codec.make(cmd + "_resp", sequence=pdu.sequence,
                                      status=codec.ROK if ok else codec.RINVPASWD,
                                      system_id="testsmsc")
                    writer.write(resp.generate())
                    if not ok:
                        await writer.drain()
                        break
                    bound = True
                    self._sessions.add(writer)
                    self._unacked[writer] = {}
                    pending, self._pending = self._pending, []
                    for data in pending:
                        self._send_receipt(writer, data)
                elif cmd == "enquire_link":
                    self.enquire_links += 1
                    writer.write(codec.make("enquire_link_resp", sequence=pdu.sequence).generate())
                elif cmd == "unbind":
                    writer.write(codec.make("unbind_resp", sequence=pdu.sequence).generate())
                    await writer.drain()
                    break
                elif cmd == "submit_sm" and bound:
                    if await self._submit(pdu, writer):
                        break
                elif cmd == "deliver_sm_resp":
                    self._unacked.get(writer, {}).pop(pdu.sequence, None)
                elif cmd == "enquire_link_resp":
                    pass
                else:
                    writer.write(codec.make("generic_nack", sequence=pdu.sequence,
                                            status=0x03).generate())
                if not self.config.fast:
                    await writer.drain()
                elif writer.transport.get_write_buffer_size() > 1 << 20:
                    await writer.drain()
        except (ConnectionError, codec.PduError):
            pass
        finally:
            self._sessions.discard(writer)
            self._pending.extend(self._unacked.pop(writer, {}).values())
            writer.close()

    async def _submit(self, pdu, writer) -> bool:
        """Answer one submit_sm; True when the connection is to be dropped now."""
        dest = as_text(pdu.destination_addr)
        status, message_id = codec.ROK, ""
        if self.config.reject and re.search(self.config.reject, dest):
            status = codec.RINVDSTADR
        elif self._throttle():
            status = codec.RTHROTTLED
        else:
            n = next(self._ids)
            message_id = format(n, "X") if self.config.hex_ids else str(n)
        self.submits.append(Submit(dest, as_text(pdu.source_addr), bytes(pdu.short_message or b""),
                                   pdu.esm_class or 0, pdu.data_coding or 0, status, message_id,
                                   time.monotonic()))
        writer.write(codec.make("submit_sm_resp", sequence=pdu.sequence, status=status,
                                message_id=message_id).generate())
        if status == codec.ROK and self.config.receipts and (pdu.registered_delivery or 0) & 1:
            stat = self.config.default_stat
            for pattern, word in self.config.stats.items():
                if re.search(pattern, dest):
                    stat = word
                    break
            if self.config.receipt_delay:
                task = asyncio.create_task(self._receipt_later(writer, pdu, message_id, stat))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                self._receipt(writer, pdu, message_id, stat)
        if (self.config.drop_after and not self._dropped
                and len(self.accepted()) >= self.config.drop_after):
            self._dropped = True
            await writer.drain()
            return True
        return False

    async def _receipt_later(self, writer, pdu, message_id, stat) -> None:
        await asyncio.sleep(self.config.receipt_delay)
        self._receipt(writer, pdu, message_id, stat)  # held for the next bind if closed
        if not writer.is_closing():
            await writer.drain()

    def _receipt(self, writer, pdu, message_id: str, stat: str) -> None:
        shown = str(int(message_id, 16)) if self.config.hex_ids else message_id
        err = "000" if stat == "DELIVRD" else "001"
        text = (f"id:{shown} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} "
                f"submit date:2612021200 done date:2612021201 stat:{stat} err:{err} text:")
        extra = {}
        if self.config.receipt_tlvs:
            extra = {"receipted_message_id": message_id,
                     "message_state": STATE_OF_STAT.get(stat, 7)}
        receipt = codec.make("deliver_sm", self._seq, source_addr=as_text(pdu.destination_addr),
                             destination_addr=as_text(pdu.source_addr), esm_class=0x04,
                             data_coding=0, short_message=text.encode(), **extra)
        self._send_receipt(writer, receipt.generate())
        self.receipts_sent += 1

    def _send_receipt(self, writer, data: bytes) -> None:
        if writer.is_closing() or writer not in self._unacked:
            self._pending.append(data)
            return
        (sequence,) = struct.unpack(">L", data[12:16])
        self._unacked[writer][sequence] = data
        writer.write(data)


class SmscThread:
    """The SMSC on its own event loop in a thread, for tests whose code under test runs in
    another process (or in the benchmark)."""

    def __init__(self, config: SmscConfig) -> None:
        self.config = config
        self.smsc = Smsc(config)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="test-smsc")

    def start(self) -> "SmscThread":
        self._thread.start()
        self.call(self.smsc.start())
        return self

    def call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def inject_mo(self, source: str, destination: str, text: str, **part) -> bool:
        return self.call(self.smsc.inject_mo(source, destination, text, **part))

    def stop(self) -> None:
        try:
            self.call(self.smsc.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.smsc.server --port N [--stats FILE]`: the SMSC alone until SIGTERM,
    then the counts (submits, accepted, receipts, distinct destinations) as JSON in FILE."""
    import argparse
    import json
    import signal

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--stats", default="")
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    smsc = Smsc(SmscConfig(port=args.port, fast=args.fast))

    async def run() -> None:
        await smsc.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print("ready", flush=True)
        await stop.wait()
        await smsc.stop()

    asyncio.run(run())
    if args.stats:
        accepted = smsc.accepted()
        with open(args.stats, "w") as f:
            json.dump({"submits": len(smsc.submits), "accepted": len(accepted),
                       "receipts": smsc.receipts_sent,
                       "destinations": len({s.destination for s in accepted}),
                       "first": min((s.at for s in smsc.submits), default=0),
                       "last": max((s.at for s in smsc.submits), default=0)}, f)


if __name__ == "__main__":
    main()
