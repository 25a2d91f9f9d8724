"""CSV downloads write times in the viewer's zone with the zone in the column header (issue 17
item 6): the tenant log, the charges (tenant and provider) and the survey answers, the
viewer's own zone before the tenant's; the API's times stay ISO UTC. (The CDR and message
exports did so already: test_cdr_report / test_message_records.)"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

from models import Campaign, Contact, Extension, Tenant, TenantLog, User
from models.entities import LedgerEntry, SurveyAnswer
from voxcast import csv_export

from .api_support import Api, master_api  # noqa: F401
from .conftest import ADMIN_PASSWORD

AT = dt.datetime(2026, 12, 3, 12, 0, 0)  # stored naive UTC
BERLIN = "2026-12-03 13:00:00"  # UTC+1 in winter
NEW_YORK = "2026-12-03 07:00:00"  # UTC-5


def _rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


def _master(zone: str) -> Tenant:
    Tenant.update(timezone=zone).where(Tenant.slug == "master").execute()
    return Tenant.get(Tenant.slug == "master")


def test_local_time_and_header():
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("Europe/Berlin")
    assert csv_export.time_header("time", zone) == "time (Europe/Berlin)"
    assert csv_export.time_header("time", None) == "time_utc"
    assert csv_export.local_time(AT, zone) == BERLIN
    assert csv_export.local_time(AT, None) == "2026-12-03 12:00:00"
    assert csv_export.local_time(None, zone) == ""


def test_tenant_log_csv_in_the_tenant_zone_then_the_users_own(auth, app):
    master = _master("Europe/Berlin")
    TenantLog.create(tenant=master.id, username="ok", action="x.zone", created_at=AT)
    auth.login()
    rows = _rows(auth.client.get("/log?format=csv").get_data(as_text=True))
    assert rows[0][0] == "time (Europe/Berlin)"
    assert [r[0] for r in rows[1:] if r[3] == "x.zone"] == [BERLIN]
    User.update(timezone="America/New_York").where(User.username == "master").execute()
    rows = _rows(auth.client.get("/log?format=csv").get_data(as_text=True))
    assert rows[0][0] == "time (America/New_York)"
    assert [r[0] for r in rows[1:] if r[3] == "x.zone"] == [NEW_YORK]


def test_charges_csv_in_the_viewers_zone(auth, app):
    master = _master("Europe/Berlin")
    LedgerEntry.create(tenant=master, kind="adjustment", amount=Decimal("-1.5"),
                       balance_after=Decimal("8.5"), free_money=Decimal("0"), created_at=AT,
                       reference="zone check")
    auth.login()
    rows = _rows(auth.client.get("/billing/charges.csv?start=2026-12-01&end=2026-12-31")
                 .get_data(as_text=True))
    assert rows[0][:2] == ["date (Europe/Berlin)", "tenant"]
    assert [r[0] for r in rows[1:] if r[-1] == "zone check"] == [BERLIN]
    auth.logout()
    auth.login("admin", ADMIN_PASSWORD)  # the provider's admin: no zone of its own, UTC
    rows = _rows(auth.client.get(f"/admin/billing/charges.csv?tenant={master.id}"
                                 "&start=2026-12-01&end=2026-12-31").get_data(as_text=True))
    assert rows[0][0] == "date (UTC)"
    assert [r[0] for r in rows[1:] if r[-1] == "zone check"] == ["2026-12-03 12:00:00"]


def test_charges_csv_range_is_the_viewers_local_days(auth, app):
    """00:30 on 1 December in Berlin is 23:30 UTC on 30 November: in Berlin's December, not in
    its November (the range is read in the zone the file's times are written in)."""
    master = _master("Europe/Berlin")
    LedgerEntry.create(tenant=master, kind="adjustment", amount=Decimal("-1"),
                       balance_after=Decimal("9"), free_money=Decimal("0"),
                       created_at=dt.datetime(2026, 11, 30, 23, 30), reference="midnight")
    auth.login()

    def refs(query: str) -> list[str]:
        body = auth.client.get(f"/billing/charges.csv?{query}").get_data(as_text=True)
        return [r[-1] for r in _rows(body)[1:]]
    assert "midnight" in refs("start=2026-12-01&end=2026-12-01")
    assert "midnight" not in refs("start=2026-11-01&end=2026-11-30")


def test_survey_csv_in_the_viewers_zone(auth, app, make_group):
    master = _master("Europe/Berlin")
    group = make_group(master, phones=["+4930123456"])
    campaign = Campaign.create(tenant=master, name="S", type="voice_survey", group=group,
                               flow=json.dumps({"questions": [{"key": "q1", "text": "Q",
                                                               "digits": "12"}]}))
    contact = Contact.get(Contact.group == group)
    SurveyAnswer.create(tenant=master, campaign=campaign, contact=contact, question="q1",
                        digit="1", created_at=AT)
    auth.login()
    rows = _rows(auth.client.get(f"/campaigns/{campaign.id}/survey.csv").get_data(as_text=True))
    assert rows[0][-1] == "answered_at (Europe/Berlin)" and rows[1][-1] == BERLIN


def test_the_api_keeps_iso_utc(master_api):
    master = _master("Europe/Berlin")
    ext = Extension.create(number="7001", secret="s", tenant=master, created_at=AT)
    r = master_api.get(f"/api/v1/extensions/{ext.id}")
    assert r.status_code == 200 and r.get_json()["created_at"] == "2026-12-03T12:00:00Z"
