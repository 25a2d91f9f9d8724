"""SMS campaigns over SMPP 3.4: one transceiver bind per enabled SmscConnection.

The flow of one message (every step in the database before the next one happens):
  claim (voxcast.messaging.dispatch: Message `queued`) -> its segments written as
  MessagePart rows `submitting` and the Message `submitting`, in one transaction, before any
  submit_sm is written -> submit_sm per part (UDH 8-bit reference when concatenated) ->
  submit_sm_resp OK: part `submitted` with the SMSC's message id; once every part is answered
  the message is accepted and charged per segment (Dispatcher.accepted, units = segments) ->
  deliver_sm receipts set each part's final state; with every part final the message gets
  the worst of them and the contact's CampaignContact.result (Dispatcher.finished).

Errors: ESME_RTHROTTLED / ESME_RMSGQFUL put the part back at the head of its bind's queue and
the bind backs off (nothing is charged until a part is accepted, so a retry is never counted
twice); any other error status rejects the part, and the message is finished `rejected`
(retried per the campaign's retry_failed).

The bind-loss rule: parts still in the bind's queue (never written) are sent after the
reconnect; a part whose submit_sm was written but got no response before the bind dropped may
or may not be at the SMSC, so it is never re-sent: it is marked `unknown` and its message
finished `failed` ("no submit_sm_resp before the bind was lost"), without retry and charged
only for the parts the SMSC did accept. The same holds after a crash for parts left
`submitting`. Nothing is lost (every message ends in a state) and nothing goes out twice.

Inbound (MO) deliver_sm: stored as an inbound Message of the tenant whose DID is the
destination; a text that is one of the tenant's opt-out words puts the sender on its DNC list
(source "opt-out") with a tenant log entry.

Rates: SmscConnection.throughput caps submit_sm per second on a bind (0: none);
Tenant.sms_per_second caps messages claimed per second for a tenant (0: none).

The SMPP sessions themselves are messaging_app.smpp_bind; this module decides what their
answers mean and writes it."""
from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field

from ari_app.writer import Writer
from models import Campaign, CampaignContact, Tenant, database
from models.bulk import insert_rows, one_of, update_by_id
from models.entities import Did, Message, MessagePart, SmscConnection, utcnow
from voxcast.audit import records as audit
from voxcast.billing import plans
from voxcast.contacts import dnc
from voxcast.messaging.dispatch import Dispatcher, Rendered, RenderError
from voxcast.messaging.sms import concat, optout, receipts, segments, templates
from voxcast.runtime.status import set_status

from .smpp_bind import Bind, Connection, MessageJob, PartJob, RateLimiter, status_key
from .smpp_codec import as_text

log = logging.getLogger("voxcast.sms")

RESTART_ERROR = "outcome unknown after a restart (no submit_sm_resp): not re-sent"
STOPPED_ERROR = "the service stopped before all its parts were sent"
FINAL_PART_STATES = frozenset({"delivered", "undelivered", "expired", "rejected", "unknown"})
# The message's state from its parts: the first of these any part has, else delivered.
WORST_FIRST = ("unknown", "rejected", "undelivered", "expired")
RECEIPT_TYPES = (0x04, 0x08, 0x10, 0x20)  # esm_class message type bits: receipts, acks


def render(campaign, fields: dict) -> Rendered:
    text = templates.render(campaign.sms_text, fields)
    if not text.strip():
        raise RenderError("the SMS text is empty")
    info = segments.count(text)
    return Rendered(body=text, units=info.segments, encoding=info.encoding)


