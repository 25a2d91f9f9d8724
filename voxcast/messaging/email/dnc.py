"""The tenant's e-mail do-not-contact list (EmailDnc): addresses its e-mail campaigns never
write to. Filled by hand, by upload, through the API, by the one-click unsubscribe link and by
hard bounces; the Dispatcher's claim checks it for every contact, and the sender checks again
just before it hands a message to SMTP. Each change is in the tenant log, in the same
transaction. No Flask here: the web page and the API call these functions."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from models import database
from models.entities import EmailDnc
from models.tenancy import scoped
from voxcast.accounts import email_address
from voxcast.audit import records as audit
from voxcast.contacts.services import RowError, UploadError, _records, decode_csv, sniff_delimiter
from voxcast.errors import ServiceError

SOURCES = ("manual", "upload", "unsubscribe", "bounce", "api")
CHUNK = 500
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ADDRESS = 254


class EmailDncError(ServiceError, ValueError):
    code, status = "invalid-email-dnc", 422


class InvalidAddress(ServiceError, ValueError):
    code, status = "invalid-address", 422


def normalize(raw: str) -> str:
    """The list's key: trimmed and lower-cased, as the Dispatcher compares a contact's e-mail."""
    address = (raw or "").strip().strip("<>").strip()
    if not address or len(address) > MAX_ADDRESS:
        raise InvalidAddress("not an e-mail address")
    try:
        return email_address.normalize(address).lower()
    except email_address.InvalidEmail:
        raise InvalidAddress("not an e-mail address") from None


@dataclass
class AddResult:
    added: int = 0
    already: int = 0
    errors: list[RowError] = field(default_factory=list)


def dnc_list(tenant_id: int):
    return scoped(EmailDnc, tenant_id)


def add(tenant_id: int, addresses: Iterable[str | tuple[int, str]], source: str = "manual", *,
        actor=None, ip: str = "", detail: str = "") -> AddResult:
    """Put addresses on the tenant's list (idempotent: one already there is counted, not
    duplicated). Raw strings, or (row, raw) pairs from an upload."""
    if source not in SOURCES:
        raise EmailDncError(f"Unknown source '{source}'")
    result = AddResult()
    wanted: dict[str, None] = {}
    for n, item in enumerate(addresses, start=1):
        rowno, raw = item if isinstance(item, tuple) else (n, item)
        try:
            wanted[normalize(raw)] = None
        except InvalidAddress as exc:
            result.errors.append(RowError(rowno, (raw or "").strip()[:80], str(exc)))
    if not wanted:
        return result
    items = list(wanted)
    with database.atomic():
        have: set[str] = set()
        for start in range(0, len(items), CHUNK):
            have.update(a for (a,) in dnc_list(tenant_id).select(EmailDnc.address)
                        .where(EmailDnc.address.in_(items[start:start + CHUNK])).tuples())
        new = [(tenant_id, a, source) for a in items if a not in have]
        for start in range(0, len(new), CHUNK):
            (EmailDnc.insert_many(new[start:start + CHUNK],
                                  fields=[EmailDnc.tenant, EmailDnc.address, EmailDnc.source])
             .on_conflict_ignore().execute())
        result.added, result.already = len(new), len(have)
        if new:
            audit.record("email_dnc.add", tenant_id=tenant_id, user=actor,
                         object_type="email_dnc",
                         object_id=new[0][1] if len(new) == 1 else "",
                         detail=(f"{len(new)} address(es) ({source}): "
                                 + ", ".join(a for _, a, _ in new[:20])
                                 + (f"; {detail}" if detail else "")), ip=ip)
    return result


def remove(tenant_id: int, addresses: Iterable[str], *, actor=None, ip: str = "") -> int:
    items = []
    for raw in addresses:
        try:
            items.append(normalize(raw))
        except InvalidAddress:
            continue
    if not items:
        return 0
    removed = 0
    with database.atomic():
        for start in range(0, len(items), CHUNK):
            ids = dnc_list(tenant_id).select(EmailDnc.id).where(
                EmailDnc.address.in_(items[start:start + CHUNK]))
            removed += EmailDnc.delete().where(EmailDnc.id.in_(ids)).execute()
        if removed:
            audit.record("email_dnc.remove", tenant_id=tenant_id, user=actor,
                         object_type="email_dnc", object_id=items[0] if len(items) == 1 else "",
                         detail=f"{removed} address(es): " + ", ".join(items[:20]), ip=ip)
    return removed


def is_blocked(tenant_id: int, address: str) -> bool:
    return dnc_list(tenant_id).where(
        EmailDnc.address == (address or "").strip().lower()).exists()


def search(tenant_id: int, q: str = ""):
    query = dnc_list(tenant_id)
    q = (q or "").strip().lower()
    if q:
        query = query.where(EmailDnc.address.contains(q))
    return query.order_by(EmailDnc.created_at.desc(), EmailDnc.id.desc())


def parse_upload(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> list[tuple[int, str]]:
    """(row number, raw address) from a CSV or a plain list: the column headed like an e-mail
    column, else the first one holding an @; a header row is skipped. Raises UploadError."""
    if len(data) > max_bytes:
        raise UploadError(f"The file is larger than {max_bytes // (1024 * 1024)} MB")
    text = decode_csv(data)
    rows = [(n, cells) for n, cells in _records(text, sniff_delimiter(text), [])
            if any(c.strip() for c in cells)]
    if not rows:
        raise UploadError("The file has no addresses")
    first = [re.sub(r"[^a-z]", "", c.lower()) for c in rows[0][1]]
    header = not any("@" in c for c in rows[0][1])
    column = next((i for i, name in enumerate(first)
                   if name in ("email", "emailaddress", "mail", "address", "eaddress")), None)
    if column is None:
        sample = rows[1][1] if header and len(rows) > 1 else rows[0][1]
        column = next((i for i, c in enumerate(sample) if "@" in c), 0)
    if header:
        rows = rows[1:]
    return [(n, cells[column] if column < len(cells) else "") for n, cells in rows]
