"""DNC lists through the web UI: the tenant's /dnc/ and the provider's /admin/dnc/."""
from __future__ import annotations

import io

import pytest

from models import DncNumber, Tenant, TenantLog
from voxcast.contacts import dnc as dnc_service

from .conftest import ADMIN_PASSWORD


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def numbers(tenant_id):
    return sorted(n.phone for n in dnc_service.dnc_list(tenant_id))


def test_tenant_adds_uploads_searches_and_removes(auth, master):
    auth.login()
    resp = auth.post("/dnc/", {"action": "add", "phones": "(202) 555-0101, +1 202 555 0102"})
    assert resp.status_code == 302
    assert numbers(master.id) == ["+12025550101", "+12025550102"]
    resp = auth.post("/dnc/", {"action": "add", "phones": "12345"})
    assert resp.status_code == 400 and "not a valid phone number" in text(resp)

    csv_data = b"name;Telephone\nAnn;2025550103\nBob;nonsense\nCy;2025550101\n"
    resp = auth.post("/dnc/", {"action": "upload", "csv_file": (io.BytesIO(csv_data), "dnc.csv")},
                     content_type="multipart/form-data")
    page = text(resp)
    assert resp.status_code == 200
    assert "1 numbers added; 1 were on the list already; 1 invalid." in page
    assert '<td class="num">3</td><td>nonsense</td>' in page
    assert numbers(master.id) == ["+12025550101", "+12025550102", "+12025550103"]
    assert DncNumber.get(DncNumber.phone == "+12025550103").source == "upload"

    page = text(auth.client.get("/dnc/?q=0103"))
    assert "+12025550103" in page and "+12025550101" not in page

    resp = auth.post("/dnc/", {"action": "remove", "phones": ["+12025550101", "+12025550103"]})
    assert resp.status_code == 302
    assert numbers(master.id) == ["+12025550102"]
    actions = [r.action for r in TenantLog.select().where(TenantLog.tenant == master.id)
               .order_by(TenantLog.id)]
    assert actions == ["dnc.add", "dnc.add", "dnc.remove"]
    assert numbers(None) == []  # the provider's list is untouched


def test_binary_upload_is_refused(auth, master):
    auth.login()
    resp = auth.post("/dnc/", {"action": "upload",
                               "csv_file": (io.BytesIO(b"\x89PNG\x00\x00\x01"), "x.csv")},
                     content_type="multipart/form-data")
    assert resp.status_code == 400 and "not a CSV file" in text(resp)
    assert DncNumber.select().count() == 0


def test_tenants_see_only_their_own_list(auth, master, make_tenant):
    acme, _ = make_tenant("acme")
    dnc_service.add(acme.id, ["+12025550177"], "manual")
    dnc_service.add(None, ["+12025550188"], "manual")
    auth.login()
    page = text(auth.client.get("/dnc/"))
    assert "+12025550177" not in page and "+12025550188" not in page
    # Removing another tenant's (or the provider's) number from here does nothing.
    auth.post("/dnc/", {"action": "remove", "phones": ["+12025550177", "+12025550188"]})
    assert numbers(acme.id) == ["+12025550177"] and numbers(None) == ["+12025550188"]


def test_provider_list_is_for_the_provider_admin_only(auth, master):
    auth.login()
    assert auth.client.get("/admin/dnc/").status_code == 403
    resp = auth.post("/admin/dnc/", {"action": "add", "phones": "+12025550101",
                                     "country": "US"})
    assert resp.status_code == 403 and numbers(None) == []
    auth.logout()
    auth.login("admin", ADMIN_PASSWORD)
    assert auth.client.get("/dnc/").status_code == 403


def test_provider_adds_uploads_and_removes(auth, master):
    auth.login("admin", ADMIN_PASSWORD)
    resp = auth.post("/admin/dnc/", {"action": "add", "phones": "020 7946 0018",
                                     "country": "GB"})
    assert resp.status_code == 302
    assert numbers(None) == ["+442079460018"]
    resp = auth.post("/admin/dnc/", {"action": "upload", "country": "US",
                                     "csv_file": (io.BytesIO(b"2025550101\n2025550102\n"), "l.txt")},
                     content_type="multipart/form-data")
    assert "2 numbers added" in text(resp)
    assert numbers(None) == ["+12025550101", "+12025550102", "+442079460018"]
    assert numbers(master.id) == []
    auth.post("/admin/dnc/", {"action": "remove", "phones": ["+12025550101"]})
    assert numbers(None) == ["+12025550102", "+442079460018"]
    log = TenantLog.select().where(TenantLog.action == "dnc.remove").get()
    assert log.tenant_id is None and log.username == "admin"
    # The provider's numbers are blocked for every tenant.
    assert dnc_service.is_blocked(master.id, "+12025550102")
    assert not dnc_service.is_blocked(master.id, "+12025550101")


def test_contact_list_shows_dnc_state(auth, master, make_group):
    group = make_group(master, phones=["+12025550101", "+12025550102"])
    dnc_service.add(master.id, ["+12025550102"], "manual")
    auth.login()
    page = text(auth.client.get(f"/contacts/groups/{group.id}"))
    assert "<td>+12025550102 <span class=\"badge dnc\"" in page
    assert "<td>+12025550101</td>" in page
    assert "1 numbers of this group are on a do-not-call list" in page
