"""Contacts and contact groups: E.164 normalisation, add/edit/move/delete, search and the
CSV import with header mapping.

No Flask here: the web UI and the JSON API call the same functions. Errors a user should read
are ContactError subclasses with a message fit to show as is and a stable `code`. Every change
is written to the tenant log (voxcast.audit.records) in the same transaction as the change itself.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import phonenumbers
from peewee import IntegrityError, SqliteDatabase

from models import Campaign, Contact, ContactGroup, DncNumber, Tenant, database
from models.tenancy import get_scoped, scoped
from voxcast.audit import records as audit
from voxcast.accounts import email_address
from voxcast.errors import ServiceError

CUSTOM_FIELDS = tuple(f"custom{i}" for i in range(1, 9))
FIELDS = ("phone", "first_name", "last_name", "email") + CUSTOM_FIELDS
TARGETS = FIELDS + ("ignore",)
MAX_VALUE = 255  # CharField: varchar(255) on PostgreSQL
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_MAX_AGE = 24 * 3600  # abandoned mapping steps are cleaned up after a day
PREVIEW_ROWS = 5
# Bounds on the shape of an uploaded file, so one hostile file cannot make the web process
# build a mapping page of 20,000 columns or hold a megabyte cell: a contact list has a few
# columns (12 fields can be imported) and short values.
MAX_COLUMNS = 50
MAX_CELL_CHARS = 8192  # an ignored "notes" column may be long; imported fields stay <= MAX_VALUE
MAX_RECORD_CHARS = 65536
MAX_REPORTED_ERRORS = 1000  # row errors kept for the report; all are counted
SNIFF_LINES = 100
TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


class ContactError(ServiceError, ValueError):
    """A contact action that cannot be done; str(error) is fit for a user."""
    code, status = "invalid-contact", 422


class InvalidPhone(ContactError):
    code = "invalid-phone"


class DuplicateContact(ContactError):
    code, status = "duplicate-contact", 409


class UploadError(ContactError):
    """The uploaded file cannot be read as CSV, or the upload expired."""
    code = "invalid-upload"


class QuotaError(ContactError):
    code, status = "quota-exceeded", 403


class GroupError(ContactError):
    code = "invalid-group"


# -- phone numbers --------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-.()/]")


class PhoneNormalizer:
    """E.164 for raw strings of one country, cached per distinct compacted string.

    phonenumbers.parse is the cost of an import (~30 us a number), so numbers that are
    already E.164, or plain national digits of the tenant's country, take a fast path: the
    country code is split off by table and the number checked with phonenumbers' validity
    rules directly. Whatever the fast path does not accept goes through the full parse, so no
    invalid number is ever accepted and odd formats are still understood.
    """

    def __init__(self, country: str):
        self.region = (country or "US").upper()
        self.country_code = str(phonenumbers.country_code_for_region(self.region) or "")
        self._cache: dict[str, str | InvalidPhone] = {}

    def __call__(self, raw: str) -> str:
        raw = (raw or "").strip()
        key = _SEPARATORS.sub("", raw)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._fast(key) or self._slow(raw)
            self._cache[key] = hit
        if isinstance(hit, InvalidPhone):
            raise hit
        return hit

    def _fast(self, key: str) -> str | None:
        if key.startswith("+"):
            digits = key[1:]
        elif key[:1] not in ("", "0") and self.country_code:
            digits = self.country_code + key
        else:
            return None
        if (not digits.isdigit() or not digits.isascii() or digits[0] == "0"
                or not 8 <= len(digits) <= 15):
            return None
        for n in (1, 2, 3):
            cc = int(digits[:n])
            if cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        national = digits[n:]
        if national.startswith("0"):  # Italian leading zeros and trunk prefixes: slow path
            return None
        number = phonenumbers.PhoneNumber(country_code=cc, national_number=int(national))
        if (phonenumbers.is_valid_number_for_region(number, self.region)
                or phonenumbers.is_valid_number(number)):
            return "+" + digits
        return None

    def _slow(self, raw: str) -> str | InvalidPhone:
        if not raw:
            return InvalidPhone("the phone number is empty")
        try:
            number = phonenumbers.parse(raw, self.region)
        except phonenumbers.NumberParseException:
            return InvalidPhone(f"'{raw}' is not a phone number")
        if not phonenumbers.is_valid_number(number):
            hint = "" if raw.startswith("+") else \
                f" (numbers without + are read as {self.region} numbers)"
            return InvalidPhone(f"'{raw}' is not a valid phone number{hint}")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: str, country: str) -> str:
    """E.164 form of `raw`; numbers without a leading + are read as numbers of `country`."""
    return PhoneNormalizer(country)(raw)


# -- quota ----------------------------------------------------------------------------------

def check_quota(tenant: Tenant, adding: int) -> None:
    """Raise QuotaError when `adding` more contacts would exceed the tenant's quota."""
    if adding <= 0:
        return
    from voxcast.tenants import quotas
    try:
        quotas.check(tenant, "contacts", adding=adding)
    except quotas.QuotaExceeded as exc:
        raise QuotaError(str(exc)) from None


