"""The money ledger: credits, charges, call reservations and free credit buckets.

Every function is one transaction that first locks the tenant's row (SELECT ... FOR NO KEY
UPDATE on PostgreSQL; on SQLite every transaction already holds the write lock, BEGIN
IMMEDIATE), so concurrent workers serialise per tenant and Tenant.balance stays equal to
SUM(LedgerEntry.amount) at every commit. NO KEY: inserting a row that references the tenant
(a contact, an audit entry) takes FOR KEY SHARE on it, which FOR UPDATE waits for: a 150,000-
row CSV import held every claim's reservation, so every call of the tenant, for its whole
transaction.

Free credit comes first: a call's seconds are covered by free-minute buckets (that fraction
of its cost is free), what is left by free-money buckets, and only the rest by the paid
balance; buckets expiring soonest are used first, expired ones not at all. The paid balance
may go below zero through a charge (a call that overran), never through a reservation."""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable

from peewee import fn

from models import Call, Tenant, database
from models.db import ROW_LOCK
from models.bulk import insert_rows, one_of
from models.entities import (CreditBucket, CreditReservation, LEDGER_KINDS, LedgerEntry,
                             utcnow)
from voxcast.billing import rating
from voxcast.i18n import N_
from voxcast.errors import ServiceError

CENT4 = Decimal("0.0001")
ZERO = Decimal("0")
MAX_AMOUNT = Decimal("1e10")
CREDIT_KINDS = ("opening", "payment", "topup", "refund", "adjustment")
PAYMENT_EVENT_KINDS = ("opening", "payment", "topup")  # credits sent as payment.received
# Buckets counted in `units`: a usage package's included messages, fax pages and e-mails,
# spent by that channel's messages before money (issue 15).
UNIT_KINDS = ("sms", "fax", "email")


class BillingError(ServiceError, ValueError):
    """Input the ledger refuses; nothing was applied. str(error) is the English text; the UI
    shows `template` % `params` through its translations (`webui.billing.error_text`)."""
    code, status = "billing", 422

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.template = message
        self.params = params


class InsufficientCredit(BillingError):
    """The tenant's available credit does not cover the reservation."""
    code, status = "no-credit", 402


def money(value, field: str = N_("Amount")) -> Decimal:
    """A finite amount as Decimal with 4 places, or BillingError naming the problem."""
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise BillingError(N_("%(field)s must be a number such as 25.00, not %(value)s."),
                           field=field, value=repr(value)) from None
    if not amount.is_finite():
        raise BillingError(N_("%(field)s must be a number such as 25.00, not %(value)s."),
                           field=field, value=repr(value))
    if abs(amount) >= MAX_AMOUNT:
        raise BillingError(N_("%(field)s is too large."), field=field)
    return amount.quantize(CENT4, rounding=ROUND_HALF_UP)


# -- locking and reading -------------------------------------------------------------------

def _lock_tenant(tenant_id) -> Tenant:
    """The tenant row, locked for the rest of the transaction (PostgreSQL: FOR NO KEY
    UPDATE, which serialises the ledger's writers but not inserts referencing the tenant)."""
    try:
        tenant_id = int(tenant_id)
    except (TypeError, ValueError):
        raise BillingError(N_("Unknown tenant %(tenant)s."), tenant=repr(tenant_id)) from None
    query = Tenant.select().where(Tenant.id == tenant_id)
    if getattr(database.obj, "for_update", False):
        query = query.for_update(ROW_LOCK)
    tenant = query.first()
    if tenant is None:
        raise BillingError(N_("Unknown tenant %(tenant)s."), tenant=repr(tenant_id))
    return tenant


def _usable_buckets(tenant_id: int, kind: str, now: dt.datetime):
    remaining = (CreditBucket.amount > 0 if kind == "money" else
                 CreditBucket.units > 0 if kind in UNIT_KINDS else CreditBucket.seconds > 0)
    return (CreditBucket.select()
            .where(CreditBucket.tenant == tenant_id, CreditBucket.kind == kind, remaining,
                   (CreditBucket.expires_at.is_null()) | (CreditBucket.expires_at > now))
            .order_by(CreditBucket.expires_at.is_null(), CreditBucket.expires_at,
                      CreditBucket.id))


def _open_reserved(tenant_id: int) -> tuple[Decimal, int]:
    row = (CreditReservation
           .select(fn.COALESCE(fn.SUM(CreditReservation.amount), 0),
                   fn.COALESCE(fn.SUM(CreditReservation.seconds), 0))
           .where(CreditReservation.tenant == tenant_id,
                  CreditReservation.released_at.is_null())
           .tuples().first())
    return money(row[0]), int(row[1])


def free_money(tenant_id: int, now: dt.datetime | None = None) -> Decimal:
    """Unexpired free credit left, not counting reservations."""
    total = sum((b.amount for b in _usable_buckets(tenant_id, "money", now or utcnow())), ZERO)
    return money(total)


def free_seconds(tenant_id: int, now: dt.datetime | None = None) -> int:
    """Unexpired free call seconds left, not counting reservations."""
    return sum(b.seconds for b in _usable_buckets(tenant_id, "minutes", now or utcnow()))


def free_units(tenant_id: int, kind: str, now: dt.datetime | None = None) -> int:
    """Unexpired included units left of `kind` (sms | fax | email)."""
    if kind not in UNIT_KINDS:
        return 0
    return sum(b.units for b in _usable_buckets(tenant_id, kind, now or utcnow()))


