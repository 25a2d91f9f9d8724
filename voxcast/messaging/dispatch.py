"""What SMS, fax and e-mail campaigns share: which contact gets a message now, the message
record written before anything is handed on, the charge once it is accepted, and the
contact's outcome with its retry.

A `Dispatcher` per channel is the only writer of those states. The sending edge (the SMPP
binds, the SMTP sender, the fax flow) asks `claim` for work, says `submitting` just before it
hands a message on and `accepted` once the far side took it, and `finished` with the final
state. A crash between those steps leaves a state that tells what is known: `queued` was
never handed on (safe to send), `submitting` may have been (the edge decides, never blindly
again). Synchronous and Flask-free: async code calls it from a thread."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from peewee import JOIN, fn

from models import Campaign, CampaignContact, Contact, Tenant, database
from models.bulk import insert_rows, one_of, plain_rows, update_by_id
from models.entities import (
    EmailDnc, Message, MESSAGE_FINAL_STATES, SmscConnection, utcnow,
)
from voxcast.billing import ledger, plans
from voxcast.campaigns import calling_hours, lifecycle
from voxcast.campaigns.lifecycle import Cause
from voxcast.contacts import dnc
from voxcast.dialing import campaign_plans
from voxcast.dialing.campaign_plans import CampaignPlan
from voxcast.tenants import features

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "custom1", "custom2", "custom3",
                  "custom4", "custom5", "custom6", "custom7", "custom8")
SUCCESS_STATES = frozenset({"delivered", "sent"})
# States in which a message's cost is still to come: counted against the credit it may use.
UNCHARGED = ("queued", "submitting")
PHONE_CHANNELS = frozenset({"sms", "fax"})  # sent to a number: phone DNC, the contact's hour


@dataclass(frozen=True)
class Rendered:
    """A message made for one contact: what is stored, what is billed (`units`)."""
    body: str
    subject: str = ""
    units: int = 1
    encoding: str = ""
    html: str = ""  # passed on to the sender, not stored


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    tenant_id: int
    campaign_id: int
    entry_id: int
    contact_id: int
    channel: str
    address: str
    sender: str
    rendered: Rendered
    attempt: int
    connection_id: int | None = None


class RenderError(ValueError):
    """A template that cannot be filled for this contact: the contact fails with this text."""


@dataclass
class _TenantBudget:
    """What a claim may still spend for one tenant, and how many messages it may still take."""
    money: Decimal
    count: int
    spent: Decimal = Decimal("0")
    short: bool = False  # a message did not fit: the tenant's campaigns pause

    def take(self, cost: Decimal) -> bool:
        if self.count <= 0:
            return False
        if cost > 0 and self.spent + cost > self.money:
            self.short = True
            return False
        self.spent += cost
        self.count -= 1
        return True


@dataclass
class ClaimReport:
    """What one claim did besides handing out work (for logs and tests)."""
    dnc: int = 0
    failed: int = 0
    deferred: int = 0
    paused: list[int] = field(default_factory=list)


class Dispatcher:
    def __init__(self, channel: str, render: Callable[[Campaign, dict], Rendered],
                 unit_price: Callable[[int, str], Decimal] = plans.unit_price,
                 clock: Callable[[], dt.datetime] = utcnow,
                 running: Callable[[], list[CampaignPlan]] = campaign_plans.running_campaigns):
        self.channel = channel
        self.render = render
        self.unit_price = unit_price
        self.clock = clock
        self.running = running
        self.last_report = ClaimReport()

    # -- handing out work ------------------------------------------------------------------

    def claim(self, limit: int, per_tenant: Callable[[int], int] | None = None,
              state: str = "queued") -> list[Outgoing]:
        """Up to `limit` messages to send now, each written as a queued Message and its
        contact marked in flight, shared fairly between the running campaigns. An edge that
        writes what it will send in the caller's same transaction may have them written
        `submitting` at once (state)."""
        if state not in UNCHARGED:
            raise ValueError(f"a claimed message is queued or submitting, not {state!r}")
        self.last_report = ClaimReport()
        if limit <= 0:
            return []
        now = self.clock()
        plans_now = [p for p in self.running() if p.type == self.channel]
        open_plans = []
        for plan in plans_now:
            if not self._allowed(plan):
                continue
            closed = campaign_plans.closed_reason(plan, now)
            if closed is None:
                open_plans.append(plan)  # its cause is cleared below once it may send
            else:
                lifecycle.note(plan.id, closed)
        if not open_plans:
            return []
        budgets: dict[int, _TenantBudget] = {}
        out: list[Outgoing] = []
        remaining = limit
        for index, plan in enumerate(open_plans):
            share = math.ceil(remaining / (len(open_plans) - index))
            if plan.tenant_id not in budgets:
                budgets[plan.tenant_id] = self._budget(plan.tenant_id, per_tenant)
            if budgets[plan.tenant_id].count > 0:
                # Not before: a rate limit the sending edge just noted (email_rate, from
                # per_tenant) stays on the campaign while it holds, never blinks away.
                lifecycle.note(plan.id, None)
            taken = self._claim_campaign(plan, share, now, budgets[plan.tenant_id], state)
            out.extend(taken)
            remaining -= len(taken)
            if remaining <= 0:
                break
        for tenant_id, budget in budgets.items():
            if budget.short:
                for plan in open_plans:
                    if plan.tenant_id == tenant_id and lifecycle.pause_for(plan.id, Cause("no_credit")):
                        self.last_report.paused.append(plan.id)
        return out

    def _allowed(self, plan: CampaignPlan) -> bool:
        tenant = Tenant.get_by_id(plan.tenant_id)
        if not features.has(tenant, self.channel):
            lifecycle.note(plan.id, Cause("feature_disabled", {"type": self.channel}))
            return False
        if self.channel == "sms" and not self._smsc_usable(plan.id):
            # Not claimed (its messages would be rejected, its contacts failed): it waits,
            # saying why, until the provider enables a connection again.
            lifecycle.note(plan.id, Cause("no_smsc"))
            return False
        return True

    @staticmethod
    def _smsc_usable(campaign_id: int) -> bool:
        """Whether the SMS campaign has a connection to send over: its own, enabled, or
        (none chosen) any enabled one (_connection_of picks the default among them)."""
        smsc_id = Campaign.select(Campaign.smsc).where(Campaign.id == campaign_id).scalar()
        query = SmscConnection.select().where(SmscConnection.enabled == True)  # noqa: E712
        if smsc_id:
            query = query.where(SmscConnection.id == smsc_id)
        return query.exists()

    def _budget(self, tenant_id: int, per_tenant) -> _TenantBudget:
        price = self.unit_price(tenant_id, self.channel)
        owed = self._owed_units(tenant_id) if price > 0 else 0
        cap = per_tenant(tenant_id) if per_tenant else 1 << 30
        # included units (a usage package's) count at the unit price
        return _TenantBudget(ledger.available_for_messages(tenant_id, self.channel, price, owed),
                             max(0, int(cap)))

    def _owed_units(self, tenant_id: int) -> int:
        """The units of the tenant's claimed messages of this channel not charged yet
        (read through the Message (tenant, channel, state) index, m0018)."""
        return int(Message.select(fn.COALESCE(fn.SUM(Message.units), 0))
                   .where(Message.tenant == tenant_id, Message.channel == self.channel,
                          Message.state.in_(UNCHARGED), Message.direction == "outbound",
                          Message.cost.is_null()).scalar() or 0)

    def _claim_campaign(self, plan: CampaignPlan, limit: int, now: dt.datetime,
                        budget: _TenantBudget, state: str = "queued") -> list[Outgoing]:
        if limit <= 0 or budget.count <= 0:
            return []
        campaign = Campaign.get_by_id(plan.id)
        price = self.unit_price(plan.tenant_id, self.channel)
        with database.atomic():
            # no more than the tenant's rate allows now (a 10/s tenant: 10, not `limit`)
            rows = _pending_entries(plan.id, now, min(limit, budget.count))
            if not rows:
                lifecycle.complete_if_finished(plan.id)
                return []
            rows = self._screen(plan, rows, now)
            ready: list[tuple[PendingEntry, Rendered]] = []
            for entry in rows:
                fields = _fields_of(entry)
                try:
                    rendered = self.render(campaign, fields)
                except RenderError as exc:
                    self._give_up(entry, "failed", str(exc)[:250])
                    continue
                if not budget.take(price * rendered.units):
                    break
                ready.append((entry, rendered))
            if not ready:
                return []
            ids = [entry.id for entry, _ in ready]
            (CampaignContact.update(state="dialing", attempts=CampaignContact.attempts + 1)
             .where(one_of(CampaignContact.id, ids), CampaignContact.state == "pending").execute())
            connection_id = self._connection_of(campaign) if self.channel == "sms" else None
            sender = self._sender_of(campaign, connection_id)
            rows_in = [{
                "tenant": plan.tenant_id, "channel": self.channel, "direction": "outbound",
                "campaign": plan.id, "contact": entry.contact_id, "entry": entry.id,
                "address": self._address(entry), "sender": sender,
                "subject": rendered.subject[:255], "body": rendered.body,
                "encoding": rendered.encoding, "units": rendered.units, "state": state,
                "connection": connection_id, "attempts": entry.attempts + 1, "created_at": now,
            } for entry, rendered in ready]
            message_ids = _insert_messages(rows_in)
        return [Outgoing(message_ids[entry.id], plan.tenant_id, plan.id, entry.id,
                         entry.contact_id, self.channel, self._address(entry), sender, rendered,
                         entry.attempts + 1, connection_id)
                for entry, rendered in ready]

    def _address(self, entry: "PendingEntry") -> str:
        if self.channel == "email":
            return (entry.fields.get("email") or "").strip().lower()
        return entry.phone

    def _screen(self, plan: CampaignPlan, rows: list[PendingEntry], now: dt.datetime):
        """Drop the contacts that must not get this message now: on a DNC list (done for
        good), without an address (failed), or outside the hours of their own zone (moved
        to their next open moment)."""
        keep = []
        if self.channel in PHONE_CHANNELS:
            blocked = dnc.blocked_set(plan.tenant_id, [e.phone for e in rows])
            later: dict[dt.datetime, list[int]] = {}
            hours = any(plan.rule_sets)
            for entry in rows:
                if entry.phone in blocked:
                    self._give_up(entry, "dnc", "on the do-not-call list")
                    continue
                if not hours:  # no hours to keep: the contact's zone is not needed
                    keep.append(entry)
                    continue
                zone = calling_hours.number_timezone(entry.phone)
                if not calling_hours.contact_is_open(plan.rule_sets, zone, now):
                    when = (calling_hours.next_open(plan.rule_sets, zone, now)
                            or now + dt.timedelta(hours=1))
                    later.setdefault(when, []).append(entry.id)
                    continue
                keep.append(entry)
            for when, ids in later.items():
                self.last_report.deferred += len(ids)
                (CampaignContact.update(next_attempt_at=when)
                 .where(one_of(CampaignContact.id, ids)).execute())
            return keep
        addresses = {self._address(e) for e in rows} - {""}
        blocked = {a for (a,) in EmailDnc.select(EmailDnc.address)
                   .where(EmailDnc.tenant == plan.tenant_id,
                          EmailDnc.address.in_(list(addresses))).tuples()} if addresses else set()
        for entry in rows:
            address = self._address(entry)
            if not address or "@" not in address:
                self._give_up(entry, "failed", "no e-mail address", result="no_address")
            elif address in blocked:
                self._give_up(entry, "dnc", "on the e-mail do-not-contact list")
            else:
                keep.append(entry)
        return keep

    def _give_up(self, entry: PendingEntry, state: str, why: str, result: str = "") -> None:
        if state == "dnc":
            self.last_report.dnc += 1
        else:
            self.last_report.failed += 1
        (CampaignContact.update(state=state, result=result or state, last_disposition=why)
         .where(CampaignContact.id == entry.id, CampaignContact.state == "pending").execute())

    @staticmethod
    def _connection_of(campaign: Campaign) -> int | None:
        if campaign.smsc_id:
            return campaign.smsc_id
        row = (SmscConnection.select(SmscConnection.id)
               .where(SmscConnection.enabled == True)  # noqa: E712
               .order_by(SmscConnection.is_default.desc(), SmscConnection.id).tuples().first())
        return row[0] if row else None

    def _sender_of(self, campaign: Campaign, connection_id: int | None) -> str:
        if self.channel == "sms":
            if campaign.sms_sender:
                return campaign.sms_sender
            if connection_id:
                conn = SmscConnection.get_or_none(SmscConnection.id == connection_id)
                return conn.source_addr if conn else ""
            return ""
        if self.channel == "email":
            return campaign.email_from
        return campaign.caller_id

    # -- the sending edge reports back -----------------------------------------------------

    def submitting(self, message_id: int) -> bool:
        """About to hand it on: from here a crash leaves its outcome unknown."""
        return bool(Message.update(state="submitting")
                    .where(Message.id == message_id, Message.state == "queued").execute())

    def accepted(self, message_id: int, external_id: str = "", units: int | None = None) -> Decimal:
        """The far side took it: charged once (a repeat changes nothing) at today's price."""
        with database.atomic():
            message = Message.get_by_id(message_id)
            units = message.units if units is None else int(units)
            values = {Message.units: units}
            if message.state in ("queued", "submitting"):
                values.update({Message.state: "submitted", Message.submitted_at: self.clock()})
            if external_id:
                values[Message.external_id] = external_id
            Message.update(values).where(Message.id == message_id).execute()
            cost = ledger.money(self.unit_price(message.tenant_id, self.channel) * units)
            entry = ledger.charge(message.tenant_id, cost, kind=self.channel,
                                  message_ref=f"message:{message_id}", units=units,
                                  reference=f"{self.channel} to {message.address}"[:255])
            # What the message cost, as charged (a repeat: the first charge's): the paid part
            # and what free credit covered, as a call's cost is (ledger.charge).
            cost = ledger.money(Decimal(entry.free_money or 0) - Decimal(entry.amount))
            Message.update(cost=cost).where(Message.id == message_id).execute()
        return cost

    def finished(self, message_id: int, state: str, error: str = "", retry: bool = False) -> None:
        """The message's final state, and what it means for its contact: done, failed, or
        tried again after the campaign's retry interval while its retries last."""
        if state not in MESSAGE_FINAL_STATES:
            raise ValueError(f"{state!r} is not a final message state")
        now = self.clock()
        with database.atomic():
            message = Message.get_by_id(message_id)
            if message.state == state:
                return
            (Message.update(state=state, error=(error or "")[:250], done_at=now)
             .where(Message.id == message_id).execute())
            if message.entry_id is None:
                return
            entry = CampaignContact.get_or_none(CampaignContact.id == message.entry_id)
            if entry is None:
                return
            self._settle_entry(entry, message, state, error, retry, now)
        if message.campaign_id:
            lifecycle.complete_if_finished(message.campaign_id)

    def _settle_entry(self, entry: CampaignContact, message: Message, state: str, error: str,
                      retry: bool, now: dt.datetime) -> None:
        values = {CampaignContact.result: state, CampaignContact.last_disposition: (error or "")[:250]}
        if state in SUCCESS_STATES:
            values[CampaignContact.state] = "done"
        else:
            campaign = Campaign.get_or_none(Campaign.id == entry.campaign_id)
            retries = campaign.retry_failed if campaign else 0
            if retry and entry.state == "dialing" and entry.attempts <= retries:
                values[CampaignContact.state] = "pending"
                values[CampaignContact.next_attempt_at] = now + dt.timedelta(
                    seconds=campaign.retry_interval)
            else:
                values[CampaignContact.state] = "failed"
        # A later answer only speaks for the contact's latest message.
        latest = (Message.select(fn.MAX(Message.id)).where(Message.entry == entry.id).scalar())
        if latest == message.id:
            CampaignContact.update(values).where(CampaignContact.id == entry.id).execute()

    # -- many at once (a sending edge that batches, SMS) -------------------------------------

    def submitting_many(self, message_ids: list[int]) -> int:
        """submitting for many messages: one UPDATE per chunk. How many moved."""
        moved = 0
        for chunk in _chunks(list(message_ids)):
            moved += (Message.update(state="submitting")
                      .where(one_of(Message.id, chunk), Message.state == "queued").execute())
        return moved

    def accepted_many(self, items: list[tuple[int, str, int | None]]) -> dict[int, Decimal]:
        """accepted(message_id, external_id, units) for each item, in one transaction: the
        price read once per tenant, per tenant one locked balance read and one ledger insert
        (ledger.charge_messages; a message charged before, or twice in `items`, is not
        charged again: it keeps its first charge and cost), and the messages updated in one
        statement per chunk. {message_id: cost} (unknown ids are left out)."""
        wanted: dict[int, tuple[str, int | None]] = {}
        for message_id, external_id, units in items:
            if message_id not in wanted:
                wanted[int(message_id)] = (external_id or "", units)
            elif external_id:  # a repeat naming the id the first one lacked
                wanted[int(message_id)] = (external_id, wanted[int(message_id)][1])
        if not wanted:
            return {}
        now = self.clock()
        costs: dict[int, Decimal] = {}
        with database.atomic():
            rows: dict[int, tuple] = {}
            for chunk in _chunks(list(wanted)):
                for row in plain_rows(Message.select(Message.id, Message.tenant, Message.units,
                                                     Message.address)
                                      .where(one_of(Message.id, chunk))):
                    rows[row[0]] = row
            by_tenant: dict[int, list[ledger.MessageCharge]] = {}
            units_of: dict[int, int] = {}
            prices: dict[int, Decimal] = {}
            for message_id, (_, units) in wanted.items():
                if message_id not in rows:
                    continue
                _, tenant_id, stored_units, address = rows[message_id]
                units_of[message_id] = int(stored_units if units is None else units)
                if tenant_id not in prices:
                    prices[tenant_id] = self.unit_price(tenant_id, self.channel)
                by_tenant.setdefault(tenant_id, []).append(ledger.MessageCharge(
                    f"message:{message_id}", prices[tenant_id] * units_of[message_id],
                    f"{self.channel} to {address}"[:255], units=units_of[message_id]))
            for tenant_id, charges in by_tenant.items():
                posted = ledger.charge_messages(tenant_id, self.channel, charges)
                for charge in charges:
                    amount, free = posted[charge.message_ref]
                    costs[int(charge.message_ref.split(":", 1)[1])] = ledger.money(free - amount)
            # One UPDATE per (units, cost) and chunk (a campaign's messages mostly share
            # both), the SMSC ids as a CASE.
            alike: dict[tuple[int, Decimal], list[int]] = {}
            for message_id, cost in costs.items():
                alike.setdefault((units_of[message_id], cost), []).append(message_id)
            named = {m: ext for m, (ext, _) in wanted.items() if ext}
            for (units, cost), ids in alike.items():
                update_by_id(Message, Message.id, {Message.units: units, Message.cost: cost},
                             ids, by_id=(Message.external_id, named))
                # those still before their submit (a repeat leaves a final state alone)
                for chunk in _chunks(ids):
                    (Message.update(state="submitted", submitted_at=now)
                     .where(one_of(Message.id, chunk), Message.state.in_(UNCHARGED)).execute())
        return costs

    def finished_many(self, items: list[tuple]) -> int:
        """finished(message_id, state, error, retry) for each item ((id, state[, error[,
        retry]])), in one transaction and a few statements per chunk: the messages by state
        and error, their contacts by outcome (the campaigns' retry settings read once), each
        campaign completed once it is finished. A message already in that state is left
        alone; the same message twice: its last item counts. How many messages changed."""
        wanted: dict[int, tuple[str, str, bool]] = {}
        for item in items:
            message_id, state = int(item[0]), item[1]
            error = (item[2] if len(item) > 2 else "") or ""
            retry = bool(item[3]) if len(item) > 3 else False
            if state not in MESSAGE_FINAL_STATES:
                raise ValueError(f"{state!r} is not a final message state")
            wanted[message_id] = (state, error[:250], retry)
        if not wanted:
            return 0
        now = self.clock()
        campaigns: set[int] = set()
        changed = 0
        with database.atomic():
            rows = []
            for chunk in _chunks(list(wanted)):
                rows += plain_rows(Message.select(Message.id, Message.state, Message.entry,
                                                  Message.campaign)
                                   .where(one_of(Message.id, chunk)))
            rows = [r for r in rows if r[1] != wanted[r[0]][0]]
            groups: dict[tuple[str, str], list[int]] = {}
            for message_id, _, _, _ in rows:
                state, error, _ = wanted[message_id]
                groups.setdefault((state, error), []).append(message_id)
            for (state, error), ids in groups.items():
                for chunk in _chunks(ids):
                    changed += (Message.update(state=state, error=error, done_at=now)
                                .where(one_of(Message.id, chunk)).execute())
            by_entry = {entry_id: message_id for message_id, _, entry_id, _ in rows if entry_id}
            campaigns.update(c for _, _, _, c in rows if c)
            if by_entry:
                self._settle_entries(by_entry, wanted, now)
        for campaign_id in sorted(campaigns):
            lifecycle.complete_if_finished(campaign_id)
        return changed

    def _settle_entries(self, by_entry: dict[int, int], wanted: dict, now: dt.datetime) -> None:
        """The contacts of finished messages (entry id -> message id), each only when that
        message is its latest; grouped into one UPDATE per outcome."""
        entry_ids = list(by_entry)
        entries, latest = {}, {}
        for chunk in _chunks(entry_ids):
            for row in plain_rows(CampaignContact.select(
                    CampaignContact.id, CampaignContact.state, CampaignContact.attempts,
                    CampaignContact.campaign).where(one_of(CampaignContact.id, chunk))):
                entries[row[0]] = row
            latest.update(plain_rows(Message.select(Message.entry, fn.MAX(Message.id))
                                     .where(one_of(Message.entry, chunk))
                                     .group_by(Message.entry)))
        retry_of = {c: (r or 0, i or 0) for c, r, i in Campaign.select(
            Campaign.id, Campaign.retry_failed, Campaign.retry_interval)
            .where(Campaign.id.in_(list({row[3] for row in entries.values()}))).tuples()} \
            if entries else {}
        outcomes: dict[tuple, list[int]] = {}
        for entry_id, message_id in by_entry.items():
            row = entries.get(entry_id)
            if row is None or latest.get(entry_id) != message_id:
                continue  # gone, or a later answer for an earlier message
            _, entry_state, attempts, campaign_id = row
            state, error, retry = wanted[message_id]
            next_at = None
            if state in SUCCESS_STATES:
                new_state = "done"
            else:
                retries, interval = retry_of.get(campaign_id, (0, 0))
                if retry and entry_state == "dialing" and attempts <= retries \
                        and campaign_id in retry_of:
                    new_state, next_at = "pending", now + dt.timedelta(seconds=interval)
                else:
                    new_state = "failed"
            outcomes.setdefault((new_state, state, error, next_at), []).append(entry_id)
        for (new_state, result, error, next_at), ids in outcomes.items():
            values = {CampaignContact.state: new_state, CampaignContact.result: result,
                      CampaignContact.last_disposition: error}
            if next_at is not None:
                values[CampaignContact.next_attempt_at] = next_at
            for chunk in _chunks(ids):
                CampaignContact.update(values).where(one_of(CampaignContact.id, chunk)).execute()

    # -- credit back -------------------------------------------------------------------------

    def resume_affordable(self) -> list[int]:
        """Campaigns of this channel paused for no_credit (and only those; tenant active)
        whose tenant can now pay their next message (its units at today's price, on top of
        what the tenant's claimed, uncharged messages of this channel will cost) run again;
        a campaign with nothing left pending resumes so its claim completes it. Their ids.
        The one place message campaigns resume after a top-up (the Stasis app's Resumer
        leaves sms and email campaigns to this; fax is judged there, by its pages)."""
        resumed = []
        paused = list(lifecycle.paused_for("no_credit").join(Tenant)
                      .where(Tenant.status == "active", Campaign.type == self.channel))
        spare: dict[int, Decimal] = {}
        for campaign in paused:
            units = self._next_units(campaign)
            if units:
                price = self.unit_price(campaign.tenant_id, self.channel)
                if campaign.tenant_id not in spare:
                    spare[campaign.tenant_id] = ledger.available_for_messages(
                        campaign.tenant_id, self.channel, price,
                        self._owed_units(campaign.tenant_id))
                if spare[campaign.tenant_id] < price * units:
                    continue
            if lifecycle.resume_paused(campaign.id, "no_credit"):
                resumed.append(campaign.id)
        return resumed

    def _next_units(self, campaign: Campaign) -> int:
        """The units of the campaign's next pending contact's message (0: none pending)."""
        entries = _pending_entries(campaign.id, None, 1)
        if not entries:
            return 0
        try:
            return max(1, int(self.render(campaign, _fields_of(entries[0])).units))
        except RenderError:
            return 1  # it will fail without a charge; one unit keeps the judgement simple

    # -- start-up ----------------------------------------------------------------------------

    def recover(self) -> list[int]:
        """After a restart: messages still `queued` were never handed on, so they are undone
        (their contacts claimable again, the attempt not counted); the ids of those left
        `submitting` are returned for the edge to settle by its own rule."""
        with database.atomic():
            queued = list(Message.select(Message.id, Message.entry)
                          .where(Message.channel == self.channel, Message.direction == "outbound",
                                 Message.state == "queued", Message.cost.is_null()).tuples())
            entry_ids = [e for _, e in queued if e]
            if entry_ids:
                (CampaignContact.update(state="pending", attempts=CampaignContact.attempts - 1)
                 .where(CampaignContact.id.in_(entry_ids), CampaignContact.state == "dialing")
                 .execute())
            if queued:
                Message.delete().where(Message.id.in_([m for m, _ in queued])).execute()
            return [m for (m,) in Message.select(Message.id)
                    .where(Message.channel == self.channel, Message.direction == "outbound",
                           Message.state == "submitting").tuples()]


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """A campaign contact to claim, read as plain values (model instances for a joined
    select cost more than the claim's writes at thousands of messages a second)."""
    id: int
    contact_id: int | None
    phone: str
    attempts: int
    fields: dict  # the contact's CONTACT_FIELDS ("" where the contact has none or is gone)