class SmsService:
    def __init__(self, settings, *, dispatcher: Dispatcher | None = None,
                 writer: Writer | None = None, window: int = 64, claim_every: float = 0.1,
                 idle_every: float = 0.5, reload_every: float = 5.0, enquire_every: float = 30.0,
                 timeout: float = 10.0, reconnect_min: float = 0.5, reconnect_max: float = 30.0,
                 throttle_min: float = 0.2, throttle_max: float = 5.0, claim_max: int = 2000,
                 receipt_hours: float = 72.0, stop_grace: float = 3.0,
                 batch_every: float = 0.1, batch_max: int = 1000):
        self.settings = settings
        self._prices: dict[tuple[int, str], tuple[float, object]] = {}
        self.dispatcher = dispatcher or Dispatcher("sms", render, unit_price=self._unit_price)
        self.writer = writer
        self.window = window
        self.claim_every = claim_every
        self.idle_every = idle_every
        self.reload_every = reload_every
        self.enquire_every = enquire_every
        self.timeout = timeout
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.throttle_min = throttle_min
        self.throttle_max = throttle_max
        self.claim_max = claim_max
        self.receipt_hours = receipt_hours  # no receipt by then: the message expired
        self.stop_grace = stop_grace  # at a stop, how long submits in flight may take to answer
        # What submits and receipts decided, gathered for one database round (_flush): at
        # most batch_every seconds or batch_max items, whichever comes first.
        self.batch_every = batch_every
        self.batch_max = batch_max
        self.batch = _Batch()
        self._flush_timer: asyncio.TimerHandle | None = None
        self.binds: dict[int, Bind] = {}
        self.tasks: dict[int, asyncio.Task] = {}
        self.tenant_limits: dict[int, RateLimiter] = {}
        self.tenant_rates: dict[int, int] = {}
        self.in_memory = 0  # messages claimed and not yet settled at submit
        self.freed = asyncio.Event()  # set when the binds' queues went down by a window
        # Parts this run submitted, waiting for their receipt: (connection, SMSC id) -> part,
        # and per message how many of its parts still wait.
        self.awaiting: dict[tuple[int, str], PartJob] = {}
        self.awaiting_count: dict[int, int] = {}
        # Receipts that came before the submit_sm_resp naming their id (some SMSCs answer
        # that late): (connection, id spelling) -> (arrived, receipt), applied by
        # part_submitted; after EARLY_S looked up in the database instead.
        self.early: dict[tuple[int, str], tuple[float, receipts.Receipt]] = {}

    PRICE_TTL = 10.0  # seconds a tenant's SMS price is reused before it is read again
    EARLY_S = 30.0  # how long a receipt ahead of its submit's response waits for it
    EARLY_MAX = 10000

    def _unit_price(self, tenant_id: int, kind: str):
        """plans.unit_price, kept for PRICE_TTL: it is asked for every message claimed and
        charged (two queries each); a new price applies within seconds."""
        now = time.monotonic()
        hit = self._prices.get((tenant_id, kind))
        if hit is not None and now - hit[0] < self.PRICE_TTL:
            return hit[1]
        price = plans.unit_price(tenant_id, kind)
        self._prices[(tenant_id, kind)] = (now, price)
        return price

    # -- the process -------------------------------------------------------------------------

    async def run(self) -> None:
        own_writer = self.writer is None
        if own_writer:
            self.writer = Writer()
        try:
            await self.writer.run(self._recover)
            loader = asyncio.create_task(self._reload_loop())
            try:
                await self._claim_loop()
            finally:
                loader.cancel()
                await asyncio.gather(loader, return_exceptions=True)
        finally:
            for bind in self.binds.values():
                bind.stopping = bind.hold = True
            end = time.monotonic() + self.stop_grace
            while time.monotonic() < end and any(b.inflight for b in self.binds.values()):
                await asyncio.sleep(0.05)
            for task in self.tasks.values():
                task.cancel()
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            self.flush()  # what the last answers decided (and the lost ones), before all else
            # Parts still queued in memory were never written: said so in the database, so
            # the next start sends them instead of counting them unknown.
            unsent = [job.part_id for bind in self.binds.values() for job in bind.queue]
            if unsent:
                self.writer.post(_parts_unsent, unsent)
                log.info("stopping with %d SMS part(s) not yet sent: kept for the next start",
                         len(unsent))
            if own_writer:
                self.writer.close()

    async def _reload_loop(self) -> None:
        while True:
            try:
                await self.reload()
                expired = await self.writer.run(self._expire_unreceipted)
                if await self.writer.run(self._flush_mo_parts):
                    log.warning("concatenated MO SMS stored with parts missing")
                if expired:
                    log.warning("%d SMS without a delivery receipt after %s h: expired",
                                expired, self.receipt_hours)
                for campaign_id in await self.writer.run(self.dispatcher.resume_affordable):
                    log.info("SMS campaign %s resumed: its tenant's credit covers it again",
                             campaign_id)
                self.flush_early()
                withdrawn = self.withdraw_not_running(await self.writer.run(_running_sms))
                if withdrawn:
                    log.info("%d queued SMS of paused or stopped campaigns taken back",
                             withdrawn)
            except Exception:
                log.exception("reloading SMSC connections failed")
            await asyncio.sleep(self.reload_every)

    async def reload(self) -> None:
        rows, tenants = await self.writer.run(_load_config)
        wanted = {c.id: c for c in rows}
        for cid in list(self.binds):
            bind = self.binds[cid]
            if cid not in wanted or wanted[cid] != bind.conn:
                bind.stopping = True
                self.tasks.pop(cid).cancel()
                del self.binds[cid]
                if cid not in wanted:
                    self.writer.post(set_status, status_key(cid),
                                     json.dumps({"state": "disabled", "error": "", "name": bind.conn.name,
                                                 "since": utcnow().isoformat(timespec="seconds")}))
                    self._fail_queued(bind, "the SMSC connection was disabled")
                else:
                    self.binds[cid] = Bind(wanted[cid], self)
                    self.binds[cid].queue = bind.queue
                    self.tasks[cid] = asyncio.create_task(self.binds[cid].run())
        for cid, conn in wanted.items():
            if cid not in self.binds:
                self.binds[cid] = Bind(conn, self)
                self.tasks[cid] = asyncio.create_task(self.binds[cid].run())
        for tid, rate in tenants.items():
            if self.tenant_rates.get(tid) != rate:
                self.tenant_rates[tid] = rate
                self.tenant_limits[tid] = RateLimiter(rate)

    def withdraw_not_running(self, running: set[int]) -> int:
        """Event loop: messages of campaigns no longer running (paused, stopped) whose parts
        all still wait in a bind's queue (none written: a bind that is down or busy) are
        taken back, so a pause or stop holds them too; their contacts are due again when the
        campaign resumes (_withdraw). Returns how many messages."""
        taken: list[int] = []
        for bind in self.binds.values():
            waiting: dict[int, int] = collections.Counter(id(p.message) for p in bind.queue)
            gone = {id(p.message) for p in bind.queue
                    if p.message.out.campaign_id not in running
                    and waiting[id(p.message)] == len(p.message.parts)}
            if not gone:
                continue
            jobs = {id(p.message): p.message for p in bind.queue if id(p.message) in gone}
            bind.queue = collections.deque(p for p in bind.queue if id(p.message) not in gone)
            taken += [job.out.message_id for job in jobs.values()]
        if taken:
            self.in_memory -= len(taken)
            self._post(_withdraw, taken)
        return len(taken)

    def _fail_queued(self, bind: Bind, why: str) -> None:
        seen = set()
        while bind.queue:
            job = bind.queue.popleft()
            if id(job.message) not in seen:
                seen.add(id(job.message))
            self.part_rejected(job, why)

    # -- claiming ------------------------------------------------------------------------------

    def _room(self) -> int:
        up = [b for b in self.binds.values() if b.bound.is_set()]
        if not up:
            return 0
        high = sum(max(self.window * 8, b.conn.throughput * 2) for b in up)
        return max(0, min(self.claim_max, high - self.in_memory))

    def _per_tenant(self, tenant_id: int) -> int:
        limiter = self.tenant_limits.get(tenant_id)
        if limiter is None:
            limiter = self.tenant_limits[tenant_id] = RateLimiter(10)
        return max(0, int(limiter.available()))

    async def _claim_loop(self) -> None:
        while True:
            room = self._room()
            jobs: list[MessageJob] = []
            if room >= min(self.window, self.claim_max):
                try:
                    jobs = await self.writer.run(self._claim_and_prepare, room)
                except Exception:
                    log.exception("claiming SMS failed")
            for job in jobs:
                limiter = self.tenant_limits.get(job.out.tenant_id)
                if limiter:
                    limiter.take()
                self._route(job)
            if jobs and len(jobs) >= room // 2:
                # More work is likely: claim again as soon as the binds have room.
                self.freed.clear()
                try:
                    await asyncio.wait_for(self.freed.wait(), self.claim_every)
                except asyncio.TimeoutError:
                    pass
            else:
                await asyncio.sleep(self.claim_every if jobs else self.idle_every)

    def _route(self, job: MessageJob) -> None:
        bind = self.binds.get(job.out.connection_id or 0)
        self.in_memory += 1
        if bind is None:
            for part in job.parts:
                self.part_rejected(part, "no enabled SMSC connection")
            return
        bind.add(job.parts)

    def _claim_and_prepare(self, limit: int) -> list[MessageJob]:
        """Writer thread: claim, then write each message's parts `submitting` (and the
        message) before anything is sent."""
        with database.atomic():  # the messages `submitting` and their parts, or neither
            outs = self.dispatcher.claim(limit, per_tenant=self._per_tenant, state="submitting")
            if not outs:
                return []
            jobs, rows = [], []
            for out in outs:
                bind = self.binds.get(out.connection_id or 0)
                ref = bind.next_ref() if bind else 0
                job = MessageJob(out)
                job.parts = [PartJob(job, seg) for seg in segments.segments(out.rendered.body, ref)]
                jobs.append(job)
                rows += [{"tenant": out.tenant_id, "message": out.message_id,
                          "seq": p.segment.seq, "state": "submitting"} for p in job.parts]
            ids = {(m, s): i for m, s, i in insert_rows(
                MessagePart, rows, (MessagePart.message, MessagePart.seq, MessagePart.id))}
        for job in jobs:
            for part in job.parts:
                part.part_id = ids[(job.out.message_id, part.segment.seq)]
        return jobs

    # -- outcomes of submits (event loop; the writes go through the writer, in order) ----------

    def part_submitted(self, part: PartJob, external_id: str) -> None:
        part.outcome, part.external_id = "submitted", external_id
        self.batch.submitted.append((part.part_id, external_id))
        self._gathered()
        if external_id:
            conn_id = part.message.out.connection_id or 0
            self.awaiting[(conn_id, external_id)] = part
            self.awaiting_count[part.message.out.message_id] = \
                self.awaiting_count.get(part.message.out.message_id, 0) + 1
        self._maybe_settle(part.message)
        early = self.early.get((part.message.out.connection_id or 0, external_id)) \
            if external_id and self.early else None
        if early is not None:  # its receipt came first: applied now
            self._forget_early(part.message.out.connection_id or 0, early[1])
            self._receipt_in_memory(part.message.out.connection_id or 0, early[1])

    def _keep_early(self, connection_id: int, receipt: receipts.Receipt) -> bool:
        """A receipt not matched in memory while submits on its connection await their
        response: kept for part_submitted (False: too many kept, let the database decide)."""
        bind = self.binds.get(connection_id)
        if bind is None or not bind.inflight or len(self.early) >= self.EARLY_MAX:
            return False
        now = time.monotonic()
        for candidate in receipts.id_candidates(receipt.message_id):
            self.early[(connection_id, candidate)] = (now, receipt)
        return True

    def _forget_early(self, connection_id: int, receipt: receipts.Receipt) -> None:
        for candidate in receipts.id_candidates(receipt.message_id):
            self.early.pop((connection_id, candidate), None)

    def flush_early(self, now: float | None = None) -> int:
        """Receipts kept longer than EARLY_S: not for a submit of this run after all (one
        before a restart): looked up in the database. Returns how many."""
        now = time.monotonic() if now is None else now
        old = {id(r): (cid, r) for (cid, _), (at, r) in self.early.items()
               if now - at > self.EARLY_S}
        for connection_id, receipt in old.values():
            self._forget_early(connection_id, receipt)
            self._post(self._receipt, connection_id, receipt)
        return len(old)

    def _receipt_in_memory(self, connection_id: int, receipt: receipts.Receipt) -> bool:
        """A receipt for a part this run submitted: decided here, one write posted. False
        when the part is not known here (submitted before a restart): the database decides."""
        part = None
        for candidate in receipts.id_candidates(receipt.message_id):
            part = self.awaiting.get((connection_id, candidate))
            if part is not None:
                break
        if part is None:
            return False
        if receipt.state is None:
            return True  # ENROUTE / ACCEPTD: not final yet
        del self.awaiting[(connection_id, part.external_id)]
        error = "" if receipt.state == "delivered" else \
            f"{receipt.stat}" + (f" err:{receipt.error}" if receipt.error else "")
        part.receipt, part.error = receipt.state, error
        job = part.message
        message_id = job.out.message_id
        left = self.awaiting_count.get(message_id, 1) - 1
        final = None
        if left <= 0:
            self.awaiting_count.pop(message_id, None)
            states = [p.receipt or p.outcome for p in job.parts]
            if all(st in FINAL_PART_STATES for st in states):
                worst = next((w for w in WORST_FIRST if w in states), "delivered")
                if worst != "unknown":
                    final = (worst, next((p.error for p in job.parts
                                          if (p.receipt or p.outcome) == worst), ""))
        else:
            self.awaiting_count[message_id] = left
        self.batch.parts_final.append((part.part_id, receipt.state, error))
        if final is not None:
            self.batch.finished.append((message_id, final[0], final[1], final[0] != "delivered"))
        self._gathered()
        return True

    def part_rejected(self, part: PartJob, error: str) -> None:
        part.outcome, part.error = "rejected", error
        self.batch.parts_final.append((part.part_id, "rejected", error))
        self._gathered()
        self._maybe_settle(part.message)

    def part_unknown(self, part: PartJob, error: str) -> None:
        part.outcome, part.error = "unknown", error
        self.batch.parts_final.append((part.part_id, "unknown", error))
        self._gathered()
        self._maybe_settle(part.message)

    def _maybe_settle(self, job: MessageJob) -> None:
        if not job.settled():
            return
        self.in_memory -= 1
        if self._room() >= self.window:
            self.freed.set()
        accepted = sum(1 for p in job.parts if p.outcome == "submitted")
        external = job.parts[0].external_id if len(job.parts) == 1 else ""
        message_id = job.out.message_id
        if accepted:  # charged per segment the SMSC took
            self.batch.accepted.append((message_id, external, accepted))
        if accepted < len(job.parts):
            unknown = next((p.error for p in job.parts if p.outcome == "unknown"), None)
            if unknown is not None:
                self.batch.finished.append((message_id, "failed", unknown, False))
            else:
                error = next(p.error for p in job.parts if p.outcome == "rejected")
                self.batch.finished.append((message_id, "rejected", error, True))
        self._gathered()

    # -- the database round of a batch ---------------------------------------------------------

    def _gathered(self) -> None:
        """Event loop: an outcome was added to the batch; flushed when it is full or
        batch_every after its first item (at once without an event loop: tests, scripts)."""
        if len(self.batch) >= self.batch_max:
            self.flush()
        elif self._flush_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._flush_timer = loop.call_later(self.batch_every, self.flush)

    def flush(self) -> None:
        """Hand the gathered outcomes to the writer as one job (in order with every other
        write: _post flushes first)."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self.batch:
            return
        batch, self.batch = self.batch, _Batch()
        self.writer.post(self._write_batch, batch)

    def _post(self, func, *args) -> None:
        """A write that must see the outcomes gathered so far."""
        self.flush()
        self.writer.post(func, *args)

    def _write_batch(self, batch: "_Batch") -> None:
        """Writer thread: one batch in a few statements (parts answered, messages accepted
        and charged per tenant in one ledger insert, parts final, messages finished with
        their contacts). Should the batch fail as a whole, it is written item by item, so
        one bad row costs only its own outcome."""
        try:
            with database.atomic():
                _parts_submitted(batch.submitted, utcnow())
                self.dispatcher.accepted_many(batch.accepted)
                _parts_final(batch.parts_final, utcnow())
                self.dispatcher.finished_many(batch.finished)
        except Exception:
            log.exception("writing a batch of %d SMS outcomes failed: one by one", len(batch))
            steps = ([(_parts_submitted, [item], utcnow()) for item in batch.submitted]
                     + [(self.dispatcher.accepted_many, [item]) for item in batch.accepted]
                     + [(_parts_final, [item], utcnow()) for item in batch.parts_final]
                     + [(self.dispatcher.finished_many, [item]) for item in batch.finished])
            for func, *args in steps:
                try:
                    with database.atomic():
                        func(*args)
                except Exception:
                    log.exception("SMS outcome %r not written", args[0])

    # -- inbound ------------------------------------------------------------------------------

    def inbound(self, conn: Connection, pdu) -> None:
        esm = pdu.esm_class or 0
        data = bytes(pdu.short_message or b"") or bytes(getattr(pdu, "message_payload", None) or b"")
        if esm & 0x3C in RECEIPT_TYPES:
            receipt = receipts.parse(data, as_text(getattr(pdu, "receipted_message_id", None)),
                                     getattr(pdu, "message_state", None))
            if receipt is None:
                log.warning("SMSC %s: a receipt without a message id: %r", conn.name, data[:100])
                return
            if not self._receipt_in_memory(conn.id, receipt) \
                    and not self._keep_early(conn.id, receipt):
                self._post(self._receipt, conn.id, receipt)
            return
        part = None
        if esm & 0x40 and data:  # a part of a concatenated MO (UDH), or one told by sar_* TLVs
            part, data = concat.split_udh(data)
        else:
            part = concat.from_tlvs(getattr(pdu, "sar_msg_ref_num", None),
                                    getattr(pdu, "sar_total_segments", None),
                                    getattr(pdu, "sar_segment_seqnum", None))
        text = segments.decode(data, pdu.data_coding or 0)
        self._post(self._mo, as_text(pdu.source_addr), as_text(pdu.destination_addr), text, part)

    def _receipt(self, connection_id: int, receipt: receipts.Receipt, retried: bool = False) -> None:
        """Writer thread: one delivery receipt."""
        rows = list(MessagePart.select(MessagePart.id, MessagePart.message)
                    .join(Message, on=(MessagePart.message == Message.id))
                    .where(MessagePart.external_id.in_(receipts.id_candidates(receipt.message_id)),
                           Message.connection == connection_id, Message.channel == "sms",
                           Message.direction == "outbound")
                    .order_by(MessagePart.id.desc()).limit(1))
        if not rows:
            log.warning("receipt for unknown message id %s (%s)", receipt.message_id, receipt.stat)
            return
        part = rows[0]
        if receipt.state is None:
            return  # ENROUTE / ACCEPTD: not final yet
        error = "" if receipt.state == "delivered" else \
            f"{receipt.stat}" + (f" err:{receipt.error}" if receipt.error else "")
        (MessagePart.update(state=receipt.state, error=error[:250], done_at=utcnow())
         .where(MessagePart.id == part.id).execute())
        states = [s for (s,) in MessagePart.select(MessagePart.state)
                  .where(MessagePart.message == part.message_id).tuples()]
        if not all(s in FINAL_PART_STATES for s in states):
            return
        worst = next((w for w in WORST_FIRST if w in states), "delivered")
        if worst == "unknown":
            return  # settled at submit time already (failed)
        errors = [e for (e,) in MessagePart.select(MessagePart.error)
                  .where(MessagePart.message == part.message_id, MessagePart.state == worst)
                  .tuples()]
        self.dispatcher.finished(part.message_id, worst, errors[0] if errors else "",
                                 retry=worst != "delivered")

    def _mo(self, source: str, destination: str, text: str,
            part: concat.PartInfo | None = None) -> None:
        """Writer thread: a mobile-originated SMS to one of our DIDs (or one part of it)."""
        did = _did_for(destination)
        if did is None or did.tenant_id is None:
            log.warning("MO SMS from %s to %s: no tenant has that number", source, destination)
            return
        tenant = Tenant.get_by_id(did.tenant_id)
        sender = source if source.startswith("+") or not source.isdigit() else "+" + source
        if part is not None:
            text = _mo_part(tenant.id, sender, did.number, text, part)
            if text is None:
                return  # more parts to come
        self._received(tenant, sender, did.number, text)

    def _received(self, tenant: Tenant, sender: str, number: str, text: str,
                  error: str = "") -> None:
        Message.create(tenant=tenant.id, channel="sms", direction="inbound", address=sender,
                       sender=number, body=text, encoding=segments.encoding_of(text),
                       units=segments.count(text).segments, state="received", error=error,
                       done_at=utcnow())
        self._opt_out(tenant, sender, number, text)

    def _flush_mo_parts(self, now: dt.datetime | None = None) -> int:
        """Writer thread: concatenated MOs whose missing parts did not come within
        concat.PARTS_WAIT are stored as far as they came (marked so); how many."""
        cutoff = (now or utcnow()) - concat.PARTS_WAIT
        stale = {(m.tenant_id, m.external_id.rsplit(":", 1)[0]) for m in
                 Message.select(Message.tenant, Message.external_id)
                 .where(Message.channel == "sms", Message.direction == "inbound",
                        Message.state == "receiving", Message.created_at < cutoff).limit(500)}
        for tenant_id, group in stale:
            rows = _mo_parts_of(tenant_id, group)
            if not rows:
                continue
            total = int(group.rsplit(":", 1)[1])
            text = concat.join([(r.external_id, r.body) for r in rows])
            Message.delete().where(Message.id.in_([r.id for r in rows])).execute()
            self._received(Tenant.get_by_id(tenant_id), rows[0].address, rows[0].sender, text,
                           error=f"{total - len({concat.seq_of(r.external_id) for r in rows})}"
                                 f" of {total} parts never arrived")
        return len(stale)

    def _opt_out(self, tenant: Tenant, sender: str, number: str, text: str) -> None:
        if optout.is_opt_out(text, tenant.sms_opt_out_words):
            dnc.add(tenant.id, [sender], source="opt-out", country=tenant.country)
            audit.record("sms.opt_out", tenant_id=tenant.id, object_type="dnc", object_id=sender,
                         detail=f"SMS {text.strip()[:40]!r} from {sender} to {number}")

    def _expire_unreceipted(self) -> int:
        """Writer thread: messages accepted so long ago that no receipt will come any more
        (an SMSC that lost them, a receipt lost with a bind) end as `expired`."""
        cutoff = utcnow() - dt.timedelta(hours=self.receipt_hours)
        ids = [m for (m,) in Message.select(Message.id)
               .where(Message.channel == "sms", Message.direction == "outbound",
                      Message.state == "submitted", Message.submitted_at < cutoff)
               .limit(500).tuples()]
        for message_id in ids:
            (MessagePart.update(state="expired", error="no delivery receipt", done_at=utcnow())
             .where(MessagePart.message == message_id, MessagePart.state == "submitted").execute())
            self.dispatcher.finished(message_id, "expired", "no delivery receipt", retry=False)
        return len(ids)

    # -- start-up ------------------------------------------------------------------------------

    def _recover(self) -> dict:
        """Writer thread, at start: messages left `submitting` by the last run are settled by
        the bind-loss rule; those whose parts were never written go back to the queue."""
        ids = self.dispatcher.recover()
        again = []
        summary = {"accepted": 0, "failed": 0, "requeued": 0}
        for message_id in ids:
            parts = list(MessagePart.select().where(MessagePart.message == message_id))
            if all(p.state == "queued" for p in parts):  # none was ever written
                MessagePart.delete().where(MessagePart.message == message_id).execute()
                again.append(message_id)
                continue
            done = [p for p in parts if p.external_id]
            for p in parts:
                if p.state == "submitting":
                    (MessagePart.update(state="unknown", error=RESTART_ERROR, done_at=utcnow())
                     .where(MessagePart.id == p.id).execute())
                elif p.state == "queued":  # the rest of a message cut in two by a stop
                    (MessagePart.update(state="rejected", error=STOPPED_ERROR, done_at=utcnow())
                     .where(MessagePart.id == p.id).execute())
            if done:
                self.dispatcher.accepted(message_id, units=len(done))
            if len(done) == len(parts):
                summary["accepted"] += 1
            elif any(p.state == "submitting" for p in parts):
                self.dispatcher.finished(message_id, "failed", RESTART_ERROR, retry=False)
                summary["failed"] += 1
            else:
                self.dispatcher.finished(message_id, "failed", STOPPED_ERROR, retry=False)
                summary["failed"] += 1
        if again:
            Message.update(state="queued").where(Message.id.in_(again)).execute()
            self.dispatcher.recover()
            summary["requeued"] = len(again)
        if ids:
            log.info("recovered SMS after restart: %s", summary)
        return summary


@dataclass
class _Batch:
    """Outcomes decided on the event loop, waiting for one database round, each list in
    the order they happened: parts accepted (part id, SMSC id), messages accepted (message
    id, SMSC id, segments accepted), parts final (part id, state, error), messages finished
    (message id, state, error, retry). Written in that order: a message's acceptance always
    before its end."""
    submitted: list[tuple[int, str]] = field(default_factory=list)
    accepted: list[tuple[int, str, int]] = field(default_factory=list)
    parts_final: list[tuple[int, str, str]] = field(default_factory=list)
    finished: list[tuple[int, str, str, bool]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.submitted) + len(self.accepted) + len(self.parts_final) + len(self.finished)


def _parts_submitted(items: list[tuple[int, str]], at: dt.datetime) -> None:
    """Parts the SMSC accepted, with its ids: one UPDATE per 500."""
    update_by_id(MessagePart, MessagePart.id,
                 {MessagePart.state: "submitted", MessagePart.submitted_at: at},
                 [part_id for part_id, _ in items], by_id=(MessagePart.external_id, dict(items)))


def _parts_final(items: list[tuple[int, str, str]], at: dt.datetime) -> None:
    """Parts' final states (receipts, rejects, unknown): one UPDATE per state and error."""
    groups: dict[tuple[str, str], list[int]] = {}
    for part_id, state, error in items:
        groups.setdefault((state, (error or "")[:250]), []).append(part_id)
    for (state, error), ids in groups.items():
        for start in range(0, len(ids), 500):
            (MessagePart.update(state=state, error=error, done_at=at)
             .where(one_of(MessagePart.id, ids[start:start + 500])).execute())