def available_for_messages(tenant_id: int, kind: str, price, owed_units: int = 0) -> Decimal:
    """What the tenant may still spend on messages of `kind` at `price` a unit: the
    available credit plus its included units left at that price, less `owed_units` (claimed,
    not yet charged). A dispatcher's budget and resume checks."""
    price = money(price)
    spare_units = free_units(tenant_id, kind) - int(owed_units or 0)
    return available(tenant_id) + price * spare_units


def balance(tenant_id: int) -> Decimal:
    """The paid balance (Tenant.balance, kept equal to the ledger sum)."""
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        raise BillingError(N_("Unknown tenant %(tenant)s."), tenant=repr(tenant_id))
    return money(tenant.balance)


def ledger_sum(tenant_id: int) -> Decimal:
    """SUM(amount) of the tenant's ledger, added exactly in Python (SQLite sums in floats)."""
    amounts = LedgerEntry.select(LedgerEntry.amount).where(LedgerEntry.tenant == tenant_id)
    return money(sum((e.amount for e in amounts), ZERO))


def _available(tenant: Tenant, now: dt.datetime) -> Decimal:
    reserved, _ = _open_reserved(tenant.id)
    return money(tenant.balance) + free_money(tenant.id, now) - reserved


def available(tenant_id: int) -> Decimal:
    """What a new call or message may still spend: balance + usable free credit - open
    reservations."""
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        raise BillingError(N_("Unknown tenant %(tenant)s."), tenant=repr(tenant_id))
    return _available(tenant, utcnow())


def available_seconds(tenant_id: int) -> int:
    """Free call seconds not yet reserved by calls in progress."""
    _, reserved = _open_reserved(tenant_id)
    return max(0, free_seconds(tenant_id) - reserved)


# -- posting -------------------------------------------------------------------------------

def _post(tenant: Tenant, kind: str, amount: Decimal, **fields) -> LedgerEntry:
    """Insert a ledger row and move the cached balance by the same amount (tenant locked)."""
    new_balance = money(tenant.balance) + amount
    Tenant.update(balance=new_balance).where(Tenant.id == tenant.id).execute()
    tenant.balance = new_balance
    return LedgerEntry.create(tenant=tenant.id, kind=kind, amount=amount,
                              balance_after=new_balance, **fields)


def _after_charge(tenant_id: int) -> None:
    from voxcast.billing import notify
    notify.check_low_balance(tenant_id)


def credit(tenant_id, amount, kind: str = "payment", reference: str = "",
           entered_by=None, once: str | None = None) -> LedgerEntry:
    """Add money (a payment, top-up, refund...). Refuses amounts <= 0, non-numbers and
    unknown tenants with BillingError; nothing is applied then. `once` names the credit
    (an API request's idempotency work_ref): a second credit of that name and kind posts
    nothing and returns the first one's entry."""
    value = money(amount)
    if value <= 0:
        raise BillingError(N_("The amount must be more than 0."))
    if kind not in CREDIT_KINDS:
        raise BillingError(N_("Unknown credit kind %(kind)s."), kind=repr(kind))
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        if once:
            earlier = credited(tenant.id, kind, once)
            if earlier is not None:
                return earlier
        entry = _post(tenant, kind, value, reference=(reference or "")[:255],
                      entered_by=getattr(entered_by, "id", entered_by), message_ref=once or None)
        if kind in PAYMENT_EVENT_KINDS:
            from voxcast.webhooks import events
            events.emit("payment.received", tenant.id, {
                "tenant_id": tenant.id, "ledger_entry_id": entry.id, "kind": kind,
                "amount": str(value), "reference": entry.reference,
                "balance": str(entry.balance_after)})
    from voxcast.billing import notify
    notify.check_low_balance(tenant.id)  # re-arms the warning once above the threshold
    return entry


def credited(tenant_id: int, kind: str, once: str) -> LedgerEntry | None:
    """The credit posted under the name `once` (credit(once=...)), if there is one."""
    return LedgerEntry.get_or_none(LedgerEntry.tenant == tenant_id, LedgerEntry.kind == kind,
                                   LedgerEntry.message_ref == once)


def adjust(tenant_id, amount, reference: str, entered_by=None) -> LedgerEntry:
    """A signed correction by the provider (positive or negative, not 0)."""
    value = money(amount)
    if value == 0:
        raise BillingError(N_("An adjustment of 0 changes nothing."))
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        entry = _post(tenant, "adjustment", value, reference=(reference or "")[:255],
                      entered_by=getattr(entered_by, "id", entered_by))
    _after_charge(tenant.id)
    return entry


def _existing_charge(tenant_id: int, kind: str, call_id, message_ref):
    if call_id is not None:
        return LedgerEntry.get_or_none(LedgerEntry.call == call_id, LedgerEntry.kind == kind)
    if message_ref:
        return LedgerEntry.get_or_none(LedgerEntry.tenant == tenant_id,
                                       LedgerEntry.kind == kind,
                                       LedgerEntry.message_ref == message_ref)
    return None


