"""The Stasis app's database work. Every function here runs on one writer thread, so the event
loop never blocks on SQLite or PostgreSQL and writes never contend with each other."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from peewee import PostgresqlDatabase, fn

from models import Call, Campaign, CampaignContact, Did, SystemStatus, Tenant, Timeslot, database
from models.entities import utcnow
from voxcast import calling_hours, dnc_service
from voxcast.campaigns import lifecycle

from models import txn

from . import admission, credit

from .dispositions import disposition
from .retry import RetryPolicy, decide


@dataclass(frozen=True)
class CampaignPlan:
    id: int
    tenant_id: int
    type: str
    name: str
    channel_limit: int
    tenant_channel_limit: int
    message_file: str
    caller_id: str
    dial_timeout: int
    amd_enabled: bool = False
    amd_action: str = "hangup"
    record: bool = False
    message_seconds: float = 0.0
    repeat_count: int = 1
    timezone: str = "UTC"
    # Calling windows that must all be open (tenant timeslots, campaign windows); empty: any.
    rule_sets: tuple = ()
    retry: RetryPolicy | None = None  # None: read from the campaign when a call closes

    @property
    def retry_settings(self):
        """What finish_call takes as `policy`: (RetryPolicy, a machine's message counts)."""
        return None if self.retry is None else (self.retry, self.amd_action == "leave_message")


@dataclass(frozen=True)
class Claim:
    call_id: int
    channel_id: str
    entry_id: int
    campaign_id: int
    tenant_id: int
    phone: str


class _Entry(NamedTuple):
    """A due campaign entry as claim_due reads it (the columns the claim needs, no model)."""
    id: int
    tenant_id: int
    contact_id: int
    phone: str


@dataclass(frozen=True)
class DidRoute:
    number: str
    tenant_id: int
    tenant_status: str
    tenant_channel_limit: int
    greeting_file: str
    greeting_text: str
    ivr_id: int | None = None  # the DID runs this IVR instead of the greeting


log = logging.getLogger("voxcast.store")


class Store:
    """Runs database work on one writer thread with group commit: the jobs that queued up while
    the previous transaction ran are committed together, so a busy dialer pays one fsync per
    batch, not per call; a failing job still fails alone (see _run_batch)."""

    MAX_BATCH = 200

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="db-writer", daemon=True)
        self._thread.start()
        self._did_cache: dict[str, tuple[float, asyncio.Future]] = {}
        self._posted: list = []  # posts of this turn of the event loop, for _hand_over

    async def run(self, func, *args, **kw):
        future = asyncio.get_running_loop().create_future()
        if self._posted:
            self._hand_over()
        self._jobs.put((partial(func, *args, **kw), future))
        return await future

    def post(self, func, *args, **kw) -> None:
        """Queue a write nobody waits for. Jobs run in order, so a later `run` sees its
        effect; a failure is logged by the writer. The posts of one turn of the event loop
        reach the writer together (one wake-up of its thread, not one per call)."""
        self._posted.append((partial(func, *args, **kw), None))
        if len(self._posted) == 1:
            try:
                asyncio.get_running_loop().call_soon(self._hand_over)
            except RuntimeError:  # no loop (a script, a test): straight to the writer
                self._hand_over()

    def _hand_over(self) -> None:
        posted, self._posted = self._posted, []
        for job in posted:
            self._jobs.put(job)

    async def find_did(self, number: str, ttl: float = 5.0):
        """DID routes change rarely and are read on every inbound call: cache them briefly.
        Calls arriving while a look-up runs share it, so an expiry at hundreds of calls a
        second costs one query, not one per call."""
        now = time.monotonic()
        hit = self._did_cache.get(number)
        if hit is None or hit[0] <= now:
            task = asyncio.ensure_future(self.run(find_did, number))
            hit = self._did_cache[number] = (now + ttl, task)
            task.add_done_callback(lambda t, n=number: t.exception() is None
                                   or self._did_cache.pop(n, None))  # retry a failure
        return await asyncio.shield(hit[1])

    def close(self):
        self._hand_over()
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)
                    break
                batch.append(nxt)
            self._run_batch(batch)

    def _run_batch(self, batch) -> None:
        """All jobs in one transaction. If one fails, the batch is rolled back and each job
        re-run in a transaction of its own, so only the failing job fails; savepoints per job
        would cost two statements each on every batch for a case that is rare. The waiting
        coroutines get their results in one hand-over to the event loop per batch."""
        txn.begin()
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                results = [func() for func, _ in batch]
        except Exception:
            txn.end(committed=False)
            _deliver([self._run_alone(func, future) for func, future in batch])
            return
        txn.end(committed=True)
        _deliver([(future, result, None) for (_, future), result in zip(batch, results)])

    @staticmethod
    def _run_alone(func, future) -> tuple:
        txn.begin()
        try:
            database.connect(reuse_if_open=True)
            with database.atomic():
                result = func()
            txn.end(committed=True)
            return future, result, None
        except Exception as exc:
            txn.end(committed=False)
            if future is None:
                log.exception("database job %s failed", getattr(func, "func", func))
            elif not isinstance(exc, (LookupError, ValueError)):
                log.warning("database job %s failed: %s", getattr(func, "func", func), exc)
            return future, None, exc