def _parts_unsent(part_ids: list[int]) -> None:
    for start in range(0, len(part_ids), 500):
        (MessagePart.update(state="queued")
         .where(MessagePart.id.in_(part_ids[start:start + 500]),
                MessagePart.state == "submitting").execute())


def _running_sms() -> set[int]:
    return {c for (c,) in Campaign.select(Campaign.id)
            .where(Campaign.type == "sms", Campaign.status == "running").tuples()}


def _withdraw(message_ids: list[int]) -> None:
    """Messages taken back before any part was written: gone as if never claimed (as
    Dispatcher.recover does with queued ones), their contacts pending, the attempt uncounted."""
    with database.atomic():
        rows = list(Message.select(Message.id, Message.entry)
                    .where(Message.id.in_(message_ids), Message.cost.is_null(),
                           Message.state.in_(("queued", "submitting"))).tuples())
        ids = [m for m, _ in rows]
        entries = [e for _, e in rows if e]
        if not ids:
            return
        MessagePart.delete().where(MessagePart.message.in_(ids)).execute()
        Message.delete().where(Message.id.in_(ids)).execute()
        if entries:
            (CampaignContact.update(state="pending", attempts=CampaignContact.attempts - 1)
             .where(CampaignContact.id.in_(entries), CampaignContact.state == "dialing")
             .execute())