class _Bucket:
    """A usable free credit bucket in memory while its tenant is locked: what is left of it."""
    __slots__ = ("id", "amount", "seconds", "units", "touched")

    def __init__(self, id_: int, amount, seconds: int, units: int = 0):
        self.id, self.amount, self.seconds, self.touched = id_, money(amount), int(seconds), False
        self.units = int(units or 0)


def _unit_buckets(tenant_id: int, kind: str, now: dt.datetime) -> list[_Bucket]:
    if kind not in UNIT_KINDS:
        return []
    return [_Bucket(b.id, 0, 0, b.units) for b in _usable_buckets(tenant_id, kind, now)]


def _split_units(amount: Decimal, units: int, buckets: list[_Bucket]) -> tuple[Decimal, Decimal]:
    """Cover a message of `units` units costing `amount` with included units (soonest
    expiring first): what is left to pay, and the value the units covered."""
    if units <= 0 or not buckets:
        return amount, ZERO
    used = 0
    for bucket in buckets:
        if used >= units:
            break
        take = min(bucket.units, units - used)
        if take <= 0:
            continue
        bucket.units -= take
        bucket.touched = True
        used += take
    covered = money(amount * used / units) if used else ZERO
    return amount - covered, covered


def _save_unit_buckets(buckets: list[_Bucket]) -> None:
    for bucket in buckets:
        if bucket.touched:
            CreditBucket.update(units=bucket.units).where(CreditBucket.id == bucket.id).execute()


def _split(amount: Decimal, seconds: int, minutes: list[_Bucket], cash: list[_Bucket]
           ) -> tuple[Decimal, int, Decimal]:
    """Cover `amount` with free minutes (for `seconds` of a call), then free money; what is
    left to pay from the balance, the free seconds and the free money used. The buckets are
    consumed in memory, in their order (ledger and batch paths share this)."""
    to_pay, free_secs, free_cash = amount, 0, ZERO
    if seconds > 0 and amount > 0:
        for bucket in minutes:
            if bucket.seconds <= 0:
                continue
            take = min(bucket.seconds, seconds - free_secs)
            if take <= 0:
                break
            bucket.seconds -= take
            bucket.touched = True
            free_secs += take
        covered = money(amount * free_secs / seconds) if free_secs else ZERO
        to_pay = amount - covered
        free_cash += covered
    if to_pay > 0:
        for bucket in cash:
            if bucket.amount <= 0:
                continue
            take = min(bucket.amount, to_pay)
            bucket.amount -= take
            bucket.touched = True
            to_pay -= take
            free_cash += take
            if to_pay <= 0:
                break
    return to_pay, free_secs, free_cash


def _split_and_post(tenant: Tenant, amount: Decimal, kind: str, seconds: int,
                    now: dt.datetime, units: int = 0, **fields) -> LedgerEntry:
    """Cover `amount` with included units (a message of `units` units, kinds sms | fax |
    email), free minutes (for `seconds` of a call), then free money, then the balance; post
    the paid part. Tenant locked."""
    included = _unit_buckets(tenant.id, kind, now) if units > 0 else []
    amount, by_units = _split_units(amount, units, included)
    _save_unit_buckets(included)
    minutes, cash = ([_Bucket(b.id, b.amount, b.seconds) for b in _usable_buckets(tenant.id, k, now)]
                     if amount > 0 else [] for k in ("minutes", "money"))
    to_pay, free_secs, free_cash = _split(amount, seconds, minutes, cash)
    free_cash += by_units
    for bucket in minutes + cash:
        if bucket.touched:
            CreditBucket.update(amount=bucket.amount, seconds=bucket.seconds).where(
                CreditBucket.id == bucket.id).execute()
    return _post(tenant, kind, -to_pay, free_money=free_cash, free_seconds=free_secs, **fields)


def _debit_amount(amount, kind: str, what: str) -> Decimal:
    """The amount of a debit as money, refused when negative or of an unknown ledger kind."""
    value = money(amount)
    if value < 0:
        raise BillingError(f"A {what} cannot be negative; use a refund or an adjustment.")
    if kind not in LEDGER_KINDS:
        raise BillingError(f"Unknown ledger kind {kind!r}.")
    return value


def charge(tenant_id, amount, kind: str = "charge", call_id=None, message_ref=None,
           reference: str = "", seconds: int = 0, units: int | None = None) -> LedgerEntry:
    """Charge a cost (>= 0). Idempotent per (call_id, kind) and per (message_ref, kind): a
    repeated charge returns the first entry and changes nothing. `seconds` (the call's
    billed seconds) lets free minutes cover the call; a message (kind sms | fax | email with
    a message_ref) of `units` units (default 1) is covered by included units first."""
    if units is None:
        units = 1 if kind in UNIT_KINDS and message_ref else 0
    value = _debit_amount(amount, kind, "charge")
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        existing = _existing_charge(tenant.id, kind, call_id, message_ref)
        if existing is not None:
            return existing
        entry = _split_and_post(tenant, value, kind, int(seconds or 0), utcnow(),
                                units=int(units or 0) if kind in UNIT_KINDS else 0,
                                call=call_id, message_ref=message_ref or None,
                                reference=(reference or "")[:255])
        if call_id is not None:
            Call.update(cost=value).where(Call.id == call_id,
                                          Call.tenant == tenant.id).execute()
    _after_charge(tenant.id)
    return entry


@dataclass(frozen=True)
class PendingCharge:
    amount: Decimal
    kind: str = "call"
    call_id: int | None = None
    reference: str = ""


