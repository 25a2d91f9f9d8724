"""The report builder in Debian's Chromium: a supervisor chooses a grouping and fields in the
form, previews the first rows (nothing saved yet), saves the report under a name, finds it in
the saved list, opens it and downloads its CSV. No Asterisk is needed: the CDRs the Stasis app
would write are written here; the pages are the real ones, served by the real web process,
under its strict CSP (a violation fails the test)."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from voxcast.accounts.passwords import hash_password

from models import Call, Tenant, User
from models.entities import Campaign, SavedReport

PASSWORD = "Builder-Pass-1"


def test_given_a_supervisor_when_building_a_report_then_preview_save_and_export_work(page, web):
    tenant = Tenant.create(name="RB Co", slug="rbco", timezone="America/New_York")
    User.create(tenant=tenant, username="rb-boss", role="supervisor",
                password_hash=hash_password(PASSWORD))
    spring = Campaign.create(tenant=tenant, name="Spring")
    # 2026-11-30 in New York: 05:00 UTC 11-30 .. 05:00 UTC 12-01
    for hour, disposition, billsec in ((5, "ANSWERED", 30), (12, "ANSWERED", 45),
                                       (23, "BUSY", 0), (4, "NO ANSWER", 0)):
        Call.create(tenant=tenant, campaign=spring, channel_id=f"rb-{hour}",
                    number="+12025550101", disposition=disposition, billsec=billsec,
                    started_at=dt.datetime(2026, 11, 30, hour))  # 04:00 UTC: the day before
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: violations.append(str(exc)))

    base = web.tenant_url("rbco")
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "rb-boss")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")

    page.goto(f"{base}/reports/builder")
    page.fill("input[name=start]", "2026-11-30")
    page.fill("input[name=end]", "2026-11-30")
    page.check("#b-group input[value=disposition]")
    for field in ("disposition", "count", "sum:billsec"):
        page.check(f"#b-fields input[value='{field}']")
    page.select_option("select[name=sort]", "count")
    page.check("input[name=desc]")
    page.click("#b-preview")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#report-result tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("ANSWERED")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("2")
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("0:01:15")
    expect(rows.nth(1)).to_contain_text("BUSY")
    assert "America/New_York" in page.content()
    assert SavedReport.select().where(SavedReport.tenant == tenant.id).count() == 0

    with page.expect_download() as unsaved:
        page.click("#b-export")
    assert open(unsaved.value.path()).read().splitlines()[1] == "ANSWERED,2,75"

    page.fill("#builder-save input[name=name]", "Dispositions today")
    page.click("#b-save")
    page.wait_for_load_state("networkidle")
    row = SavedReport.get(SavedReport.tenant == tenant.id)
    assert row.name == "Dispositions today" and page.url.endswith(f"/reports/saved/{row.id}")

    page.goto(f"{base}/reports/saved/")
    page.click("#saved-reports >> text=Dispositions today")
    page.wait_for_load_state("networkidle")
    page.fill("input[name=start]", "2026-11-30")
    page.fill("input[name=end]", "2026-11-30")
    page.locator("#report-range button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#report-result tbody tr")).to_have_count(2)
    with page.expect_download() as download:
        page.click("#saved-export")
    assert download.value.suggested_filename == (  # the days are New York's: it says so
        f"report-{row.id}-2026-11-30-2026-11-30-America-New_York.csv")
    assert open(download.value.path()).read().splitlines() == [
        "Disposition,Count,Sum of talk time", "ANSWERED,2,75", "BUSY,1,0"]
    assert violations == []