def _load_config() -> tuple[list[Connection], dict[int, int]]:
    conns = [Connection.of(r) for r in SmscConnection.select()
             .where(SmscConnection.enabled == True).order_by(SmscConnection.id)]  # noqa: E712
    tenants = {tid: rate for tid, rate in Tenant.select(Tenant.id, Tenant.sms_per_second).tuples()}
    return conns, tenants


def _did_for(destination: str) -> Did | None:
    raw = (destination or "").strip()
    digits = raw.lstrip("+")
    candidates = {raw, digits, "+" + digits}
    if digits.startswith("00"):
        candidates |= {digits[2:], "+" + digits[2:]}
    return Did.get_or_none(Did.number.in_(list(candidates)))


def _mo_parts_of(tenant_id: int, group: str) -> list[Message]:
    return list(Message.select().where(
        Message.tenant == tenant_id, Message.channel == "sms", Message.direction == "inbound",
        Message.state == "receiving", Message.external_id.startswith(group + ":"))
        .order_by(Message.id))


def _mo_part(tenant_id: int, sender: str, number: str, text: str,
             part: concat.PartInfo) -> str | None:
    """Writer thread: store one part of a concatenated MO; the whole text once every part is
    in (the parts' rows are deleted then, in the same transaction), else None. A part the
    SMSC delivers twice is stored once."""
    group = concat.group_key(sender, number, part)
    key = concat.part_key(sender, number, part)
    rows = _mo_parts_of(tenant_id, group)
    if not any(r.external_id == key for r in rows):
        rows.append(Message.create(
            tenant=tenant_id, channel="sms", direction="inbound", address=sender, sender=number,
            body=text, encoding=segments.encoding_of(text), units=1, state="receiving",
            external_id=key))
    pairs = [(r.external_id, r.body) for r in rows]
    if not concat.complete(pairs, part.total):
        return None
    Message.delete().where(Message.id.in_([r.id for r in rows])).execute()
    return concat.join(pairs)