def post_charges(tenant_id, charges: Iterable[PendingCharge], batch: int = 1000) -> int:
    """Post many charges (rated CDRs, an import) in transactions of `batch` rows: each is a
    real ledger row with its running balance, and Tenant.balance moves once per batch.
    No free credit is applied and no idempotency check is made: for fresh CDRs only."""
    posted = 0
    chunk: list[PendingCharge] = []

    def flush():
        nonlocal posted
        with database.atomic():
            tenant = _lock_tenant(tenant_id)
            running = money(tenant.balance)
            now = utcnow()
            rows = []
            for item in chunk:
                running -= item.amount
                rows.append((tenant.id, item.kind, -item.amount, running, ZERO, 0,
                             item.reference, item.call_id, now))
            fields = [LedgerEntry.tenant, LedgerEntry.kind, LedgerEntry.amount,
                      LedgerEntry.balance_after, LedgerEntry.free_money,
                      LedgerEntry.free_seconds, LedgerEntry.reference, LedgerEntry.call,
                      LedgerEntry.created_at]
            LedgerEntry.insert_many(rows, fields=fields).execute()
            Tenant.update(balance=running).where(Tenant.id == tenant.id).execute()
        posted += len(chunk)
        chunk.clear()

    for item in charges:
        if money(item.amount) < 0:
            raise BillingError("A charge cannot be negative.")
        chunk.append(PendingCharge(money(item.amount), item.kind, item.call_id, item.reference))
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    if posted:
        _after_charge(int(tenant_id))
    return posted


@dataclass(frozen=True)
class MessageCharge:
    """One message's charge for charge_messages: idempotent per (tenant, kind, message_ref).
    `units` (SMS segments, fax pages, 1 per e-mail) are what included units cover."""
    message_ref: str
    amount: Decimal
    reference: str = ""
    units: int = 1


def charge_messages(tenant_id, kind: str, items: Iterable[MessageCharge], chunk: int = 500
                    ) -> dict[str, tuple[Decimal, Decimal]]:
    """charge(tenant_id, amount, kind, message_ref=...) for many messages of one tenant, as
    if one after the other, in one locked balance read, one look-up of the refs already
    charged, one read of the free credit and one multi-row INSERT per `chunk`: included units
    of `kind` first (a message they cover whole posts a row of amount 0: each message has
    exactly one row), then free money, then the balance; a ref already charged (or twice in
    `items`) is not charged again.
    Inside the caller's transaction when there is one. {message_ref: (amount, free_money)} of
    each ref's ledger entry (amount negative: what the balance paid), new or earlier."""
    if kind not in LEDGER_KINDS:
        raise BillingError(f"Unknown ledger kind {kind!r}.")
    wanted: dict[str, MessageCharge] = {}
    for item in items:
        if not item.message_ref:
            raise BillingError("A message charge needs its message_ref.")
        value = money(item.amount)
        if value < 0:
            raise BillingError("A charge cannot be negative; use a refund or an adjustment.")
        wanted.setdefault(item.message_ref, MessageCharge(item.message_ref, value, item.reference,
                                                          max(0, int(item.units or 0))))
    if not wanted:
        return {}
    out: dict[str, tuple[Decimal, Decimal]] = {}
    with _in_transaction():
        tenant = _lock_tenant(tenant_id)
        refs = list(wanted)
        for start in range(0, len(refs), chunk):
            for ref, amount, free in (LedgerEntry.select(LedgerEntry.message_ref,
                                                         LedgerEntry.amount, LedgerEntry.free_money)
                                      .where(LedgerEntry.tenant == tenant.id,
                                             LedgerEntry.kind == kind,
                                             one_of(LedgerEntry.message_ref, refs[start:start + chunk]))
                                      .tuples()):
                out[ref] = (money(amount), money(free or 0))
        fresh = [c for ref, c in wanted.items() if ref not in out]
        if fresh:
            now = utcnow()
            included = _unit_buckets(tenant.id, kind, now)
            cash = [_Bucket(b.id, b.amount, b.seconds) for b in _usable_buckets(tenant.id, "money", now)] \
                if any(c.amount > 0 for c in fresh) else []
            running = money(tenant.balance)
            rows = []
            for item in fresh:
                to_pay, by_units = _split_units(item.amount, item.units, included)
                to_pay, _, free_cash = _split(to_pay, 0, [], cash)
                free_cash += by_units
                running -= to_pay
                rows.append({"tenant": tenant.id, "kind": kind, "amount": -to_pay,
                             "balance_after": running, "free_money": free_cash,
                             "reference": (item.reference or "")[:255],
                             "message_ref": item.message_ref, "created_at": now})
                out[item.message_ref] = (money(-to_pay), money(free_cash))
            insert_rows(LedgerEntry, rows, chunk=chunk)
            Tenant.update(balance=running).where(Tenant.id == tenant.id).execute()
            for bucket in cash:
                if bucket.touched:
                    CreditBucket.update(amount=bucket.amount).where(
                        CreditBucket.id == bucket.id).execute()
            _save_unit_buckets(included)
            tenant.balance = running
    if fresh:
        from voxcast.billing import notify
        if notify.needs_check(tenant.balance, tenant.low_balance_threshold,
                              tenant.low_balance_notified):
            notify.check_low_balance(tenant.id)
    return out


