"""CSV import of a plan's rates: columns prefix, description, per_minute, connection_fee,
initial, increment (a header row names them in any order; without one, that order).

Every row is checked first; a file with errors changes nothing unless the admin chose to
skip the bad rows. "replace" swaps the plan's whole rate table, "merge" adds new prefixes and
updates existing ones. One transaction, one version bump, one audit row."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from models import database
from models.entities import Rate as RateRow
from voxcast import csv_export
from voxcast.audit import records as audit
from voxcast.billing import plans

COLUMNS = ("prefix", "description", "per_minute", "connection_fee", "initial", "increment")
ALIASES = {"rate": "per_minute", "per minute": "per_minute", "perminute": "per_minute",
           "price": "per_minute", "connection fee": "connection_fee", "setup": "connection_fee",
           "initial_s": "initial", "increment_s": "increment", "destination": "description",
           "name": "description"}
MAX_ROWS = 500000
CHUNK = 500


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class Parsed:
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1", "replace")


def _header(cells: list[str]) -> list[str] | None:
    names = [ALIASES.get(c.strip().lower(), c.strip().lower()) for c in cells]
    return names if "prefix" in names else None


def parse(data: bytes) -> Parsed:
    """Check every row; `rows` holds the good ones, `errors` one entry per bad line."""
    text = _decode(data)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    out = Parsed()
    columns: list[str] = list(COLUMNS)
    seen: dict[str, int] = {}
    for index, cells in enumerate(reader):
        line = index + 1
        if not any(c.strip() for c in cells):
            continue
        if index == 0:
            header = _header(cells)
            if header:
                missing = [c for c in ("prefix", "per_minute") if c not in header]
                if missing:
                    out.errors.append(RowError(line, "The header lacks the column(s) "
                                                     + ", ".join(missing) + "."))
                    return out
                columns = header
                continue
        if len(out.rows) + len(out.errors) >= MAX_ROWS:
            out.errors.append(RowError(line, f"More than {MAX_ROWS} rows; split the file."))
            break
        if len(cells) < 2 and columns == list(COLUMNS):
            out.errors.append(RowError(line, "Expected at least a prefix and a rate."))
            continue
        record = dict(zip(columns, (c.strip() for c in cells)))
        values, errors = plans.check_rate(plans.RateInput(
            prefix=record.get("prefix", ""),
            description=csv_export.uncell(record.get("description", "")),  # our export, back
            per_minute=record.get("per_minute", ""),
            connection_fee=record.get("connection_fee") or "0",
            initial_s=record.get("initial") or 60, increment_s=record.get("increment") or 60))
        if not errors and values["prefix"] in seen:
            errors["prefix"] = (f"prefix {values['prefix']} again (first on line "
                                f"{seen[values['prefix']]})")
        if errors:
            out.errors.append(RowError(line, "; ".join(f"{k}: {v}" if k else v
                                                       for k, v in errors.items())))
            continue
        seen[values["prefix"]] = line
        out.rows.append(values)
    if not out.rows and not out.errors:
        out.errors.append(RowError(0, "The file holds no rates."))
    return out


def apply(plan, parsed: Parsed, *, mode: str = "merge", skip_bad: bool = False, actor=None,
          ip: str = "", filename: str = "") -> int:
    """Write the parsed rates to the plan; the number of rates written. Refuses (changing
    nothing) when the file had errors and `skip_bad` is false."""
    if mode not in ("merge", "replace"):
        raise plans.PlanError({"mode": "Choose merge or replace."})
    if parsed.errors and not skip_bad:
        raise plans.PlanError(f"{len(parsed.errors)} row(s) have errors; nothing was "
                              "imported. Correct the file, or choose to skip the bad rows.")
    if not parsed.rows:
        raise plans.PlanError("No valid rate in the file; nothing was imported.")
    with database.atomic():
        if mode == "replace":
            removed = RateRow.delete().where(RateRow.plan == plan.id).execute()
        else:
            removed = 0
            prefixes = [r["prefix"] for r in parsed.rows]
            for start in range(0, len(prefixes), CHUNK):
                RateRow.delete().where(RateRow.plan == plan.id,
                                       RateRow.prefix.in_(prefixes[start:start + CHUNK])
                                       ).execute()
        for start in range(0, len(parsed.rows), CHUNK):
            RateRow.insert_many([dict(r, plan=plan.id)
                                 for r in parsed.rows[start:start + CHUNK]]).execute()
        plans.bump_version(plan.id)
        audit.record("rate.import", tenant_id=None, user=actor, object_type="rateplan",
                     object_id=plan.id,
                     detail=f"plan={plan.name} file={filename} mode={mode} "
                            f"rates={len(parsed.rows)} skipped={len(parsed.errors)} "
                            f"replaced={removed}", ip=ip)
    return len(parsed.rows)


def export(plan) -> str:
    """The plan's rates as CSV in the import format, so a file can round-trip."""
    buf = io.StringIO()
    writer = csv_export.writer(buf)  # descriptions come from carriers' files: formula-safe
    writer.writerow(COLUMNS)
    for r in RateRow.select().where(RateRow.plan == plan.id).order_by(RateRow.prefix):
        writer.writerow([r.prefix, r.description, f"{r.per_minute:f}", f"{r.connection_fee:f}",
                         r.initial_s, r.increment_s])
    return buf.getvalue()
