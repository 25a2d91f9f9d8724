"""CSV downloads, built one way: every cell through voxcast.csv_export (no spreadsheet
formulas), a file name that says what the file is, and a large export streamed in batches so
neither the rows nor the text are ever all in memory."""
from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

from voxcast import csv_export
from voxcast.reports.period import ReportPeriod

BATCH = 200  # rows per streamed chunk


def report_filename(stem: str, period: ReportPeriod | None, zone: str) -> str:
    """<stem>[-<first day>-<last day>]-<zone>.csv: the days of a report are local to its
    zone, so the file says which (a slash is not allowed in a file name)."""
    days = f"-{period.start}-{period.end}" if period is not None else ""
    return f"{stem}{days}-{zone.replace('/', '-')}.csv"


def _chunks(rows: Iterable[Sequence]) -> Iterator[str]:
    buf = io.StringIO()
    out = csv_export.writer(buf)
    for n, row in enumerate(rows, 1):
        out.writerow(row)
        if n % BATCH == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def csv_response(content: str | Iterable[Sequence], filename: str) -> Response:
    """An attachment from CSV text already written (through csv_export), from rows (header
    first; a list is written at once), or from an iterator of rows, which is streamed: its
    rows are read one batch at a time while the response is sent."""
    if isinstance(content, str):
        body = content
    elif isinstance(content, Iterator):
        body = stream_with_context(_chunks(content))
    else:
        body = "".join(_chunks(content))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