# -- groups ---------------------------------------------------------------------------------

def _group_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise GroupError("The group needs a name")
    if len(name) > 100:
        raise GroupError("Group names are at most 100 characters")
    return name


def create_group(tenant_id: int, name: str, *, actor=None, ip: str = "") -> ContactGroup:
    name = _group_name(name)
    if scoped(ContactGroup, tenant_id).where(ContactGroup.name == name).exists():
        raise GroupError(f"A group named '{name}' already exists")
    try:
        with database.atomic():
            group = ContactGroup.create(tenant=tenant_id, name=name)
            audit.record("contacts.group_create", tenant_id=tenant_id, user=actor,
                         object_type="contact_group", object_id=group.id, detail=name, ip=ip)
    except IntegrityError:
        raise GroupError(f"A group named '{name}' already exists") from None
    return group


def rename_group(group: ContactGroup, name: str, *, actor=None, ip: str = "") -> ContactGroup:
    name = _group_name(name)
    if name == group.name:
        return group
    if (scoped(ContactGroup, group.tenant_id)
            .where(ContactGroup.name == name, ContactGroup.id != group.id).exists()):
        raise GroupError(f"A group named '{name}' already exists")
    old = group.name
    with database.atomic():
        group.name = name
        group.save(only=[ContactGroup.name])
        audit.record("contacts.group_rename", tenant_id=group.tenant_id, user=actor,
                     object_type="contact_group", object_id=group.id,
                     detail=f"{old} -> {name}", ip=ip)
    return group


def delete_group(group: ContactGroup, *, actor=None, ip: str = "") -> int:
    """Delete the group and its contacts; refused while a running or paused campaign dials it.
    Returns the number of contacts deleted."""
    busy = (scoped(Campaign, group.tenant_id)
            .where(Campaign.group == group.id, Campaign.status.in_(["running", "paused"])).first())
    if busy is not None:
        raise GroupError(f"Campaign '{busy.name}' ({busy.status}) uses this group; "
                         "stop it before deleting the group")
    with database.atomic():
        n = (Contact.delete()
             .where(Contact.id.in_(scoped(Contact, group.tenant_id)
                                   .select(Contact.id).where(Contact.group == group.id)))
             .execute())
        group.delete_instance()
        audit.record("contacts.group_delete", tenant_id=group.tenant_id, user=actor,
                     object_type="contact_group", object_id=group.id,
                     detail=f"{group.name} ({n} contacts)", ip=ip)
    return n


# -- single contacts ------------------------------------------------------------------------

