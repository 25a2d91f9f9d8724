"""The money ledger: credits, charges, call reservations and free credit buckets.

Every function is one transaction that first locks the tenant's row (SELECT ... FOR UPDATE
on PostgreSQL; on SQLite every transaction already holds the write lock, BEGIN IMMEDIATE),
so concurrent workers serialise per tenant and Tenant.balance stays equal to
SUM(LedgerEntry.amount) at every commit.

Free credit comes first: a call's seconds are covered by free-minute buckets (that fraction
of its cost is free), what is left by free-money buckets, and only the rest by the paid
balance; buckets expiring soonest are used first, expired ones not at all. The paid balance
may go below zero through a charge (a call that overran), never through a reservation."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable

from peewee import fn

from models import Call, Tenant, database
from models.entities import (CreditBucket, CreditReservation, LEDGER_KINDS, LedgerEntry,
                             utcnow)
from voxcast.billing import rating
from voxcast.i18n import N_
from voxcast.errors import ServiceError

CENT4 = Decimal("0.0001")
ZERO = Decimal("0")
MAX_AMOUNT = Decimal("1e10")
CREDIT_KINDS = ("opening", "payment", "topup", "refund", "adjustment")


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
    """The tenant row, locked for the rest of the transaction (PostgreSQL: FOR UPDATE)."""
    try:
        tenant_id = int(tenant_id)
    except (TypeError, ValueError):
        raise BillingError(N_("Unknown tenant %(tenant)s."), tenant=repr(tenant_id)) from None
    query = Tenant.select().where(Tenant.id == tenant_id)
    if getattr(database.obj, "for_update", False):
        query = query.for_update()
    tenant = query.first()
    if tenant is None:
        raise BillingError(N_("Unknown tenant %(tenant)s."), tenant=repr(tenant_id))
    return tenant


def _usable_buckets(tenant_id: int, kind: str, now: dt.datetime):
    remaining = CreditBucket.amount > 0 if kind == "money" else CreditBucket.seconds > 0
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
           entered_by=None) -> LedgerEntry:
    """Add money (a payment, top-up, refund...). Refuses amounts <= 0, non-numbers and
    unknown tenants with BillingError; nothing is applied then."""
    value = money(amount)
    if value <= 0:
        raise BillingError(N_("The amount must be more than 0."))
    if kind not in CREDIT_KINDS:
        raise BillingError(N_("Unknown credit kind %(kind)s."), kind=repr(kind))
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        entry = _post(tenant, kind, value, reference=(reference or "")[:255],
                      entered_by=getattr(entered_by, "id", entered_by))
    from voxcast.billing import notify
    notify.check_low_balance(tenant.id)  # re-arms the warning once above the threshold
    return entry


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


def _split_and_post(tenant: Tenant, amount: Decimal, kind: str, seconds: int,
                    now: dt.datetime, **fields) -> LedgerEntry:
    """Cover `amount` with free minutes (for `seconds` of a call), then free money, then the
    balance; post the paid part. Tenant locked."""
    to_pay, free_secs, free_cash = amount, 0, ZERO
    if seconds > 0 and amount > 0:
        for bucket in _usable_buckets(tenant.id, "minutes", now):
            take = min(bucket.seconds, seconds - free_secs)
            if take <= 0:
                break
            CreditBucket.update(seconds=CreditBucket.seconds - take).where(
                CreditBucket.id == bucket.id).execute()
            free_secs += take
        covered = money(amount * free_secs / seconds) if free_secs else ZERO
        to_pay = amount - covered
        free_cash += covered
    if to_pay > 0:
        for bucket in _usable_buckets(tenant.id, "money", now):
            take = min(money(bucket.amount), to_pay)
            if take <= 0:
                break
            CreditBucket.update(amount=money(bucket.amount) - take).where(
                CreditBucket.id == bucket.id).execute()
            to_pay -= take
            free_cash += take
    return _post(tenant, kind, -to_pay, free_money=free_cash, free_seconds=free_secs, **fields)


def charge(tenant_id, amount, kind: str = "charge", call_id=None, message_ref=None,
           reference: str = "", seconds: int = 0) -> LedgerEntry:
    """Charge a cost (>= 0). Idempotent per (call_id, kind) and per (message_ref, kind): a
    repeated charge returns the first entry and changes nothing. `seconds` (the call's
    billed seconds) lets free minutes cover the call."""
    value = money(amount)
    if value < 0:
        raise BillingError("A charge cannot be negative; use a refund or an adjustment.")
    if kind not in LEDGER_KINDS:
        raise BillingError(f"Unknown ledger kind {kind!r}.")
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        existing = _existing_charge(tenant.id, kind, call_id, message_ref)
        if existing is not None:
            return existing
        entry = _split_and_post(tenant, value, kind, int(seconds or 0), utcnow(),
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


# -- free credit ---------------------------------------------------------------------------

def grant_free(tenant_id, *, amount=None, seconds: int | None = None,
               expires_at: dt.datetime | None = None, reference: str = "",
               entered_by=None) -> CreditBucket:
    """Give free credit (amount) or free call time (seconds); recorded in the ledger with
    amount 0 so the history shows it while the paid balance is unchanged."""
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
    if expires_at is not None and expires_at <= utcnow():
        raise BillingError(N_("The expiry date must be in the future."))
    with database.atomic():
        tenant = _lock_tenant(tenant_id)
        bucket = CreditBucket.create(tenant=tenant.id, kind=kind, amount=value, seconds=secs,
                                     granted_amount=value, granted_seconds=secs,
                                     reference=(reference or "")[:255], expires_at=expires_at)
        _post(tenant, "free_credit" if kind == "money" else "free_minutes", ZERO,
              free_money=value, free_seconds=secs, reference=(reference or "")[:255],
              entered_by=getattr(entered_by, "id", entered_by))
    return bucket


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
    """The tenant's free credit and minutes still usable, soonest expiry first."""
    now = utcnow()
    return list(_usable_buckets(tenant_id, "money", now)) + \
        list(_usable_buckets(tenant_id, "minutes", now))
