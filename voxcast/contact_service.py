"""Contacts: phone normalisation to E.164 and CSV import. No Flask here; the UI and a later
JSON API both call it."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import phonenumbers

from models import Contact, ContactGroup, database

CSV_COLUMNS = ("phone", "first_name", "last_name", "email")
BATCH = 500  # rows per INSERT; 500 x 6 columns stays far below SQLite's variable limit


class ContactError(ValueError):
    """A contact that cannot be stored; the message is fit to show a user."""


def normalize_phone(raw: str, country: str) -> str:
    """E.164 form of `raw`; numbers without a leading + are read as numbers of `country`."""
    raw = (raw or "").strip()
    if not raw:
        raise ContactError("the phone number is empty")
    try:
        number = phonenumbers.parse(raw, (country or "US").upper())
    except phonenumbers.NumberParseException:
        raise ContactError(f"'{raw}' is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        hint = "" if raw.startswith("+") else f" (numbers without + are read as {country} numbers)"
        raise ContactError(f"'{raw}' is not a valid phone number{hint}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def add_contact(group: ContactGroup, country: str, phone: str, first_name: str = "",
                last_name: str = "", email: str = "") -> Contact:
    e164 = normalize_phone(phone, country)
    if Contact.select().where(Contact.group == group, Contact.phone == e164).exists():
        raise ContactError(f"{e164} is already in group '{group.name}'")
    return Contact.create(tenant=group.tenant_id, group=group, phone=e164,
                          first_name=first_name.strip(), last_name=last_name.strip(),
                          email=email.strip())


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)
    fatal: str = ""  # the file as a whole was refused; nothing imported


def import_csv(group: ContactGroup, country: str, data: bytes | str) -> ImportResult:
    """Import phone,first_name,last_name,email rows (header row required) into `group`.

    Row numbers count the header as row 1, like a spreadsheet. Rows with a bad phone are
    reported and skipped; numbers already in the group, or repeated in the file, are counted
    as duplicates; every valid row is inserted in one transaction.
    """
    result = ImportResult()
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            result.fatal = "The file is not UTF-8 text; save it as CSV (UTF-8) and try again"
            return result
    reader = csv.reader(io.StringIO(data))
    header = next(reader, None)
    columns = [h.strip().lower() for h in header or []]
    if "phone" not in columns:
        result.fatal = ("The first row must be a header naming the columns "
                        "(phone,first_name,last_name,email); no 'phone' column was found")
        return result
    where = {name: columns.index(name) for name in CSV_COLUMNS if name in columns}

    existing = {p for (p,) in Contact.select(Contact.phone).where(Contact.group == group).tuples()}
    rows = []
    for rowno, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        values = {name: (cells[i].strip() if i < len(cells) else "") for name, i in where.items()}
        try:
            phone = normalize_phone(values["phone"], country)
        except ContactError as exc:
            result.errors.append((rowno, str(exc)))
            continue
        if phone in existing:
            result.duplicates += 1
            continue
        existing.add(phone)
        rows.append({"tenant": group.tenant_id, "group": group.id, "phone": phone,
                     "first_name": values.get("first_name", ""),
                     "last_name": values.get("last_name", ""),
                     "email": values.get("email", "")})
    with database.atomic():
        for start in range(0, len(rows), BATCH):
            Contact.insert_many(rows[start:start + BATCH]).on_conflict_ignore().execute()
    result.imported = len(rows)
    return result
