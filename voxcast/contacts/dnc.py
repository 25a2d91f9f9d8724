"""Do-not-call lists: one per tenant and one provider-wide (tenant None).

A number on either list is never dialed: the dialer checks both at dial time
(voxcast.dialing.admission.DncCheck via `blocked_set`), so a number added while a campaign runs is
still skipped. No Flask here; the web UI and the JSON API call the same functions, and every
change is written to the tenant log in the same transaction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from models import DncNumber, database
from models.bulk import one_of
from models.tenancy import provider_rows, scoped
from voxcast.audit import records as audit
from voxcast.errors import ServiceError
from voxcast.contacts.services import (
    InvalidPhone, PhoneNormalizer, RowError, UploadError, _records, decode_csv, sniff_delimiter,
)

SOURCES = ("manual", "upload", "opt-out", "api")
CHUNK = 500  # phones per IN (...) query
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class DncError(ServiceError, ValueError):
    code, status = "invalid-dnc", 422


def dnc_list(tenant_id: int | None):
    """The rows of one list: the tenant's, or the provider-wide one for None."""
    return provider_rows(DncNumber) if tenant_id is None else scoped(DncNumber, tenant_id)


def _both_lists(tenant_id: int | None):
    """The tenant's list and the provider's together: what decides whether a number is dialed."""
    if tenant_id is None:
        return provider_rows(DncNumber)
    return scoped(DncNumber, tenant_id).orwhere(DncNumber.tenant.is_null())


@dataclass
class AddResult:
    added: int = 0
    already: int = 0  # on the list before
    errors: list[RowError] = field(default_factory=list)


E164_AS_IS = re.compile(r"\+?\d{1,32}")


def _as_is(raw: str) -> str:
    """A number from our own records (already E.164, dialled as it is): kept as it is, even
    where the phone library thinks the range invalid; only digits with an optional +."""
    phone = (raw or "").strip()
    if not E164_AS_IS.fullmatch(phone):
        raise InvalidPhone("not a phone number")
    return phone


def add(tenant_id: int | None, phones: Iterable[str | tuple[int, str]], source: str = "manual",
        *, country: str = "US", actor=None, ip: str = "", as_is: bool = False) -> AddResult:
    """Put numbers on a list. `phones` are raw strings (normalised to E.164 with `country`)
    or (row number, raw) pairs from an upload; invalid ones are reported, the rest added in
    one transaction. `as_is`: the numbers come from our own call records (a number we
    dialled or that called us), listed exactly as recorded, so the dialer's check of that
    same string finds them."""
    if source not in SOURCES:
        raise DncError(f"Unknown source '{source}'")
    normalize = _as_is if as_is else PhoneNormalizer(country)
    result = AddResult()
    wanted: dict[str, None] = {}
    for n, item in enumerate(phones, start=1):
        rowno, raw = item if isinstance(item, tuple) else (n, item)
        try:
            wanted[normalize(raw)] = None
        except InvalidPhone as exc:
            result.errors.append(RowError(rowno, (raw or "").strip()[:80], str(exc)))
    if not wanted:
        return result
    numbers = list(wanted)
    with database.atomic():
        have = set()
        for start in range(0, len(numbers), CHUNK):
            have.update(p for (p,) in dnc_list(tenant_id).select(DncNumber.phone)
                        .where(DncNumber.phone.in_(numbers[start:start + CHUNK])).tuples())
        new = [(tenant_id, p, source) for p in numbers if p not in have]
        for start in range(0, len(new), CHUNK):
            (DncNumber.insert_many(new[start:start + CHUNK],
                                   fields=[DncNumber.tenant, DncNumber.phone, DncNumber.source])
             .on_conflict_ignore().execute())
        result.added, result.already = len(new), len(have)
        if new:
            audit.record("dnc.add", tenant_id=tenant_id, user=actor, object_type="dnc",
                         object_id=new[0][1] if len(new) == 1 else "",
                         detail=f"{len(new)} number(s) ({source}): "
                                + ", ".join(p for _, p, _ in new[:20]), ip=ip)
    return result


def remove(tenant_id: int | None, phones: Iterable[str], *, country: str = "US", actor=None,
           ip: str = "") -> int:
    """Take numbers off one list (only that list). Returns how many were removed."""
    normalize = PhoneNormalizer(country)
    numbers = []
    for raw in phones:
        try:
            numbers.append(normalize(raw))
        except InvalidPhone:
            continue
    if not numbers:
        return 0
    removed = 0
    with database.atomic():
        for start in range(0, len(numbers), CHUNK):
            ids = dnc_list(tenant_id).select(DncNumber.id).where(
                DncNumber.phone.in_(numbers[start:start + CHUNK]))
            removed += DncNumber.delete().where(DncNumber.id.in_(ids)).execute()
        if removed:
            audit.record("dnc.remove", tenant_id=tenant_id, user=actor, object_type="dnc",
                         object_id=numbers[0] if len(numbers) == 1 else "",
                         detail=f"{removed} number(s): " + ", ".join(numbers[:20]), ip=ip)
    return removed


def blocked_set(tenant_id: int | None, phones: Iterable[str]) -> set[str]:
    """Which of these E.164 numbers are on the tenant's or the provider's list (one query per
    500 numbers)."""
    numbers = list(dict.fromkeys(p for p in phones if p))
    blocked: set[str] = set()
    for start in range(0, len(numbers), CHUNK):
        blocked.update(p for (p,) in _both_lists(tenant_id).select(DncNumber.phone)
                       .where(one_of(DncNumber.phone, numbers[start:start + CHUNK])).tuples())
    return blocked


def is_blocked(tenant_id: int | None, phone: str) -> bool:
    return bool(blocked_set(tenant_id, [phone]))


def search(tenant_id: int | None, q: str = ""):
    """One list, newest first, filtered by the digits of `q`."""
    query = dnc_list(tenant_id)
    digits = re.sub(r"\D", "", q or "")
    if digits:
        query = query.where(DncNumber.phone.contains(digits))
    return query.order_by(DncNumber.created_at.desc(), DncNumber.id.desc())


def parse_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> list[tuple[int, str]]:
    """(row number, raw number) from a CSV or plain list of numbers: the column headed like a
    phone column, else the first one; a header row is skipped. Raises UploadError."""
    if len(data) > max_bytes:
        raise UploadError(f"The file is larger than {max_bytes // (1024 * 1024)} MB")
    text = decode_csv(data)
    delimiter = sniff_delimiter(text)
    rows = [(n, cells) for n, cells in _records(text, delimiter, [])
            if any(c.strip() for c in cells)]
    if not rows:
        raise UploadError("The file has no numbers")
    column = 0
    first = [re.sub(r"[^a-z]", "", c.lower()) for c in rows[0][1]]
    names = ("phone", "phonenumber", "number", "mobile", "msisdn", "telephone", "tel", "dnc")
    header = not any(ch.isdigit() for ch in "".join(rows[0][1]))
    for i, name in enumerate(first):
        if name in names:
            column, header = i, True
            break
    if header:
        rows = rows[1:]
    return [(n, cells[column] if column < len(cells) else "") for n, cells in rows]