def _atomic():
    """A transaction of its own outside the writer; inside the writer's batch, none: the batch
    is the transaction, a failing job rolls all of it back and is re-run alone (_run_batch),
    so a savepoint per job would only cost two more statements per call."""
    return contextlib.nullcontext() if database.in_transaction() else database.atomic()


def _deliver(outcomes: list[tuple]) -> None:
    """Writer thread: hand (future, result, exception) triples to their event loops."""
    by_loop: dict = {}
    for outcome in outcomes:
        if outcome[0] is not None:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, items)
        except RuntimeError:  # that loop is closed: nobody is waiting any more
            pass


def _settle(outcomes: list[tuple]) -> None:
    for future, result, exc in outcomes:
        if future.done():  # the waiter was cancelled
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


# -- campaigns ---------------------------------------------------------------------------------

def running_campaigns() -> list[CampaignPlan]:
    rows = list(Campaign.select(Campaign, Tenant).join(Tenant)
                .where(Campaign.status == "running", Tenant.status == "active"))
    slots: dict[int, list] = {}
    if rows:
        for slot in Timeslot.select().where(Timeslot.tenant.in_({c.tenant_id for c in rows})):
            slots.setdefault(slot.tenant_id, []).append(
                calling_hours.Window(slot.weekdays, slot.start_time, slot.end_time))
    return [CampaignPlan(c.id, c.tenant_id, c.type, c.name, c.channel_limit, c.tenant.channel_limit,
                         c.message_file, c.caller_id, c.dial_timeout,
                         amd_enabled=c.amd_enabled, amd_action=c.amd_action, record=c.record,
                         message_seconds=float(c.message_seconds or 0),
                         repeat_count=max(1, c.repeat_count or 1), timezone=c.tenant.timezone,
                         rule_sets=(tuple(slots.get(c.tenant_id, ())),
                                    tuple(calling_hours.windows_from_json(c.windows))),
                         retry=retry_policy_of(c))
            for c in rows]


