"""CSV import through the web UI: upload, column mapping, import and its report."""
from __future__ import annotations

import io
import re

import pytest

from models import Contact, ContactGroup, Tenant, TenantLog

from .conftest import MASTER_PASSWORD


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def upload(auth, group, data: bytes, name="list.csv"):
    return auth.post(f"/contacts/groups/{group.id}/import",
                     {"csv_file": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")


def selected(page: str) -> list[str]:
    """The option chosen in each column's select, in order."""
    selects = re.findall(r'<select name="col_(\d+)".*?</select>', page, re.S)
    chosen = []
    for block in re.findall(r'<select name="col_\d+".*?</select>', page, re.S):
        m = re.search(r'<option value="([\w]+)" selected>', block)
        chosen.append(m.group(1) if m else "")
    assert len(chosen) == len(selects)
    return chosen


def uploads(settings):
    d = settings.state_dir / "uploads"
    return sorted(d.glob("*.csv")) if d.exists() else []


def test_upload_map_import_end_to_end(auth, master, make_group, settings):
    group = make_group(master, phones=["+12025550101"])
    data = ("Mobile;Vorname;Surname;E-Mail;Account no;Score;Notes\n"
            "202-555-0102;Ann;Lee;ann@example.com;A-1;90;x\n"
            "not a number;Bob;;;A-2;10;\n"
            "+1 202 555 0101;Already;There;;A-3;;\n"   # in the group already
            "2025550103;Cy;;;A-4;55;\n"
            "(202) 555-0102;Ann;Again;;A-5;;\n"        # repeated in the file
            "2025550104;Di;;bad-mail;A-6;;\n"
            "123;Short;;;;;\n").encode()
    auth.login()
    resp = upload(auth, group, data)
    assert resp.status_code == 302
    mapping_url = resp.headers["Location"]
    assert [p.name.startswith(f"t{master.id}-") for p in uploads(settings)] == [True]

    page = text(auth.client.get(mapping_url))
    for header in ("Mobile", "Vorname", "Account no", "Notes"):
        assert f"<th>{header}</th>" in page
    assert "<td>202-555-0102</td>" in page  # first rows shown
    assert "semicolon" in page
    assert selected(page) == ["phone", "first_name", "last_name", "email", "ignore", "ignore",
                              "ignore"]

    resp = auth.post(mapping_url, {"has_header": "y", "col_0": "phone", "col_1": "first_name",
                                   "col_2": "last_name", "col_3": "email", "col_4": "custom1",
                                   "col_5": "custom8", "col_6": "ignore"},
                     )
    page = text(resp)
    assert resp.status_code == 200, page
    assert "Imported 2 contacts; skipped 2 duplicates and 3 invalid rows." in page
    assert re.search(r'<td class="num">3</td><td>not a number</td><td>&#39;not a number&#39; is not a phone number', page)
    assert re.search(r'<td class="num">7</td><td>bad-mail</td><td>not an e-mail address', page)
    assert re.search(r'<td class="num">8</td><td>123</td><td>&#39;123&#39; is not a valid phone number', page)
    rows = {c.phone: (c.first_name, c.last_name, c.email, c.custom1, c.custom8) for c in
            Contact.select().where(Contact.group == group)}
    assert rows == {"+12025550101": ("", "", "", "", ""),
                    "+12025550102": ("Ann", "Lee", "ann@example.com", "A-1", "90"),
                    "+12025550103": ("Cy", "", "", "A-4", "55")}
    assert all(c.tenant_id == master.id for c in Contact.select())
    assert uploads(settings) == []  # deleted after the import
    log = TenantLog.get(TenantLog.action == "contacts.import")
    assert log.tenant_id == master.id and log.username == "master" and "2 imported" in log.detail
    # The file is gone: the mapping page now says so instead of importing twice.
    resp = auth.client.get(mapping_url)
    assert resp.status_code == 302


def test_latin1_comma_file_without_header(auth, master, make_group):
    group = make_group(master)
    data = "2025550102,Jos\xe9,M\xfcller\n2025550103,Ren\xe9e,\n".encode("latin-1")
    auth.login()
    url = upload(auth, group, data).headers["Location"]
    page = text(auth.client.get(url))
    assert "<td>José</td>" in page and "comma" in page
    assert 'name="has_header"' in page and 'name="has_header" type="checkbox" value="y" checked' not in page
    assert selected(page) == ["phone", "ignore", "ignore"]
    resp = auth.post(url, {"col_0": "phone", "col_1": "first_name", "col_2": "last_name"})
    assert "Imported 2 contacts" in text(resp)
    assert Contact.get(Contact.phone == "+12025550102").last_name == "Müller"


def test_mapping_without_phone_imports_nothing_and_keeps_the_file(auth, master, make_group,
                                                                   settings):
    group = make_group(master)
    auth.login()
    url = upload(auth, group, b"phone,name\n2025550102,Ann\n").headers["Location"]
    resp = auth.post(url, {"has_header": "y", "col_0": "ignore", "col_1": "first_name"})
    assert resp.status_code == 400
    assert "Map one column to the phone number" in text(resp)
    resp = auth.post(url, {"has_header": "y", "col_0": "phone", "col_1": "phone"})
    assert resp.status_code == 400 and "more than once" in text(resp)
    assert Contact.select().count() == 0 and len(uploads(settings)) == 1
    resp = auth.post(url, {"has_header": "y", "col_0": "phone", "col_1": "first_name"})
    assert "Imported 1 contact" in text(resp)


@pytest.mark.parametrize("data, reason", [
    (b"%PDF-1.4\n\x00\x01\x02binary\x00stuff", "not a CSV file"),
    (bytes(range(1, 32)) * 200, "not a CSV file"),
    (b"", "The file is empty"),
    (b"\n\n  \n", "The file is empty"),
])
def test_malformed_files_are_refused_at_upload(auth, master, make_group, settings, data, reason):
    group = make_group(master)
    auth.login()
    resp = upload(auth, group, data)
    assert resp.status_code == 400 and reason in text(resp)
    assert uploads(settings) == [] and Contact.select().count() == 0


def test_oversized_file_is_refused(auth, master, make_group, settings, monkeypatch):
    from voxcast.contacts import services as contact_service
    monkeypatch.setattr(contact_service, "MAX_UPLOAD_BYTES", 1000)
    group = make_group(master)
    auth.login()
    resp = upload(auth, group, b"phone\n" + b"2025550102\n" * 200)
    assert resp.status_code == 400 and "larger than" in text(resp)
    assert uploads(settings) == []


def test_ragged_rows_are_repaired_or_reported(auth, master, make_group):
    group = make_group(master)
    data = ("phone,first_name,last_name\n"
            "2025550102,Ann\n"                    # short: padded
            "2025550103,Bob,Lee,,\n"              # trailing empty cells: trimmed
            "2025550104,Smith, John,Lee\n"        # an unquoted comma: beyond repair
            '"2025550105","Quoted, Name",X\n').encode()
    auth.login()
    url = upload(auth, group, data).headers["Location"]
    resp = auth.post(url, {"has_header": "y", "col_0": "phone", "col_1": "first_name",
                           "col_2": "last_name"})
    page = text(resp)
    assert "Imported 3 contacts; skipped 0 duplicates and 1 invalid rows." in page
    assert re.search(r'<td class="num">4</td><td>2025550104,Smith, John,Lee</td><td>the row has 4 fields, the file has 3 columns', page)
    assert Contact.get(Contact.phone == "+12025550105").first_name == "Quoted, Name"
    assert Contact.get(Contact.phone == "+12025550102").last_name == ""


def test_a_file_of_prose_imports_nothing_and_names_each_row(auth, master, make_group):
    group = make_group(master)
    data = b"Dear customer,\nthank you for your order.\nRegards\n"
    auth.login()
    url = upload(auth, group, data).headers["Location"]
    resp = auth.post(url, {"col_0": "phone", "col_1": "ignore"})
    page = text(resp)
    assert "Imported 0 contacts" in page and "3 invalid rows" in page
    assert Contact.select().count() == 0


def test_quota_refuses_the_whole_import(auth, master, make_group, settings):
    Tenant.update(max_contacts=2).where(Tenant.id == master.id).execute()
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    url = upload(auth, group, b"phone\n2025550102\n2025550103\n").headers["Location"]
    resp = auth.post(url, {"has_header": "y", "col_0": "phone"})
    assert resp.status_code == 400 and "nothing was imported" in text(resp)
    assert Contact.select().count() == 1 and len(uploads(settings)) == 1


def test_tenant_cannot_import_into_or_use_another_tenants_upload(auth, master, make_group,
                                                                 make_tenant, settings):
    acme, _ = make_tenant("acme")
    theirs = make_group(acme, name="Acme list")
    mine = make_group(master)
    auth.login("acme-tenant", "pw-acme-tenant")
    url = upload(auth, theirs, b"phone\n2025550102\n").headers["Location"]
    auth.logout()
    auth.login()
    # master cannot upload into, map or import into acme's group ...
    assert upload(auth, theirs, b"phone\n2025550109\n").status_code == 404
    assert auth.client.get(url).status_code == 404
    assert auth.post(url, {"has_header": "y", "col_0": "phone"}).status_code == 404
    # ... nor use acme's upload token with its own group: the token is bound to the tenant.
    token = url.rsplit("/", 1)[1]
    resp = auth.post(f"/contacts/groups/{mine.id}/import/{token}",
                     {"has_header": "y", "col_0": "phone"})
    assert resp.status_code == 302
    assert Contact.select().count() == 0
    assert len(uploads(settings)) == 1