def clean_values(values: Mapping[str, str | None], country: str) -> dict[str, str]:
    """The contact fields of `values`, stripped and checked; the phone in E.164."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ContactError(f"Unknown contact fields: {', '.join(sorted(unknown))}")
    out = {name: (values.get(name) or "").strip() for name in FIELDS if name in values}
    out["phone"] = normalize_phone(out.get("phone", ""), country)
    if out.get("email"):
        try:
            out["email"] = email_address.normalize(out["email"])
        except email_address.InvalidEmail:
            raise ContactError(f"'{out['email']}' is not an e-mail address") from None
    for name, value in out.items():
        if len(value) > MAX_VALUE:
            raise ContactError(f"{name} is longer than {MAX_VALUE} characters")
    return out


def add_contact(group: ContactGroup, country: str, phone: str, first_name: str = "",
                last_name: str = "", email: str = "", *, actor=None, ip: str = "",
                **custom: str) -> Contact:
    """Add one contact to `group`; custom1..custom8 as keyword arguments."""
    values = clean_values(dict(custom, phone=phone, first_name=first_name,
                               last_name=last_name, email=email), country)
    if Contact.select().where(Contact.group == group.id, Contact.phone == values["phone"]).exists():
        raise DuplicateContact(f"{values['phone']} is already in group '{group.name}'")
    check_quota(group.tenant, 1)
    with database.atomic():
        contact = Contact.create(tenant=group.tenant_id, group=group.id, **values)
        audit.record("contacts.add", tenant_id=group.tenant_id, user=actor, object_type="contact",
                     object_id=contact.id, detail=f"{contact.phone} in {group.name}", ip=ip)
    return contact


def update_contact(contact: Contact, country: str, values: Mapping[str, str | None],
                   group: ContactGroup | None = None, *, actor=None, ip: str = "") -> Contact:
    """Change the given fields (and the group, when `group` is given; it must be the
    contact's tenant's, see models.tenancy.get_scoped)."""
    merged = {name: getattr(contact, name) for name in FIELDS}
    merged.update(values)
    clean = clean_values(merged, country)
    target = group or contact.group
    if target.tenant_id != contact.tenant_id:
        raise GroupError("No such group")
    clash = (Contact.select().where(Contact.group == target.id, Contact.phone == clean["phone"],
                                    Contact.id != contact.id).exists())
    if clash:
        raise DuplicateContact(f"{clean['phone']} is already in group '{target.name}'")
    changed = [n for n in FIELDS if getattr(contact, n) != clean[n]]
    with database.atomic():
        for name in FIELDS:
            setattr(contact, name, clean[name])
        contact.group = target.id
        contact.save()
        detail = ", ".join(changed) or "no field changed"
        audit.record("contacts.update", tenant_id=contact.tenant_id, user=actor,
                     object_type="contact", object_id=contact.id,
                     detail=f"{contact.phone}: {detail}; group {target.name}", ip=ip)
    return contact


def delete_contacts(tenant_id: int, ids: Iterable[int], *, actor=None, ip: str = "") -> int:
    ids = [int(i) for i in ids]
    if not ids:
        return 0
    with database.atomic():
        mine = scoped(Contact, tenant_id).select(Contact.id).where(Contact.id.in_(ids))
        n = Contact.delete().where(Contact.id.in_(mine)).execute()
        audit.record("contacts.delete", tenant_id=tenant_id, user=actor, object_type="contact",
                     object_id=ids[0] if len(ids) == 1 else "",
                     detail=f"{n} contact(s): {','.join(map(str, ids[:50]))}", ip=ip)
    return n


def move_contacts(tenant_id: int, ids: Iterable[int], target: ContactGroup, *, actor=None,
                  ip: str = "") -> tuple[int, int]:
    """Move contacts into `target`; numbers already there stay where they are.
    Returns (moved, skipped)."""
    if target.tenant_id != tenant_id:
        raise GroupError("No such group")
    ids = [int(i) for i in ids]
    if not ids:
        return 0, 0
    with database.atomic():
        rows = list(scoped(Contact, tenant_id).select(Contact.id, Contact.phone, Contact.group)
                    .where(Contact.id.in_(ids), Contact.group != target.id).tuples())
        there = {p for (p,) in Contact.select(Contact.phone).where(
            Contact.group == target.id, Contact.phone.in_([r[1] for r in rows])).tuples()}
        movable = [cid for cid, phone, _ in rows if phone not in there]
        moved = (Contact.update(group=target.id).where(Contact.id.in_(movable)).execute()
                 if movable else 0)
        audit.record("contacts.move", tenant_id=tenant_id, user=actor, object_type="contact",
                     detail=f"{moved} contact(s) to {target.name}, {len(rows) - moved} already there",
                     object_id=target.id, ip=ip)
    return moved, len(rows) - moved


def search(tenant_id: int, group: ContactGroup, q: str = ""):
    """Contacts of the group whose phone contains the digits of `q`, or whose first or last
    name contains `q` (case-insensitive)."""
    query = scoped(Contact, tenant_id).where(Contact.group == group.id)
    q = (q or "").strip()
    if q:
        cond = Contact.first_name.contains(q) | Contact.last_name.contains(q)
        digits = re.sub(r"\D", "", q)
        if digits:
            cond |= Contact.phone.contains(digits)
        parts = q.split()
        if len(parts) == 2:
            cond |= (Contact.first_name.contains(parts[0]) & Contact.last_name.contains(parts[1]))
        query = query.where(cond)
    return query.order_by(Contact.id)


def dnc_count(group: ContactGroup) -> int:
    """How many of the group's numbers are on the tenant's or the provider's DNC list."""
    return (Contact.select(Contact.id).distinct()
            .join(DncNumber, on=(DncNumber.phone == Contact.phone))
            .where(Contact.group == group.id,
                   DncNumber.tenant.is_null() | (DncNumber.tenant == group.tenant_id))
            .count())