# -- free credit ---------------------------------------------------------------------------

def grant_free(tenant_id, *, amount=None, seconds: int | None = None,
               expires_at: dt.datetime | None = None, reference: str = "",
               entered_by=None, source: str = "", now: dt.datetime | None = None
               ) -> CreditBucket:
    """Give free credit (amount) or free call time (seconds); recorded in the ledger with
    amount 0 so the history shows it while the paid balance is unchanged. `source` names
    what granted it (a subscription period, "sub:<id>:<period start>"); `now` is the time
    the expiry must lie after (default: the clock)."""
    if (amount is None) == (seconds is None):
        raise BillingError(N_("Give either free credit or free minutes."))
    if amount is not None:
        value, secs, kind = money(amount, "Free credit"), 0, "money"
        if value <= 0:
            raise BillingError(N_("Free credit must be more than 0."))
    else:
        try:
            secs = int(seconds)
        except (TypeError, ValueError):
            raise BillingError(N_("Free minutes must be a whole number.")) from None
        if secs <= 0:
            raise BillingError(N_("Free minutes must be more than 0."))
        value, kind = ZERO, "minutes"
    if expires_at is not None and expires_at <= (now or utcnow()):
        raise BillingError(N_("The expiry date must be in the future."))
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        bucket = CreditBucket.create(tenant=tenant.id, kind=kind, amount=value, seconds=secs,
                                     granted_amount=value, granted_seconds=secs,
                                     reference=(reference or "")[:255], expires_at=expires_at,
                                     source=(source or "")[:255])
        _post(tenant, "free_credit" if kind == "money" else "free_minutes", ZERO,
              free_money=value, free_seconds=secs, reference=(reference or "")[:255],
              entered_by=getattr(entered_by, "id", entered_by))
    return bucket


def grant_units(tenant_id, kind: str, units: int, *, expires_at: dt.datetime | None = None,
                reference: str = "", source: str = "", entered_by=None,
                now: dt.datetime | None = None) -> CreditBucket:
    """Include `units` messages of `kind` (sms | fax | email: SMS segments, fax pages,
    e-mails), spent by that channel's messages before money; a ledger row of kind
    "free_units" (amount 0) records the grant."""
    if kind not in UNIT_KINDS:
        raise BillingError(N_("Unknown kind of included units %(kind)s."), kind=repr(kind))
    try:
        count = int(units)
    except (TypeError, ValueError):
        raise BillingError(N_("Included units must be a whole number.")) from None
    if count <= 0:
        raise BillingError(N_("Included units must be more than 0."))
    if expires_at is not None and expires_at <= (now or utcnow()):
        raise BillingError(N_("The expiry date must be in the future."))
    reference = (reference or f"{count} {kind} unit(s) included")[:255]
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        bucket = CreditBucket.create(tenant=tenant.id, kind=kind, units=count,
                                     granted_units=count, reference=reference,
                                     expires_at=expires_at, source=(source or "")[:255])
        _post(tenant, "free_units", ZERO, reference=reference,
              entered_by=getattr(entered_by, "id", entered_by))
    return bucket


def post_fee(tenant_id, kind: str, amount=ZERO, *, message_ref: str | None = None,
             reference: str = "", entered_by=None, created_at: dt.datetime | None = None,
             from_balance: bool = False) -> LedgerEntry:
    """A subscription's price or set-up fee in the ledger: amount 0 when the billing front
    end collected it (the reference says so), or, with `from_balance`, `amount` charged from
    the paid balance (no free credit; InsufficientCredit when the balance less what calls in
    progress hold does not cover it). Idempotent per (tenant, kind, message_ref)."""
    value = _debit_amount(amount, kind, "fee")
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        existing = _existing_charge(tenant.id, kind, None, message_ref)
        if existing is not None:
            return existing
        paid = value if from_balance else ZERO
        if paid > 0:
            reserved, _ = _open_reserved(tenant.id)
            if money(tenant.balance) - reserved < paid:
                raise InsufficientCredit(N_("The balance does not cover %(amount)s."),
                                         amount=str(paid))
        fields = {"created_at": created_at} if created_at is not None else {}
        entry = _post(tenant, kind, -paid, message_ref=message_ref or None,
                      reference=(reference or "")[:255],
                      entered_by=getattr(entered_by, "id", entered_by), **fields)
    if paid > 0:
        _after_charge(tenant.id)
    return entry


# -- reservations for calls in progress ----------------------------------------------------

def reserve(tenant_id, amount, reference: str = "", seconds: int = 0,
            call_id=None) -> int:
    """Set aside `amount` (and `seconds` of free minutes) for a call; its id, or
    InsufficientCredit when the available credit does not cover it."""
    value = money(amount)
    if value < 0 or seconds < 0:
        raise BillingError("A reservation cannot be negative.")
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        now = utcnow()
        if value > _available(tenant, now):
            raise InsufficientCredit(f"Tenant {tenant.name}: not enough credit "
                                     f"(needs {value}).")
        if seconds:
            _, reserved_secs = _open_reserved(tenant.id)
            if seconds > free_seconds(tenant.id, now) - reserved_secs:
                raise InsufficientCredit(f"Tenant {tenant.name}: not enough free minutes.")
        res = CreditReservation.create(tenant=tenant.id, amount=value, seconds=seconds,
                                       reference=(reference or "")[:255], call=call_id)
    return res.id


