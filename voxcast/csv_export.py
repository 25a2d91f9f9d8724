"""Every CSV we hand out is written through `writer()`, so no cell can run as a spreadsheet
formula (CSV injection, OWASP): a text cell starting with = + - @ tab or CR gets a leading
single quote, which spreadsheets show as text. A plain number is left alone, so an E.164
phone number "+4930123456" or an amount "-0.0100" stays as it is: a spreadsheet reads it as a
number and runs nothing (quoting it would corrupt phone numbers for everybody).
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def cell(value):
    """The value as it may go into a CSV cell; non-text values (ints, None) unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START) and not NUMBER.match(value):
        return "'" + value
    return value


def uncell(value: str) -> str:
    """The text `cell` quoted, back: for files we exported that come back as imports."""
    if value.startswith("'") and cell(value[1:]) == value:
        return value[1:]
    return value


class SafeWriter:
    """csv.writer whose rows pass through `cell` (header rows too: they are ours, harmless)."""

    def __init__(self, buf, **fmt):
        self._writer = csv.writer(buf, **fmt)

    def writerow(self, row):
        return self._writer.writerow([cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(buf, **fmt) -> SafeWriter:
    return SafeWriter(buf, **fmt)


def time_header(name: str, zone: ZoneInfo | None) -> str:
    """A time column's header naming the zone its times are in: "time (Europe/Berlin)"; with
    no zone, "<name>_utc" as these files said before (a caller without a viewer)."""
    return f"{name} ({zone.key})" if zone is not None else f"{name}_utc"


def local_time(value: dt.datetime | None, zone: ZoneInfo | None) -> str:
    """A stored (naive UTC) time as the CSV writes it, in `zone` (UTC when None); "" for None."""
    if value is None:
        return ""
    shown = value.replace(tzinfo=dt.timezone.utc).astimezone(zone or UTC)
    return shown.strftime("%Y-%m-%d %H:%M:%S")