def claim_due(campaign_id: int, limit: int, now: dt.datetime | None = None,
              rule_sets=()) -> list[Claim]:
    """Mark up to `limit` due contacts as dialing and open their CDRs, in one transaction, so a
    crash can never lose an attempt nor let a restart dial the same contact a second time.

    Batched: one select, one DNC query, one update and one insert per call of this function,
    whatever `limit`. Contacts whose own time zone is outside the calling windows (`rule_sets`)
    are moved to their next open moment instead, so they never hold up the others."""
    if limit <= 0:
        return []
    now = now or utcnow()
    with _atomic():
        # Due entries of a campaign that is running now (the dialer's list may be a second old).
        entries = [_Entry(*row) for row in database.execute_sql(
            _Sql.get()["due"], (campaign_id, now, campaign_id, limit)).fetchall()]
        entries = _skip_dnc(entries)
        entries = credit.skip_unrated(entries, campaign_id, now)
        if any(rule_sets):
            entries = _defer_closed_contacts(entries, rule_sets, now)
        if not entries:
            return []
        ids = [e.id for e in entries]
        # One writer (this thread) claims entries, so none changes between select and update.
        (CampaignContact.update(state="dialing", attempts=CampaignContact.attempts + 1)
         .where(CampaignContact.id.in_(ids), CampaignContact.state == "pending").execute())
        channel_ids = {e.id: f"vx-{uuid.uuid4().hex}" for e in entries}
        values = []
        for e in entries:
            values += (e.tenant_id, campaign_id, e.contact_id, e.id, e.phone,
                       channel_ids[e.id], now)
        call_ids = dict(database.execute_sql(_Sql.claim_insert(len(entries)), values).fetchall())
        claims = [Claim(call_ids[channel_ids[e.id]], channel_ids[e.id], e.id, campaign_id,
                        e.tenant_id, e.phone) for e in entries]
        admitted, refused, reason = admission.check(claims)
        if refused:
            _unclaim(refused)
            if reason:
                lifecycle.note(campaign_id, reason)
    return admitted


def _unclaim(claims: list[Claim]) -> None:
    """Claims the admission checks refused: as if never claimed (no CDR, attempt not counted)."""
    Call.delete().where(Call.id.in_([c.call_id for c in claims])).execute()
    (CampaignContact.update(state="pending", attempts=CampaignContact.attempts - 1)
     .where(CampaignContact.id.in_([c.entry_id for c in claims])).execute())


def _defer_closed_contacts(entries, rule_sets, now: dt.datetime):
    keep, later = [], {}
    for e in entries:
        zone = calling_hours.number_timezone(e.phone)
        if calling_hours.contact_is_open(rule_sets, zone, now):
            keep.append(e)
        else:
            when = calling_hours.next_open(rule_sets, zone, now) or now + dt.timedelta(hours=1)
            later.setdefault(when, []).append(e.id)
    for when, ids in later.items():
        CampaignContact.update(next_attempt_at=when).where(CampaignContact.id.in_(ids)).execute()
    return keep


def _skip_dnc(entries: list[CampaignContact]) -> list[CampaignContact]:
    """Entries whose number is on the tenant's or the provider's DNC list now (one query) are
    marked "dnc" without a CDR; the rest are returned to be dialed. Checked at dial time, so a
    number added after the campaign started is still never called."""
    if not entries:
        return entries
    blocked = dnc_service.blocked_set(entries[0].tenant_id, [e.phone for e in entries])
    if not blocked:
        return entries
    skip = [e.id for e in entries if e.phone in blocked]
    (CampaignContact.update(state="dnc", last_disposition="DNC")
     .where(CampaignContact.id.in_(skip), CampaignContact.state == "pending").execute())
    return [e for e in entries if e.phone not in blocked]


def mark_placed(call_ids: list[int], at: dt.datetime) -> None:
    """Asterisk accepted these originates: after a crash their calls count as dialed."""
    p = database.param
    database.execute_sql(f'UPDATE "{Call._meta.table_name}" SET "placed_at" = {p} WHERE "id" IN '
                         f'({", ".join([p] * len(call_ids))}) AND "placed_at" IS NULL',
                         [at, *call_ids])


