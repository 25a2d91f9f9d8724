"""CSV contact import speed: voxcast.contacts.services.import_csv against a plain csv.reader +
insert_many of the raw rows (no decoding checks, no phone validation, no dedupe).

Generates a realistic file (mixed phone formats, ~1 % invalid numbers, ~2 % duplicates,
names, e-mails, two custom values), imports it into a fresh SQLite database through the same
service the web UI and the API use, then loads the same rows the naive way into another fresh
database. Prints both rates and, last, `ratio: X.XX` = our rate / baseline rate.

    .venv/bin/python bench/contacts_import.py [--rows 100000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from models import Contact, ContactGroup, Tenant, database  # noqa: E402
from voxcast.contacts import services as contact_service  # noqa: E402

AREA_CODES = [201, 202, 206, 212, 213, 303, 305, 312, 404, 415, 503, 512, 617, 646, 702,
              713, 718, 773, 818, 917]
FIRST = ["Ann", "Bob", "Cy", "Dana", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jo", "José", "Zoë"]
LAST = ["Lee", "Ray", "Smith", "Müller", "García", "Nguyen", "O'Neil", "Kim", "Novak"]


def make_csv(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Phone", "First Name", "Last Name", "Email", "Account", "Score"])
    seen: list[str] = []
    for i in range(rows):
        roll = rng.random()
        if roll < 0.01:  # invalid: too short, letters, bad area code
            phone = rng.choice(["12345", "call me", "+1 111 555 0100", "555-01"])
        elif roll < 0.03 and seen:  # a duplicate, maybe in another format
            phone = rng.choice(seen)
        else:
            npa, nxx, line = rng.choice(AREA_CODES), rng.randint(200, 999), rng.randint(0, 9999)
            if nxx % 100 == 11:
                nxx += 1
            fmt = rng.randrange(6)
            phone = [f"+1{npa}{nxx}{line:04d}", f"({npa}) {nxx}-{line:04d}",
                     f"{npa}-{nxx}-{line:04d}", f"{npa}.{nxx}.{line:04d}",
                     f"1 {npa} {nxx} {line:04d}", f"{npa}{nxx}{line:04d}"][fmt]
            seen.append(phone)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        w.writerow([phone, first, last, f"{first.lower()}.{i}@example.com", f"A-{i:06d}",
                    rng.randint(0, 100)])
    return out.getvalue().encode("utf-8")


def fresh_db(path: Path) -> ContactGroup:
    models.init_database(f"sqlite:///{path}")
    models.create_schema()
    tenant = Tenant.create(name="Bench", slug="bench", max_contacts=10_000_000)
    return ContactGroup.create(tenant=tenant, name="Bench")


def ours(data: bytes, workdir: Path) -> tuple[float, contact_service.ImportResult]:
    group = fresh_db(workdir / "ours.sqlite3")
    t0 = time.perf_counter()
    result = contact_service.import_csv(group, "US", data)
    elapsed = time.perf_counter() - t0
    assert not result.fatal, result.fatal
    assert Contact.select().count() == result.imported
    database.close()
    return elapsed, result


def baseline(data: bytes, workdir: Path) -> tuple[float, int]:
    group = fresh_db(workdir / "baseline.sqlite3")
    t0 = time.perf_counter()
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    next(reader)
    rows = [(group.tenant_id, group.id, r[0], r[1], r[2], r[3], r[4], r[5]) for r in reader]
    fields = [Contact.tenant, Contact.group, Contact.phone, Contact.first_name,
              Contact.last_name, Contact.email, Contact.custom1, Contact.custom2]
    size = contact_service._batch_size(len(fields))
    with database.atomic():
        for start in range(0, len(rows), size):
            Contact.insert_many(rows[start:start + size], fields=fields).on_conflict_ignore().execute()
    elapsed = time.perf_counter() - t0
    n = Contact.select().count()
    database.close()
    return elapsed, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--keep", help="directory for the CSV and databases (default: temporary)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vx-bench-") as tmp:
        workdir = Path(args.keep or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        data = make_csv(args.rows)
        (workdir / "contacts.csv").write_bytes(data)
        print(f"file: {args.rows} rows, {len(data) / 1e6:.1f} MB")
        t_ours, result = ours(data, workdir)
        print(f"voxcast import: {t_ours:.2f} s, {args.rows / t_ours:,.0f} rows/s "
              f"(imported {result.imported}, duplicates {result.duplicates}, "
              f"invalid {result.errors.total})")
        t_base, n = baseline(data, workdir)
        print(f"baseline csv.reader + insert_many: {t_base:.2f} s, "
              f"{args.rows / t_base:,.0f} rows/s (inserted {n})")
        print(f"ratio: {t_base / t_ours:.2f}")


if __name__ == "__main__":
    main()
