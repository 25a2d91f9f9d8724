"""SMSC connections admin page and the tenant's inbound SMS page with its opt-out words."""
from __future__ import annotations

import json

from models import Tenant, TenantLog
from models.entities import Message, SmscConnection, SystemStatus
from tests.unit.conftest import ADMIN_PASSWORD

FORM = {"name": "Carrier A", "host": "smpp.example.net", "port": "2775", "system_id": "acme",
        "password": "s3cret", "system_type": "", "source_addr": "ACME", "source_ton": "5",
        "source_npi": "0", "dest_ton": "1", "dest_npi": "1", "throughput": "50", "enabled": "y",
        "is_default": "y"}


def test_admin_creates_edits_and_disables_an_smsc_connection_and_sees_its_bind(client, auth, app):
    auth.login("admin", ADMIN_PASSWORD)
    r = auth.post("/admin/smsc/new", FORM)
    assert r.status_code == 302, r.get_data(as_text=True)
    row = SmscConnection.get(SmscConnection.name == "Carrier A")
    assert (row.password, row.throughput, row.is_default, row.source_ton) == ("s3cret", 50, True, 5)
    SystemStatus.create(key=f"smsc:{row.id}", value=json.dumps(
        {"state": "down", "error": "Connection refused", "since": "2026-12-02T13:00:00"}))
    page = client.get("/admin/smsc/").get_data(as_text=True)
    assert "Carrier A" in page and 'data-bind="down"' in page and "Connection refused" in page

    edited = {**FORM, "password": "", "throughput": "0"}
    assert auth.post(f"/admin/smsc/{row.id}/edit", edited).status_code == 302
    row = SmscConnection.get_by_id(row.id)
    assert row.password == "s3cret" and row.throughput == 0  # an empty password keeps it
    assert "s3cret" not in client.get(f"/admin/smsc/{row.id}/edit").get_data(as_text=True)

    assert auth.post(f"/admin/smsc/{row.id}/toggle").status_code == 302
    assert SmscConnection.get_by_id(row.id).enabled is False
    actions = [a for (a,) in TenantLog.select(TenantLog.action).where(
        TenantLog.object_type == "smsc").tuples()]
    assert actions == ["smsc.create", "smsc.update", "smsc.disable"]


def test_smsc_form_refuses_a_password_too_long_for_smpp(client, auth, app):
    auth.login("admin", ADMIN_PASSWORD)
    r = auth.post("/admin/smsc/new", {**FORM, "password": "123456789"})
    assert r.status_code == 200 and SmscConnection.select().count() == 0


def test_a_tenant_cannot_open_the_smsc_pages(client, auth, app, make_tenant):
    make_tenant("acme")
    auth.login("acme-tenant", "pw-acme-tenant")
    assert client.get("/admin/smsc/").status_code == 403
    assert client.get("/admin/smsc/new").status_code == 403


def test_inbound_sms_lists_only_the_tenants_own_and_saves_opt_out_words(client, auth, app,
                                                                          make_tenant):
    acme, _ = make_tenant("acme")
    other, _ = make_tenant("other")
    Message.create(tenant=acme, channel="sms", direction="inbound", address="+491701",
                   sender="+4930111", body="STOP", state="received")
    Message.create(tenant=other, channel="sms", direction="inbound", address="+491702",
                   sender="+4930222", body="secret of other", state="received")
    auth.login("acme-tenant", "pw-acme-tenant")
    page = client.get("/sms/inbound/").get_data(as_text=True)
    assert "+491701" in page and "opt-out" in page and "secret of other" not in page
    assert auth.post("/sms/inbound/opt-out-words",
                     {"words": "Stop, ENDE  quit"}).status_code == 302
    assert Tenant.get_by_id(acme.id).sms_opt_out_words == "Stop ENDE quit"


def test_only_the_tenant_admin_changes_opt_out_words(client, auth, app, make_tenant):
    acme, _ = make_tenant("acme", role="user")
    auth.login("acme-user", "pw-acme-user")
    assert client.get("/sms/inbound/").status_code == 200
    assert auth.post("/sms/inbound/opt-out-words", {"words": ""}).status_code == 403
    assert Tenant.get_by_id(acme.id).sms_opt_out_words.startswith("STOP")