class _Sql:
    """The statements every call runs, as SQL text made once per placeholder style. Peewee
    builds SQL anew for each query, and at a hundred calls a second that building was most
    of the writer thread's time; these run with the same values peewee would bind."""

    _made: dict[str, dict[str, str]] = {}

    @classmethod
    def get(cls) -> dict[str, str]:
        p = database.param
        made = cls._made.get(p)
        if made is None:
            call, entry = Call._meta.table_name, CampaignContact._meta.table_name
            made = cls._made[p] = {
                "answer": f'UPDATE "{call}" SET "answered_at" = {p}, '
                          f'"placed_at" = COALESCE("placed_at", {p}) '
                          f'WHERE "id" = {p} AND "answered_at" IS NULL',
                "open": f'SELECT "started_at", "ended_at", "answered_at", "entry_id" '
                        f'FROM "{call}" WHERE "id" = {p}',
                "close": f'UPDATE "{call}" SET "answered_at" = {p}, "ended_at" = {p}, '
                         f'"duration" = {p}, "billsec" = {p}, "disposition" = {p}, '
                         f'"hangup_cause" = {p}, "cause_txt" = {p} WHERE "id" = {p}',
                "entry": f'SELECT "campaign_id", "attempts" FROM "{entry}" WHERE "id" = {p}',
                "advance": f'UPDATE "{entry}" SET "state" = {p}, "last_disposition" = {p}, '
                           f'"next_attempt_at" = COALESCE({p}, "next_attempt_at") '
                           f'WHERE "id" = {p}',
                "free": f'UPDATE "{call}" SET "cost" = 0 WHERE "id" = {p}',
                "due": f'SELECT e."id", e."tenant_id", e."contact_id", e."phone" '
                       f'FROM "{entry}" e WHERE e."campaign_id" = {p} '
                       f'AND e."state" = \'pending\' AND e."next_attempt_at" <= {p} '
                       f'AND EXISTS (SELECT 1 FROM "{Campaign._meta.table_name}" c '
                       f'JOIN "{Tenant._meta.table_name}" t ON t."id" = c."tenant_id" '
                       f'WHERE c."id" = {p} AND c."status" = \'running\' '
                       f'AND t."status" = \'active\') '
                       f'ORDER BY e."next_attempt_at", e."id" LIMIT {p}',
                # every column without a database default, as Call.create would fill them
                "inbound": f'INSERT INTO "{call}" ("tenant_id", "direction", "number", "did", '
                           f'"channel_id", "started_at", "duration", "billsec", "disposition", '
                           f'"hangup_cause", "cause_txt", "recording") VALUES ({p}, \'inbound\', '
                           f'{p}, {p}, {p}, {p}, 0, 0, \'\', 0, \'\', \'\')'
                           + (' RETURNING "id"' if isinstance(database.obj, PostgresqlDatabase)
                              else ""),
            }
        return made


    @classmethod
    def claim_insert(cls, rows: int) -> str:
        """The CDRs of a claim, `rows` at once, answering (channel_id, id) per row."""
        key = f"claim{rows}"
        made = cls.get()
        sql = made.get(key)
        if sql is None:
            p = database.param
            row = f"({p}, {p}, {p}, {p}, 'outbound', {p}, '', {p}, {p}, 0, 0, '', 0, '', '')"
            sql = made[key] = (
                f'INSERT INTO "{Call._meta.table_name}" ("tenant_id", "campaign_id", '
                f'"contact_id", "entry_id", "direction", "number", "did", "channel_id", '
                f'"started_at", "duration", "billsec", "disposition", "hangup_cause", '
                f'"cause_txt", "recording") VALUES ' + ", ".join([row] * rows)
                + ' RETURNING "channel_id", "id"')
        return sql


def _dt(value):
    """A datetime column as peewee would return it (SQLite hands back text)."""
    return Call.started_at.python_value(value)


def mark_answered(call_id: int, at: dt.datetime) -> None:
    """Kept as soon as known, so a call lost in a crash is still billed up to when we noticed."""
    database.execute_sql(_Sql.get()["answer"], (at, at, call_id))


def set_recording(call_id: int, name: str) -> None:
    Call.update(recording=name).where(Call.id == call_id).execute()