def _lock_reservation(reservation_id) -> tuple[Tenant, CreditReservation] | None:
    res = CreditReservation.get_or_none(CreditReservation.id == reservation_id)
    if res is None:
        return None
    tenant = _lock_tenant(res.tenant_id)
    return tenant, CreditReservation.get_by_id(res.id)  # re-read under the lock


def extend(reservation_id, amount, seconds: int = 0) -> bool:
    """Grow an open reservation by money and/or free call seconds (a call goes on); False
    when the credit is not there or the reservation is closed: the caller should end the
    call."""
    value = money(amount)
    if value < 0 or seconds < 0:
        raise BillingError("A reservation cannot shrink through extend.")
    with database.atomic():
        found = _lock_reservation(reservation_id)
        if found is None:
            return False
        tenant, res = found
        now = utcnow()
        if res.released_at is not None or value > _available(tenant, now):
            return False
        if seconds:
            _, reserved_secs = _open_reserved(tenant.id)
            if seconds > free_seconds(tenant.id, now) - reserved_secs:
                return False
        CreditReservation.update(amount=CreditReservation.amount + value,
                                 seconds=CreditReservation.seconds + seconds).where(
            CreditReservation.id == res.id).execute()
    return True


def release(reservation_id) -> None:
    """Give the reserved credit back unused (the call failed or was never placed)."""
    with database.atomic():
        found = _lock_reservation(reservation_id)
        if found is None:
            return
        _, res = found
        if res.released_at is None:
            CreditReservation.update(released_at=utcnow()).where(
                CreditReservation.id == res.id).execute()


def settle(reservation_id, amount, call_id=None, kind: str = "call",
           seconds: int = 0) -> LedgerEntry | None:
    """Charge a call's actual cost and release its reservation, in one transaction.
    Idempotent: settling again (or a CDR already charged) returns the first entry.
    `seconds` are the call's billed seconds, so free minutes can cover it; Call.cost is set.
    None when the reservation does not exist."""
    value = money(amount)
    if value < 0:
        raise BillingError("A call cannot cost less than 0.")
    with database.atomic():
        found = _lock_reservation(reservation_id)
        if found is None:
            return None
        tenant, res = found
        if res.entry_id is not None:
            return LedgerEntry.get_by_id(res.entry_id)
        entry = _existing_charge(tenant.id, kind, call_id, None)
        if entry is None:
            entry = _split_and_post(tenant, value, kind, int(seconds or 0), utcnow(),
                                    call=call_id, reference=res.reference)
            if call_id is not None:
                Call.update(cost=value).where(Call.id == call_id,
                                              Call.tenant == tenant.id).execute()
        CreditReservation.update(released_at=res.released_at or utcnow(), entry=entry.id,
                                 call=call_id or res.call_id).where(
            CreditReservation.id == res.id).execute()
    _after_charge(tenant.id)
    return entry


@dataclass(frozen=True)
class Authorization:
    reservation_id: int
    max_seconds: int
    covered_s: int = 0  # talk time the reservation pays for


def authorize_call(tenant_id, rate: rating.Rate, reference: str = "",
                   cap: int = rating.MAX_CALL_SECONDS, want_s: int = 0) -> Authorization:
    """Start a call: reserve the cost of its first `want_s` seconds when the credit covers
    them, else of its first increment (free minutes first), and say how long it may last
    with everything available now. InsufficientCredit when not even the first increment is
    covered. Extend the reservation as the call goes on, settle at hang-up. (Reserving a
    little ahead spares most short calls any extension at all.)"""
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        now = utcnow()
        reserved_money, reserved_secs = _open_reserved(tenant.id)
        free_secs = max(0, free_seconds(tenant.id, now) - reserved_secs)
        cash = money(tenant.balance) + free_money(tenant.id, now) - reserved_money

        def need_for(secs: int) -> tuple[int, Decimal]:
            # the part of `secs` free minutes do not cover, with its share of the fee
            take = min(free_secs, secs)
            return take, money(rating.call_cost(rate, secs) * (secs - take) / secs)

        covered = max(rate.initial_s, min(want_s, cap))
        take_secs, need = need_for(covered)
        if need > cash and covered > rate.initial_s:
            covered = rate.initial_s
            take_secs, need = need_for(covered)
        if need > cash:
            raise InsufficientCredit(f"Tenant {tenant.name}: not enough credit for a call.")
        longest = min(cap, free_secs + rating.max_seconds(rate, max(cash, ZERO), cap))
        if longest <= 0:
            raise InsufficientCredit(f"Tenant {tenant.name}: not enough credit for a call.")
        res = CreditReservation.create(tenant=tenant.id, amount=need, seconds=take_secs,
                                       reference=(reference or "")[:255])
    return Authorization(res.id, longest, covered)


# -- many calls of one tenant at once (the Stasis app's writer) ----------------------------
# The same arithmetic as authorize_call and settle, for all the calls of one tenant that one
# writer batch claims or closes: one locked balance read, one read of what is reserved and
# free, one multi-row INSERT, instead of a round of statements per call (prepared SQL,
# models.prepared.BillingStatements). Inside the caller's transaction when there is one.

