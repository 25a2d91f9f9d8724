"""The CDR reports in Debian's Chromium against `voxcast web`: from the Reports menu the
tenant's admin opens the CDR summary for two days in their own time zone, and Chart.js (our
vendored copy) draws answered and unanswered calls on the canvases without tripping the
strict CSP; then the call records are filtered by number and disposition in the browser and
the filtered CSV is downloaded."""
from __future__ import annotations

import csv
import datetime as dt
import io

from models import Call, Campaign, Tenant, User

from .conftest import MASTER_PASSWORD

ZONE = "America/New_York"
# green and red of static/cdr_summary.js
ANSWERED_RGB, UNANSWERED_RGB = (0x2e, 0x8b, 0x57), (0xd9, 0x53, 0x4f)

COUNT_PIXELS = """([id, rgb]) => {
  const c = document.getElementById(id);
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let drawn = 0, matching = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) drawn++;
    if (Math.abs(d[i] - rgb[0]) < 8 && Math.abs(d[i + 1] - rgb[1]) < 8
        && Math.abs(d[i + 2] - rgb[2]) < 8 && d[i + 3] > 200) matching++;
  }
  return {drawn, matching, width: c.width, height: c.height};
}"""


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def _calls(master: Tenant) -> list[Call]:
    spring = Campaign.create(tenant=master, name="Browser spring", type="voice_message")
    made = []
    # 2026-11-10 local (New York: UTC-5): 3 answered, 1 busy; 2026-11-11: 1 answered, 2 no answer
    for n, (utc, disposition) in enumerate((
            ((2026, 11, 10, 14), "ANSWERED"), ((2026, 11, 10, 15), "ANSWERED"),
            ((2026, 11, 11, 4, 59), "ANSWERED"),  # 23:59 local on the 10th
            ((2026, 11, 10, 16), "BUSY"), ((2026, 11, 11, 5, 1), "ANSWERED"),
            ((2026, 11, 11, 15), "NO ANSWER"), ((2026, 11, 11, 16), "NO ANSWER"))):
        made.append(Call.create(tenant=master, campaign=spring, channel_id=f"cdr-browser-{n}",
                                number=f"+1202555017{n}", started_at=dt.datetime(*utc),
                                disposition=disposition, duration=30,
                                billsec=20 if disposition == "ANSWERED" else 0))
    return made


def test_given_calls_on_two_local_days_when_the_admin_opens_the_cdr_summary_then_the_chart_is_drawn_and_the_call_records_filter(  # noqa: E501
        page, web, db):
    master = Tenant.get(Tenant.slug == "master")
    user = User.get(User.username == "master")
    old_zone = user.timezone
    User.update(timezone=ZONE).where(User.id == user.id).execute()
    calls = _calls(master)
    csp: list[str] = []
    # CSP violations and script errors; not the COOP notice Chromium prints for plain http
    page.on("console", lambda m: csp.append(m.text)
            if "Content Security Policy" in m.text
            or (m.type == "error" and "Cross-Origin-Opener-Policy" not in m.text) else None)
    page.on("pageerror", lambda exc: csp.append(f"page error: {exc}"))
    try:
        page.goto(f"{web.url}/login")
        page.fill("input[name=username]", "master")
        page.fill("input[name=password]", MASTER_PASSWORD)
        _submit(page, "form:has(input[name=password])")

        # the nav's Reports -> the menu -> the CDR summary
        page.locator("nav a", has_text="Reports").first.click()
        page.wait_for_load_state("networkidle")
        page.locator("#report-menu a", has_text="CDR summary").click()
        page.wait_for_load_state("networkidle")
        page.fill("#report-period input[name=start]", "2026-11-10")
        page.fill("#report-period input[name=end]", "2026-11-11")
        _submit(page, "#report-period")
        page.wait_for_selector("#cdr-summary-charts[data-drawn='1']", state="attached")
        assert ZONE in page.locator("#report-period").inner_text()
        assert page.locator("#summary-totals [data-total=calls]").inner_text() == "7"
        assert page.locator("#summary-totals [data-total=answered]").inner_text() == "4"
        day10 = page.locator("#summary-days tr[data-day='2026-11-10'] td").all_inner_texts()
        assert day10[1:4] == ["4", "3", "1"]  # the 23:59 local call is on the 10th

        for canvas in ("chart-days", "chart-campaigns"):
            green = page.evaluate(COUNT_PIXELS, [canvas, list(ANSWERED_RGB)])
            red = page.evaluate(COUNT_PIXELS, [canvas, list(UNANSWERED_RGB)])
            assert green["width"] > 100 and green["height"] > 100, green
            assert green["drawn"] > 1000, green    # axes, labels, bars
            assert green["matching"] > 200, green  # answered bars
            assert red["matching"] > 100, red      # unanswered bars
        assert not csp, csp

        # the call records: back through the menu, filtered in the browser
        page.goto(f"{web.url}/reports/")
        page.locator("#report-menu a", has_text="Call records").click()
        page.wait_for_load_state("networkidle")
        page.fill("#cdr-filters input[name=start]", "2026-11-10")
        page.fill("#cdr-filters input[name=end]", "2026-11-11")
        page.select_option("#cdr-filters select[name=campaign]",
                           label="Browser spring")
        _submit(page, "#cdr-filters")
        assert page.locator("#cdr-list tbody tr").count() == 7
        page.select_option("#cdr-filters select[name=disposition]", "NO ANSWER")
        _submit(page, "#cdr-filters")
        rows = page.locator("#cdr-list tbody tr")
        assert rows.count() == 2
        assert set(rows.locator("td.disposition").all_inner_texts()) == {"NO ANSWER"}
        page.select_option("#cdr-filters select[name=disposition]", "")
        page.fill("#cdr-filters input[name=number]", "5550172")
        _submit(page, "#cdr-filters")
        assert page.locator("#cdr-list tbody tr").count() == 1
        # the 23:59 local call, shown in the viewer's zone
        assert "2026-11-10 23:59:00" in page.locator("#cdr-list tbody tr").inner_text()
        with page.expect_download() as info:
            page.locator("#cdrs-csv").click()
        text = open(info.value.path(), encoding="utf-8").read()
        lines = list(csv.reader(io.StringIO(text)))
        assert lines[0][1] == f"started_at ({ZONE})"
        assert [r[5] for r in lines[1:]] == ["+12025550172"]
        # the call's own page, from the list
        page.locator("#cdr-list tbody tr a", has_text="Details").click()
        page.wait_for_load_state("networkidle")
        assert "+12025550172" in page.locator("#cdr-facts").inner_text()
        assert not csp, csp
    finally:
        User.update(timezone=old_zone).where(User.id == user.id).execute()
        Call.delete().where(Call.id.in_([c.id for c in calls])).execute()