def finish_call(call_id: int, answered_at: dt.datetime | None, ended_at: dt.datetime,
                cause: int, cause_txt: str, rang: bool = True, machine: bool = False,
                policy: tuple[RetryPolicy, bool] | None = None) -> str | None:
    """Close a CDR and move its contact on. Idempotent: a CDR is closed once, never twice.
    `policy`: (retry settings, message_left) from the CampaignPlan, saving a query per call."""
    with _atomic():
        row = database.execute_sql(_Sql.get()["open"], (call_id,)).fetchone()
        if row is None or row[1] is not None:
            return None
        started_at, _, known_answer, entry_id = row
        answered_at = answered_at or _dt(known_answer)
        disp = disposition(answered_at is not None, cause, rang, machine)
        if not rang and disp == "FAILED" and cause in (16, 18, 19):
            cause_txt = "no response from the trunk"
        _close(call_id, _dt(started_at), entry_id, disp, answered_at, ended_at, cause,
               cause_txt, policy)
    return disp


def _close(call_id: int, started_at: dt.datetime, entry_id: int | None, disp: str, answered_at,
           ended_at: dt.datetime, cause: int, cause_txt: str,
           policy: tuple[RetryPolicy, bool] | None = None) -> None:
    duration = max(0, round((ended_at - started_at).total_seconds()))
    billsec = max(0, round((ended_at - answered_at).total_seconds())) if answered_at else 0
    database.execute_sql(_Sql.get()["close"], (answered_at, ended_at, duration, billsec, disp,
                                               cause, cause_txt[:250], call_id))
    if entry_id:
        if policy is not None:
            _advance_entry(entry_id, disp, ended_at, policy[0], policy[1])
        else:
            _advance_entry(entry_id, disp, ended_at)
    admission.finished(call_id, billsec)


def set_cost_free(call_id: int) -> None:
    """An answered call to a free destination: rated, at nothing."""
    database.execute_sql(_Sql.get()["free"], (call_id,))


def close_lost(call_id: int, noticed_at: dt.datetime) -> str | None:
    """A CDR an earlier run left open whose channel Asterisk no longer has. Never placed (no
    placed_at: the crash came before Asterisk accepted the originate): NOT PLACED, and the
    contact is queued again with its attempt uncounted. Answered: ANSWERED, billed up to when
    we noticed. Placed but not answered: FAILED, lost."""
    call = Call.get_or_none(Call.id == call_id)
    if call is None or call.ended_at is not None:
        return None
    if call.placed_at is None and call.answered_at is None:
        _close(call.id, call.started_at, call.entry_id, "NOT PLACED", None, call.started_at, 0,
               "not placed: voxcast stopped before dialing; the contact is queued again")
        if call.entry_id:
            (CampaignContact.update(attempts=CampaignContact.attempts - 1)
             .where(CampaignContact.id == call.entry_id, CampaignContact.attempts > 0).execute())
        return "NOT PLACED"
    if call.answered_at is not None:
        _close(call.id, call.started_at, call.entry_id, "ANSWERED", call.answered_at,
               noticed_at, 16,
               "ended while voxcast was not running; billed until noticed")
        return "ANSWERED"
    _close(call.id, call.started_at, call.entry_id, "FAILED", None, noticed_at, 0,
           "lost: ended while voxcast was not running")
    return "FAILED"


def retry_policy_of(campaign: Campaign) -> RetryPolicy:
    return RetryPolicy(campaign.retry_busy, campaign.retry_noanswer, campaign.retry_failed,
                       campaign.retry_interval, campaign.retry_machine)


def _advance_entry(entry_id: int, disp: str, now: dt.datetime,
                   policy: RetryPolicy | None = None, message_left: bool = False) -> None:
    """Move the contact on after an attempt. `policy` (with `message_left`) comes from the
    dialer's CampaignPlan when the caller has it, saving a query per call."""
    campaign_id, attempts = database.execute_sql(_Sql.get()["entry"], (entry_id,)).fetchone()
    if policy is None:
        campaign = Campaign.get_by_id(campaign_id)
        policy = retry_policy_of(campaign)
        message_left = campaign.amd_action == "leave_message"
    outcome = decide(disp, attempts, policy, now, message_left=message_left)
    database.execute_sql(_Sql.get()["advance"],
                         (outcome.state, disp, outcome.next_attempt_at or None, entry_id))


