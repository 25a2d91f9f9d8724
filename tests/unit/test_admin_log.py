"""The tenant log: the provider sees any or all tenants, a tenant admin its own at /log;
filters by action and dates, paged, and the same filters as CSV."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from models import Tenant, TenantLog
from voxcast.audit import records as audit

from .conftest import ADMIN_PASSWORD


@pytest.fixture
def logs(app, make_tenant):
    acme, _ = make_tenant("acme")
    master = Tenant.get(Tenant.slug == "master")
    old = dt.datetime(2024, 1, 10, 12, 0)
    for i in range(60):
        audit.record("contacts.import", tenant_id=master.id, detail=f"row {i}")
    audit.record("user.update", tenant_id=master.id, detail="=cmd|calc")
    row = audit.record("tenant.update", tenant_id=master.id, detail="January")
    TenantLog.update(created_at=old).where(TenantLog.id == row.id).execute()
    audit.record("tenant.update", tenant_id=acme.id, detail="acme secret")
    return {"master": master, "acme": acme}


def rows_of(resp):
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_tenant_sees_only_its_own_log_paged(auth, logs):
    auth.login()
    page1 = auth.client.get("/log").get_data(as_text=True)
    assert "acme secret" not in page1 and "Older" in page1
    page2 = auth.client.get("/log?page=2").get_data(as_text=True)
    assert "acme secret" not in page2
    resp = auth.client.get("/log?format=csv")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = rows_of(resp)
    assert len(rows) == 62 and all(r["tenant_id"] == str(logs["master"].id) for r in rows)
    assert any(r["detail"] == "'=cmd|calc" for r in rows)  # no spreadsheet formulas


def test_filters_apply_to_page_and_csv(auth, logs):
    auth.login()
    rows = rows_of(auth.client.get("/log?format=csv&action=tenant"))
    assert [r["detail"] for r in rows] == ["January"]
    rows = rows_of(auth.client.get("/log?format=csv&since=2024-01-10&until=2024-01-10"))
    assert [r["detail"] for r in rows] == ["January"]
    rows = rows_of(auth.client.get("/log?format=csv&action=user.update"))
    assert len(rows) == 1
    page = auth.client.get("/log?action=tenant&since=2024-01-01&until=2024-01-31")
    assert "January" in page.get_data(as_text=True)
    resp = auth.client.get("/log?since=yesterday")
    assert resp.status_code == 400 and "YYYY-MM-DD" in resp.get_data(as_text=True)


def test_other_roles_have_no_log(auth, make_tenant, logs):
    make_tenant("acme", role="user", username="plain")
    auth.login("plain", "pw-plain")
    assert auth.client.get("/log").status_code == 403


def test_admin_sees_all_or_one_tenant(auth, logs):
    auth.login("admin", ADMIN_PASSWORD)
    rows = rows_of(auth.client.get("/admin/log?format=csv"))
    details = {r["detail"] for r in rows}
    assert "acme secret" in details and "January" in details
    rows = rows_of(auth.client.get(f"/admin/log?format=csv&tenant={logs['acme'].id}"))
    assert [r["detail"] for r in rows] == ["acme secret"]
    page = auth.client.get(f"/admin/log?tenant={logs['acme'].id}").get_data(as_text=True)
    assert "acme secret" in page and "January" not in page
    assert auth.client.get("/admin/log?tenant=99999").status_code == 404