@dataclass(frozen=True)
class CallWant:
    """A call to authorize: its rate, the seconds to reserve ahead if covered, its CDR."""
    rate: rating.Rate
    reference: str = ""
    call_id: int | None = None
    want_s: int = 0
    cap: int = rating.MAX_CALL_SECONDS


@dataclass(frozen=True)
class CallSettlement:
    """A closed call's reservation: charge `cost` for `seconds` billed, or (cost None)
    release it unused."""
    reservation_id: int
    call_id: int | None
    cost: Decimal | None
    seconds: int = 0


def _in_transaction():
    return contextlib.nullcontext() if database.in_transaction() else database.atomic()


def _lock_balance(sql, tenant_id: int) -> tuple[Decimal, tuple]:
    """The locked tenant's balance, and (threshold, notified) of its low-balance mail."""
    row = database.execute_sql(sql.tenant_lock, (int(tenant_id),)).fetchone()
    if row is None:
        raise BillingError(N_("Unknown tenant %(tenant)s."), tenant=repr(tenant_id))
    return money(row[0] or 0), (money(row[1] or 0), bool(row[2]))


def _load_buckets(sql, tenant_id: int, now: dt.datetime) -> tuple[list[_Bucket], list[_Bucket]]:
    minutes, cash = [], []
    for id_, kind, amount, seconds in database.execute_sql(sql.buckets, (tenant_id, now)):
        (minutes if kind == "minutes" else cash).append(
            _Bucket(id_, CreditBucket.amount.python_value(amount), seconds))
    return minutes, cash


def authorize_calls(tenant_id, wants: list[CallWant]) -> list[Authorization]:
    """authorize_call for each want in order, as if one after the other: the Authorizations
    of the leading wants the credit covers; the first not covered and all after it get none
    (nothing is reserved for them). Every reservation but a lone one needs its call_id."""
    if not wants:
        return []
    from models.prepared import billing_statements
    sql = billing_statements()
    with _in_transaction():
        balance_now, _ = _lock_balance(sql, tenant_id)
        tenant_id, now = int(tenant_id), utcnow()
        reserved_money, reserved_secs, _ = database.execute_sql(
            sql.open_reserved, (tenant_id,)).fetchone()
        minutes, cash_buckets = _load_buckets(sql, tenant_id, now)
        free_secs = max(0, sum(b.seconds for b in minutes) - int(reserved_secs))
        cash = balance_now + money(sum((b.amount for b in cash_buckets), ZERO)) \
            - money(reserved_money)
        rows, granted = [], []
        for want in wants:
            rate, cap = want.rate, want.cap

            def need_for(secs: int) -> tuple[int, Decimal]:
                take = min(free_secs, secs)
                return take, money(rating.call_cost(rate, secs) * (secs - take) / secs)

            covered = max(rate.initial_s, min(want.want_s, cap))
            take_secs, need = need_for(covered)
            if need > cash and covered > rate.initial_s:
                covered = rate.initial_s
                take_secs, need = need_for(covered)
            if need > cash:
                break
            longest = min(cap, free_secs + rating.max_seconds(rate, max(cash, ZERO), cap))
            if longest <= 0:
                break
            rows.append((tenant_id, need, take_secs, (want.reference or "")[:255],
                         want.call_id, now))
            granted.append((want.call_id, longest, covered))
            cash -= need
            free_secs -= take_secs
        if not rows:
            return []
        if len(rows) > 1 and len({call_id for call_id, _, _ in granted}) < len(rows):
            raise ValueError("reserving for several calls at once needs their distinct call ids")
        cursor = database.execute_sql(sql.reserve(len(rows)), [v for row in rows for v in row])
        ids = dict(cursor.fetchall())
    if len(rows) == 1:
        ids = {granted[0][0]: next(iter(ids.values()))}
    return [Authorization(ids[call_id], longest, covered)
            for call_id, longest, covered in granted]