complete_if_finished = lifecycle.complete_if_finished


def next_due_at(campaign_id: int):
    return (CampaignContact.select(fn.MIN(CampaignContact.next_attempt_at))
            .where(CampaignContact.campaign == campaign_id, CampaignContact.state == "pending")
            .scalar())


pause_campaign = lifecycle.pause_for
set_campaign_reason = lifecycle.note


@dataclass(frozen=True)
class OpenCall:
    call_id: int
    channel_id: str
    answered_at: dt.datetime | None
    claim: Claim | None  # campaign calls: enough to rebuild their flow handler
    plan: CampaignPlan | None


def open_calls() -> list[OpenCall]:
    """CDRs left open by an earlier run of the app (crash or restart), with what it takes to
    adopt their channels if Asterisk still has them."""
    calls = list(Call.select().where(Call.ended_at.is_null()))
    plans = {p.id: p for p in _plans_of({c.campaign_id for c in calls if c.campaign_id})}
    out = []
    for c in calls:
        plan = plans.get(c.campaign_id)
        claim = (Claim(c.id, c.channel_id, c.entry_id, c.campaign_id, c.tenant_id, c.number)
                 if plan and c.entry_id else None)
        out.append(OpenCall(c.id, c.channel_id, c.answered_at, claim, plan))
    return out


def _plans_of(campaign_ids) -> list[CampaignPlan]:
    if not campaign_ids:
        return []
    rows = Campaign.select(Campaign, Tenant).join(Tenant).where(Campaign.id.in_(list(campaign_ids)))
    return [CampaignPlan(c.id, c.tenant_id, c.type, c.name, c.channel_limit, c.tenant.channel_limit,
                         c.message_file, c.caller_id, c.dial_timeout, amd_enabled=c.amd_enabled,
                         amd_action=c.amd_action, record=c.record,
                         message_seconds=float(c.message_seconds or 0),
                         repeat_count=max(1, c.repeat_count or 1), timezone=c.tenant.timezone)
            for c in rows]


def recording_allowed(tenant_id: int, recordings_dir: str, sounds_dir: str) -> bool:
    """Recording adds to the tenant's disk use: refused once the quota is reached."""
    from pathlib import Path

    from voxcast import quotas
    tenant = Tenant.get_by_id(tenant_id)
    used_mb = quotas.disk_bytes(tenant, Path(sounds_dir), Path(recordings_dir)) / (1024 * 1024)
    return used_mb < tenant.disk_quota_mb


# -- inbound ------------------------------------------------------------------------------------

def find_did(number: str) -> DidRoute | None:
    candidates = {number, number.lstrip("+"), "+" + number.lstrip("+")}
    did = (Did.select(Did, Tenant).join(Tenant)
           .where(Did.number.in_(list(candidates))).first())
    if did is None:
        return None
    return DidRoute(did.number, did.tenant_id, did.tenant.status, did.tenant.channel_limit,
                    did.greeting_file, did.greeting_text or did.tenant.greeting_text, did.ivr_id)


def open_inbound(tenant_id: int, did: str, caller: str, channel_id: str) -> int:
    """The CDR of an inbound call, as prepared SQL (one per call, like the others in _Sql)."""
    sql = _Sql.get()["inbound"]
    cursor = database.execute_sql(sql, (tenant_id, caller or "anonymous", did, channel_id,
                                        utcnow()))
    return cursor.fetchone()[0] if sql.endswith("RETURNING \"id\"") else cursor.lastrowid


# -- status ---------------------------------------------------------------------------------------

def set_status(key: str, value: str) -> None:
    (SystemStatus.insert(key=key, value=value, updated_at=utcnow())
     .on_conflict(conflict_target=[SystemStatus.key],
                  update={SystemStatus.value: value, SystemStatus.updated_at: utcnow()})
     .execute())
