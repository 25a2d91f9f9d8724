"""webui/downloads.py: the one way a CSV download is built (text, rows or a streamed
iterator of rows; every cell through voxcast.csv_export; the report's zone in its name)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from webui.downloads import BATCH, csv_response, report_filename
from voxcast.reports.period import ReportPeriod


def test_rows_are_written_safely_and_an_iterator_is_streamed_in_batches(app):
    rows = [["name", "n"], ["=HYPERLINK(1)", 1], ["+4930123456", 2]]
    with app.test_request_context():
        whole = csv_response(rows, "x.csv")
        assert not whole.is_streamed
        assert whole.get_data(as_text=True).splitlines() == [
            "name,n", "'=HYPERLINK(1),1", "+4930123456,2"]
        assert whole.headers["Content-Disposition"] == 'attachment; filename="x.csv"'
        assert whole.mimetype == "text/csv"
        read = []

        def lazily():
            for i in range(BATCH * 2 + 1):
                read.append(i)
                yield [i]

        streamed = csv_response(lazily(), "y.csv")
        assert streamed.is_streamed and read == []  # nothing read before it is sent
        chunks = list(streamed.response)
        assert len(chunks) == 3 and "".join(chunks).splitlines() == [
            str(i) for i in range(BATCH * 2 + 1)]
        assert csv_response("a,b\r\n", "z.csv").get_data(as_text=True) == "a,b\r\n"


def test_a_reports_file_names_its_days_and_zone():
    period = ReportPeriod(dt.date(2026, 11, 1), dt.date(2026, 11, 30), ZoneInfo("Asia/Kolkata"))
    assert report_filename("agents", period, period.zone_name) == \
        "agents-2026-11-01-2026-11-30-Asia-Kolkata.csv"
    assert report_filename("cdrs", None, "UTC") == "cdrs-UTC.csv"