def settle_calls(tenant_id, items: list[CallSettlement]) -> int:
    """settle (or release, cost None) each reservation of one tenant: one locked balance
    read, one multi-row INSERT of ledger entries with their running balances, one balance
    update. Idempotent like settle: a reservation already settled, or a call already
    charged, is not charged again. How many ledger entries were posted."""
    if not items:
        return 0
    from models.prepared import billing_statements
    sql = billing_statements()
    tenant_id, now = int(tenant_id), utcnow()
    seen, unique = set(), []
    for item in items:
        if item.reservation_id not in seen:
            seen.add(item.reservation_id)
            unique.append(item)
    with _in_transaction():
        running, low_balance = _lock_balance(sql, tenant_id)
        found = {row[0]: row for row in database.execute_sql(
            sql.reservations(len(unique)), [tenant_id, *seen])}
        charges = [i for i in unique if i.cost is not None and i.reservation_id in found
                   and found[i.reservation_id][2] is None]
        releases = [i.reservation_id for i in unique if i.cost is None and i.reservation_id in found
                    and found[i.reservation_id][3] is None]
        entry_of: dict[int, int] = {}  # reservation id -> its ledger entry
        rows: list[tuple] = []
        if charges:
            calls = [i.call_id for i in charges if i.call_id is not None]
            charged = dict(database.execute_sql(sql.charged(len(calls)), ["call", *calls])
                           .fetchall()) if calls else {}
            minutes, cash = _load_buckets(sql, tenant_id, now)
            posted = []
            for item in charges:
                if item.call_id is not None and item.call_id in charged:
                    entry_of[item.reservation_id] = charged[item.call_id]
                    continue
                cost = money(item.cost)
                if cost < 0:
                    raise BillingError("A call cannot cost less than 0.")
                to_pay, free_secs, free_cash = _split(cost, int(item.seconds or 0), minutes, cash)
                running += -to_pay
                rows.append((tenant_id, "call", -to_pay, running, free_cash, free_secs,
                             found[item.reservation_id][1], item.call_id, now))
                posted.append(item)
                if item.call_id is not None:
                    charged[item.call_id] = None  # the same call twice in one flush: once
            if rows:
                if len(rows) > 1 and any(i.call_id is None for i in posted):
                    raise ValueError("settling several calls at once needs their call ids")
                ids = dict(database.execute_sql(sql.entries(len(rows)),
                                                [v for row in rows for v in row]).fetchall())
                for item in posted:
                    entry_of[item.reservation_id] = (ids[item.call_id] if len(rows) > 1
                                                     else next(iter(ids.values())))
                database.execute_sql(sql.set_balance, (running, tenant_id))
                for bucket in minutes + cash:
                    if bucket.touched:
                        database.execute_sql(sql.set_bucket,
                                             (bucket.amount, bucket.seconds, bucket.id))
                costs = [(i.call_id, money(i.cost)) for i in posted if i.call_id is not None]
                if costs:
                    database.execute_sql(sql.call_costs(len(costs)), [
                        *(v for pair in costs for v in pair), tenant_id,
                        *(c for c, _ in costs)])
            pairs = [(res_id, entry) for res_id, entry in entry_of.items() if entry is not None]
            if pairs:
                database.execute_sql(sql.settle(len(pairs)), [
                    now, *(v for pair in pairs for v in pair), *(r for r, _ in pairs)])
        if releases:
            database.execute_sql(sql.release(len(releases)), [now, *releases])
    from voxcast.billing import notify
    if rows and notify.needs_check(running, *low_balance):
        notify.check_low_balance(tenant_id)
    return len(rows)


def extend_call(tenant_id, reservation_id: int, rate: rating.Rate, covered_s: int,
                target_s: int) -> int:
    """Grow a running call's reservation towards `target_s` seconds of talk (from
    `covered_s`): free minutes first, in whole increments; else money, this call's share of
    what is available (parallel calls share it; below one increment's worth it takes one
    increment). The seconds now covered (`covered_s`: nothing more, or the reservation is
    closed). One locked read of the state it depends on and one UPDATE, in prepared SQL."""
    from models.prepared import billing_statements
    sql = billing_statements()
    tenant_id, now = int(tenant_id), utcnow()
    with _in_transaction():
        balance_now, _ = _lock_balance(sql, tenant_id)
        row = database.execute_sql(sql.reservations(1), (tenant_id, reservation_id)).fetchone()
        if row is None or row[3] is not None:
            return covered_s
        reserved_money, reserved_secs, open_calls = database.execute_sql(
            sql.open_reserved, (tenant_id,)).fetchone()
        minutes, cash_buckets = _load_buckets(sql, tenant_id, now)
        free_left = max(0, sum(b.seconds for b in minutes) - int(reserved_secs))
        add_money, add_secs, reach = ZERO, 0, covered_s
        if free_left > 0:
            take = min(free_left, target_s - covered_s)
            take -= take % rate.increment_s if take >= rate.increment_s else 0
            if take > 0:
                add_secs, reach = take, covered_s + take
        if not add_secs:
            paid = rating.call_cost(rate, covered_s)
            spare = max(balance_now + money(sum((b.amount for b in cash_buckets), ZERO))
                        - money(reserved_money), ZERO)
            reach = rating.max_seconds(rate, paid + spare / max(1, int(open_calls)),
                                       cap=target_s)
            if reach <= covered_s:
                one_more = min(target_s, covered_s + rate.increment_s)
                reach = rating.max_seconds(rate, paid + spare, cap=one_more)
            if reach <= covered_s:
                return covered_s
            add_money = money(rating.call_cost(rate, reach) - paid)
            if add_money > spare:
                return covered_s
        database.execute_sql(sql.grow, (add_money, add_secs, reservation_id))
    return reach


def adopt_unledgered_balances() -> int:
    """Give every tenant whose balance predates the ledger an "opening" entry for it, so
    balance == SUM(ledger) holds on databases created before the ledger existed."""
    adopted = 0
    has_entries = LedgerEntry.select().where(LedgerEntry.tenant == Tenant.id)
    for tenant_id, in (Tenant.select(Tenant.id)
                       .where(Tenant.balance != 0, ~fn.EXISTS(has_entries)).tuples()):
        with database.atomic():
            tenant = _lock_tenant(tenant_id)
            if LedgerEntry.select().where(LedgerEntry.tenant == tenant.id).exists():
                continue
            opening = money(tenant.balance)
            tenant.balance = ZERO
            _post(tenant, "opening", opening, reference="Balance before the ledger")
            adopted += 1
    return adopted


def buckets(tenant_id: int) -> list[CreditBucket]:
    """The tenant's free credit, minutes and included units still usable, soonest expiry
    first (by kind)."""
    now = utcnow()
    return [b for kind in ("money", "minutes", *UNIT_KINDS)
            for b in _usable_buckets(tenant_id, kind, now)]