# -- reading CSV files ----------------------------------------------------------------------

def decode_csv(data: bytes) -> str:
    """Text of an uploaded CSV: UTF-8 (with or without BOM), else Latin-1. Binary files and
    empty files raise UploadError."""
    if not data or not data.strip():
        raise UploadError("The file is empty")
    head = data[:65536]
    if b"\x00" in head:
        raise UploadError("This is not a CSV file (it contains binary data); "
                          "save it as CSV (UTF-8 or Latin-1) and upload it again")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > max(8, len(sample) // 100):
        raise UploadError("This is not a CSV file (it contains binary data); "
                          "save it as CSV (UTF-8 or Latin-1) and upload it again")
    return text


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab, as csv.Sniffer reads the start of the file; a one-column
    file (nothing to sniff) is read with commas. The sample is at most SNIFF_LINES lines:
    csv.Sniffer's time grows with the line count (1.7 s for 64 KiB of one-character lines)."""
    sample = "\n".join(text[:65536].split("\n", SNIFF_LINES)[:SNIFF_LINES])
    first = sample.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        counts = {d: first.count(d) for d in ",;\t"}
        delimiter = max(counts, key=counts.get) if any(counts.values()) else ","
    # The Sniffer sometimes votes for a delimiter the header never uses; trust the header then.
    if delimiter not in first and any(d in first for d in ",;\t"):
        delimiter = max(",;\t", key=first.count)
    return delimiter


@dataclass
class RowError:
    row: int  # spreadsheet row number: the first line of the file is row 1
    value: str
    reason: str


class RowErrors(list):
    """Row errors: the first MAX_REPORTED_ERRORS are kept, `total` counts all, so a file of
    a million bad rows costs a counter rather than a million objects."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def append(self, error: RowError) -> None:
        self.total += 1
        if len(self) < MAX_REPORTED_ERRORS:
            super().append(error)


class _RecordTooLong(Exception):
    pass


def _records(text: str, delimiter: str, errors: list[RowError]):
    """(row number, cells) for every record; records the csv module cannot read are reported.
    A record longer than MAX_RECORD_CHARS, a cell longer than MAX_CELL_CHARS or a row of more
    than MAX_COLUMNS cells (trailing empty ones aside) refuses the whole file: UploadError."""
    consumed = 0

    def lines():  # counts what the reader takes for the record it is reading
        nonlocal consumed
        for line in io.StringIO(text, newline=""):
            consumed += len(line)
            if consumed > MAX_RECORD_CHARS:
                raise _RecordTooLong
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    rowno = 0
    while True:
        consumed = 0
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RecordTooLong:
            raise UploadError(f"Row {rowno + 1} is longer than {MAX_RECORD_CHARS} characters; "
                              "this is not a contact list. Nothing was imported") from None
        except csv.Error as exc:
            rowno += 1
            errors.append(RowError(rowno, "", f"unreadable CSV: {exc}"))
            continue
        rowno += 1
        if len(cells) > MAX_COLUMNS:
            _check_columns(cells, rowno)
        if max(map(len, cells), default=0) > MAX_CELL_CHARS:
            raise UploadError(f"Row {rowno} has a value longer than {MAX_CELL_CHARS} "
                              "characters; this is not a contact list. Nothing was imported")
        yield rowno, cells


def _check_columns(cells: list[str], rowno: int) -> None:
    used = len(cells)
    while used and not cells[used - 1].strip():
        used -= 1
    if used > MAX_COLUMNS:
        raise UploadError(f"Row {rowno} has {used} columns; at most {MAX_COLUMNS} can be "
                          "imported. Delete the columns you do not need and upload the file "
                          "again. Nothing was imported")


ALIASES = {
    "phone": {"phone", "phonenumber", "phoneno", "number", "mobile", "mobilenumber", "cell",
              "cellphone", "telephone", "tel", "msisdn", "phone1", "telefon", "telefonnummer",
              "rufnummer", "handy", "nummer", "numero", "telephonenumber", "contactnumber"},
    "first_name": {"firstname", "first", "givenname", "fname", "forename", "vorname", "prenom"},
    "last_name": {"lastname", "last", "surname", "familyname", "lname", "nachname", "nom"},
    "email": {"email", "emailaddress", "mail", "emailadresse", "courriel"},
}
for _i, _name in enumerate(CUSTOM_FIELDS, start=1):
    ALIASES[_name] = {f"custom{_i}", f"customvalue{_i}", f"customfield{_i}", f"cv{_i}",
                      f"custom{_i}value"}


def guess_mapping(headers: list[str], sample_rows: list[list[str]] = (),
                  country: str = "US") -> list[str]:
    """A target for each column from its header name; without a recognisable phone header,
    the first column whose sample values are phone numbers."""
    guesses: list[str] = []
    taken: set[str] = set()
    for header in headers:
        key = re.sub(r"[^a-z0-9]", "", (header or "").lower())
        target = next((t for t, names in ALIASES.items() if key in names and t not in taken),
                      "ignore")
        if target == "ignore" and key == "name" and "first_name" not in taken:
            target = "first_name"
        if target != "ignore":
            taken.add(target)
        guesses.append(target)
    if "phone" not in taken and sample_rows:
        normalizer = PhoneNormalizer(country)
        for i in range(len(headers)):
            if guesses[i] != "ignore":
                continue
            values = [r[i] for r in sample_rows if i < len(r) and r[i].strip()]
            if values and sum(_is_phone(normalizer, v) for v in values) * 2 > len(values):
                guesses[i] = "phone"
                break
    return guesses


def _is_phone(normalizer: PhoneNormalizer, value: str) -> bool:
    try:
        normalizer(value)
    except InvalidPhone:
        return False
    return True


def validate_mapping(mapping: list[str], width: int) -> list[str]:
    """`mapping` must give each of the file's columns a target, the phone exactly once and
    any other field at most once."""
    if width > MAX_COLUMNS:
        raise UploadError(f"The file has {width} columns; at most {MAX_COLUMNS} can be "
                          "imported")
    if len(mapping) != width:
        raise UploadError(f"Choose a field for each of the {width} columns")
    bad = [m for m in mapping if m not in TARGETS]
    if bad:
        raise UploadError(f"Unknown field '{bad[0]}'")
    if "phone" not in mapping:
        raise UploadError("Map one column to the phone number; nothing was imported")
    used = [m for m in mapping if m != "ignore"]
    twice = sorted({m for m in used if used.count(m) > 1})
    if twice:
        raise UploadError(f"Each field can take one column only; {', '.join(twice)} is chosen "
                          "more than once")
    return mapping


# -- uploads kept between the steps ---------------------------------------------------------

@dataclass
class Upload:
    """An uploaded CSV waiting for its column mapping, kept under the state dir."""
    token: str
    path: Path
    text: str
    delimiter: str
    first_row: list[str]
    preview: list[list[str]]  # the rows after the first one
    width: int
    has_header: bool  # our guess: the first row holds column names

    def headers(self) -> list[str]:
        if self.has_header:
            return ([h.strip() or f"Column {i + 1}" for i, h in enumerate(self.first_row)] + [
                f"Column {i + 1}" for i in range(len(self.first_row), self.width)])[:self.width]
        return [f"Column {i + 1}" for i in range(self.width)]

    def sample_rows(self) -> list[list[str]]:
        rows = self.preview if self.has_header else [self.first_row] + self.preview
        return rows[:PREVIEW_ROWS]


def _width(head: list[list[str]], has_header: bool) -> int:
    """The file's number of columns: the header's, else the most common row length, so one
    ragged row among the first ones does not widen the mapping."""
    if has_header:
        width = len(head[0])
    else:
        width = Counter(len(r) for r in head).most_common(1)[0][0]
    return min(width, MAX_COLUMNS)  # more are only empty trailing cells (see _records)


def _head(text: str, delimiter: str) -> list[list[str]]:
    """The first non-empty records (the header guess and the preview)."""
    head = []
    for _, cells in _records(text, delimiter, []):
        if any(c.strip() for c in cells):
            head.append(cells)
        if len(head) > PREVIEW_ROWS:
            break
    return head


def _upload_path(uploads_dir: Path, tenant_id: int, token: str) -> Path:
    if not TOKEN_RE.match(token or ""):
        raise UploadError("The uploaded file has expired; upload it again")
    return Path(uploads_dir) / f"t{int(tenant_id)}-{token}.csv"


def _parse_upload(token: str, path: Path, data: bytes, country: str) -> Upload:
    text = decode_csv(data)
    delimiter = sniff_delimiter(text)
    head = _head(text, delimiter)
    if not head:
        raise UploadError("The file has no rows to import")
    normalizer = PhoneNormalizer(country)
    has_header = not any(_is_phone(normalizer, c) for c in head[0] if c.strip())
    width = _width(head, has_header)
    return Upload(token, path, text, delimiter, head[0], head[1:], width, has_header)


def store_upload(uploads_dir: Path, tenant_id: int, data: bytes, country: str = "US",
                 max_bytes: int | None = None) -> Upload:
    """Step 1: check the file is CSV text and keep it for the mapping step under a random
    name bound to the tenant. Raises UploadError with the reason it is refused."""
    max_bytes = max_bytes or MAX_UPLOAD_BYTES
    if len(data) > max_bytes:
        raise UploadError(f"The file is larger than {max_bytes / (1024 * 1024):g} MB; "
                          "split it and import the parts")
    uploads_dir = Path(uploads_dir)
    uploads_dir.mkdir(parents=True, exist_ok=True)
    _clean_stale(uploads_dir)
    token = secrets.token_hex(16)
    path = _upload_path(uploads_dir, tenant_id, token)
    upload = _parse_upload(token, path, data, country)
    path.write_bytes(data)
    return upload


def open_upload(uploads_dir: Path, tenant_id: int, token: str, country: str = "US") -> Upload:
    """Step 2 and 3: the tenant's upload by token; another tenant's token is simply expired."""
    path = _upload_path(uploads_dir, tenant_id, token)
    try:
        data = path.read_bytes()
    except OSError:
        raise UploadError("The uploaded file has expired; upload it again") from None
    return _parse_upload(token, path, data, country)


def discard_upload(upload: Upload) -> None:
    upload.path.unlink(missing_ok=True)


def _clean_stale(uploads_dir: Path) -> None:
    cutoff = time.time() - UPLOAD_MAX_AGE
    for path in uploads_dir.glob("t*-*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


# -- import ---------------------------------------------------------------------------------

@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    errors: RowErrors = field(default_factory=RowErrors)  # .total: all invalid rows
    fatal: str = ""  # the file as a whole was refused; nothing imported
    dnc: int = 0  # imported numbers that are on a DNC list (kept, never dialed)
    rows: int = 0  # data rows read


def _batch_size(columns: int) -> int:
    """Rows per INSERT within the database's bound-variable limit."""
    if isinstance(database.obj, SqliteDatabase):
        limit = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    else:
        limit = 32767
    return max(1, min(2000, limit // columns))


def _insert(fields: list, rows: list[tuple]) -> None:
    """Insert contact rows (already converted values) inside the caller's transaction.

    On SQLite one prepared INSERT runs through executemany: peewee's insert_many spends most
    of an import building SQL text value by value. Other databases get insert_many chunks."""
    if isinstance(database.obj, SqliteDatabase):
        columns = ", ".join(f'"{f.column_name}"' for f in fields)
        marks = ", ".join("?" for _ in fields)
        database.cursor().executemany(
            f'INSERT INTO "{Contact._meta.table_name}" ({columns}) VALUES ({marks})', rows)
        return
    size = _batch_size(len(fields))
    for start in range(0, len(rows), size):
        Contact.insert_many(rows[start:start + size], fields=fields).execute()


def import_rows(group: ContactGroup, country: str, text: str, delimiter: str,
                mapping: list[str], has_header: bool, *, actor=None, ip: str = "",
                source: str = "") -> ImportResult:
    """Step 3: import the rows of `text` into `group` with `mapping` (a target per column).

    Rows with a bad phone or e-mail, or with more fields than the file has columns, are
    reported (row number, value, reason) and skipped; short rows are padded. Numbers already
    in the group or repeated in the file are counted as duplicates. The quota is checked
    before anything is written, and every valid row is inserted in one transaction.
    """
    result = ImportResult()
    width = len(mapping)
    try:
        validate_mapping(mapping, width)
    except UploadError as exc:
        result.fatal = str(exc)
        return result
    columns = [(i, t) for i, t in enumerate(mapping) if t != "ignore"]
    phone_at = mapping.index("phone")
    email_at = mapping.index("email") if "email" in mapping else None
    # Every column gets a value (the schema has no defaults; peewee adds them in Python).
    where = {t: i for i, t in columns}
    names = list(FIELDS)
    other_idx = [where.get(name) for name in FIELDS[1:]]

    existing = {p for (p,) in Contact.select(Contact.phone)
                .where(Contact.group == group.id).tuples()}
    normalize = PhoneNormalizer(country)
    errors = result.errors
    out: list[tuple] = []
    tid, gid = group.tenant_id, group.id
    try:  # a file refused as a whole (see _records) imports nothing
        first = True
        for rowno, cells in _records(text, delimiter, errors):
            if first:
                first = False
                if has_header:
                    continue
            n = len(cells)
            if n != width:
                if n > width:
                    if any(c.strip() for c in cells[width:]):
                        errors.append(RowError(rowno, delimiter.join(cells)[:80],
                                               f"the row has {n} fields, the file has {width} "
                                               "columns (a value with an unquoted separator?)"))
                        continue
                    cells = cells[:width]
                elif not any(c.strip() for c in cells):
                    continue
                else:
                    cells = cells + [""] * (width - n)
            elif not any(cells):
                continue
            result.rows += 1
            raw = cells[phone_at]
            try:
                phone = normalize(raw)
            except InvalidPhone as exc:
                errors.append(RowError(rowno, raw.strip()[:80], str(exc)))
                continue
            if phone in existing:
                result.duplicates += 1
                continue
            values = [cells[i].strip() if i is not None else "" for i in other_idx]
            if email_at is not None and (email := cells[email_at].strip()):
                try:
                    values[FIELDS[1:].index("email")] = email_address.normalize(email)
                except email_address.InvalidEmail:
                    errors.append(RowError(rowno, email[:80], "not an e-mail address"))
                    continue
            if any(len(v) > MAX_VALUE for v in values):
                long = next(v for v in values if len(v) > MAX_VALUE)
                errors.append(RowError(rowno, long[:80], f"longer than {MAX_VALUE} characters"))
                continue
            existing.add(phone)
            out.append((tid, gid, phone, *values))
    except UploadError as exc:
        result.fatal = str(exc)
        return result
    if not out:
        return result
    try:
        check_quota(group.tenant, len(out))
    except QuotaError as exc:
        result.fatal = f"{exc}; nothing was imported"
        return result
    fields = [Contact.tenant, Contact.group] + [getattr(Contact, n) for n in names]
    try:
        with database.atomic():
            _insert(fields, out)
            audit.record("contacts.import", tenant_id=tid, user=actor,
                         object_type="contact_group", object_id=gid, ip=ip,
                         detail=(f"{len(out)} imported, {result.duplicates} duplicates, "
                                 f"{errors.total} invalid rows"
                                 f"{' from ' + source if source else ''}"))
    except IntegrityError:  # another import into the group committed meanwhile
        result.fatal = ("The group changed while importing (another import?); nothing was "
                        "imported, please try again")
        return result
    result.imported = len(out)
    result.dnc = dnc_count(group) if result.imported else 0
    return result


def import_upload(group: ContactGroup, country: str, upload: Upload, mapping: list[str],
                  has_header: bool, *, actor=None, ip: str = "") -> ImportResult:
    """Step 3 for a stored upload; the file is deleted once imported (or refused for good)."""
    result = import_rows(group, country, upload.text, upload.delimiter, mapping, has_header,
                         actor=actor, ip=ip, source="CSV upload")
    if not result.fatal:  # a refused mapping or quota keeps the file for another try
        discard_upload(upload)
    return result


def import_csv(group: ContactGroup, country: str, data: bytes | str,
               mapping: list[str] | None = None, has_header: bool | None = None, *,
               actor=None, ip: str = "") -> ImportResult:
    """One-shot import (for the API and scripts): decode, sniff, map by header names unless
    `mapping` is given, import."""
    result = ImportResult()
    try:
        text = decode_csv(data) if isinstance(data, bytes) else data
    except UploadError as exc:
        result.fatal = str(exc)
        return result
    delimiter = sniff_delimiter(text)
    try:
        head = _head(text, delimiter)
    except UploadError as exc:
        result.fatal = str(exc)
        return result
    if not head:
        result.fatal = "The file has no rows to import"
        return result
    if has_header is None:
        normalizer = PhoneNormalizer(country)
        has_header = not any(_is_phone(normalizer, c) for c in head[0] if c.strip())
    width = _width(head, has_header)
    if mapping is None:
        headers = head[0] + [""] * (width - len(head[0])) if has_header else [""] * width
        mapping = guess_mapping(headers, head[1:] if has_header else head, country)
    elif len(mapping) < width:
        mapping = list(mapping) + ["ignore"] * (width - len(mapping))
    return import_rows(group, country, text, delimiter, mapping, has_header, actor=actor, ip=ip)