_CONTACT_COLUMNS = [getattr(Contact, name) for name in CONTACT_FIELDS]


def _pending_entries(campaign_id: int, now: dt.datetime | None, limit: int) -> list[PendingEntry]:
    """The campaign's pending contacts due by `now` (any time: None), oldest due first."""
    query = (CampaignContact
             .select(CampaignContact.id, CampaignContact.contact, CampaignContact.phone,
                     CampaignContact.attempts, *_CONTACT_COLUMNS)
             .join(Contact, JOIN.LEFT_OUTER, on=(CampaignContact.contact == Contact.id))
             .where(CampaignContact.campaign == campaign_id, CampaignContact.state == "pending"))
    if now is not None:
        query = query.where(CampaignContact.next_attempt_at <= now)
    out = []
    for row in plain_rows(query.order_by(CampaignContact.next_attempt_at, CampaignContact.id)
                          .limit(limit)):
        entry_id, contact_id, phone, attempts = row[:4]
        out.append(PendingEntry(entry_id, contact_id, phone or "", attempts or 0,
                                dict(zip(CONTACT_FIELDS, (v or "" for v in row[4:])))))
    return out


def _fields_of(entry: PendingEntry) -> dict:
    fields = dict(entry.fields)
    fields["phone"] = fields["phone"] or entry.phone
    return fields


def _insert_messages(rows: list[dict]) -> dict[int, int]:
    """Insert the queued messages; {entry id: message id}."""
    return dict(insert_rows(Message, rows, (Message.entry, Message.id)))


def _chunks(ids: list, size: int = 500):
    """`ids` in slices small enough for one statement's parameters."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
