"""Contacts and groups through the web UI: add, edit, move, delete, search, rename, delete a
group, custom values, and tenant isolation."""
from __future__ import annotations

import pytest

from models import Campaign, Contact, ContactGroup, Tenant, TenantLog


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


def text(resp) -> str:
    return resp.get_data(as_text=True)


def test_add_with_custom_values_and_edit(auth, master, make_group):
    group = make_group(master)
    auth.login()
    resp = auth.post(f"/contacts/groups/{group.id}/contacts",
                     {"phone": "(202) 555-0143", "first_name": "Ann", "custom1": "ACC-7",
                      "custom8": "north"})
    assert resp.status_code == 302
    c = Contact.get(Contact.group == group)
    assert (c.phone, c.first_name, c.custom1, c.custom8) == ("+12025550143", "Ann", "ACC-7", "north")
    assert "1: ACC-7" in text(auth.client.get(f"/contacts/groups/{group.id}"))

    other = make_group(master, name="Other")
    page = text(auth.client.get(f"/contacts/{c.id}/edit"))
    assert 'value="ACC-7"' in page
    resp = auth.post(f"/contacts/{c.id}/edit",
                     {"phone": "+1 202 555 0144", "first_name": "Anne", "last_name": "Lee",
                      "email": "anne@example.com", "custom1": "", "custom2": "gold",
                      "group": str(other.id)})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/contacts/groups/{other.id}"
    c = Contact.get_by_id(c.id)
    assert (c.phone, c.first_name, c.email, c.custom1, c.custom2, c.group_id) == (
        "+12025550144", "Anne", "anne@example.com", "", "gold", other.id)
    resp = auth.post(f"/contacts/{c.id}/edit", {"phone": "555", "group": str(other.id)})
    assert resp.status_code == 400 and "not a valid phone number" in text(resp)
    resp = auth.post(f"/contacts/{c.id}/edit", {"phone": "+12025550144", "email": "nope",
                                                "group": str(other.id)})
    assert resp.status_code == 400 and "not an e-mail address" in text(resp)
    assert Contact.get_by_id(c.id).email == "anne@example.com"
    assert [r.action for r in TenantLog.select().order_by(TenantLog.id)] == [
        "contacts.add", "contacts.update"]


def test_edit_refuses_a_number_already_in_the_target_group(auth, master, make_group):
    a = make_group(master, name="A", phones=["+12025550101"])
    b = make_group(master, name="B", phones=["+12025550101"])
    c = Contact.get(Contact.group == a)
    auth.login()
    resp = auth.post(f"/contacts/{c.id}/edit", {"phone": "+12025550101", "group": str(b.id)})
    assert resp.status_code == 400 and "already in group" in text(resp)
    assert Contact.get_by_id(c.id).group_id == a.id


def test_bulk_move_and_delete(auth, master, make_group):
    a = make_group(master, name="A", phones=["+12025550101", "+12025550102", "+12025550103"])
    b = make_group(master, name="B", phones=["+12025550102"])
    ids = {c.phone: c.id for c in Contact.select().where(Contact.group == a)}
    auth.login()
    resp = auth.post(f"/contacts/groups/{a.id}/bulk",
                     {"action": "move", "target": str(b.id),
                      "ids": [ids["+12025550101"], ids["+12025550102"]]}, follow_redirects=True)
    assert "1 contacts moved to &#39;B&#39;. 1 were already there and stayed." in text(resp)
    in_b = sorted(c.phone for c in Contact.select().where(Contact.group == b))
    assert in_b == ["+12025550101", "+12025550102"]
    auth.post(f"/contacts/groups/{a.id}/bulk", {"action": "delete",
                                                "ids": [ids["+12025550103"]]})
    assert sorted(c.phone for c in Contact.select().where(Contact.group == a)) == ["+12025550102"]
    resp = auth.post(f"/contacts/{ids['+12025550102']}/delete")
    assert resp.status_code == 302
    assert Contact.select().where(Contact.group == a).count() == 0


def test_search_by_phone_and_name_within_the_group(auth, master, make_group):
    group = make_group(master)
    Contact.create(tenant=master, group=group, phone="+12025550101", first_name="Ann", last_name="Lee")
    Contact.create(tenant=master, group=group, phone="+12025550202", first_name="Bob", last_name="Ray")
    other = make_group(master, name="Other")
    Contact.create(tenant=master, group=other, phone="+12025550303", first_name="Ann")
    auth.login()
    page = text(auth.client.get(f"/contacts/groups/{group.id}?q=ann"))
    assert "+12025550101" in page and "+12025550202" not in page and "+12025550303" not in page
    page = text(auth.client.get(f"/contacts/groups/{group.id}?q=555-0202"))
    assert "+12025550202" in page and "+12025550101" not in page
    page = text(auth.client.get(f"/contacts/groups/{group.id}?q=Bob Ray"))
    assert "+12025550202" in page and "+12025550101" not in page
    assert "No contact matches" in text(auth.client.get(f"/contacts/groups/{group.id}?q=zed"))


def test_rename_and_delete_group_with_confirmation(auth, master, make_group):
    group = make_group(master, phones=["+12025550101", "+12025550102"])
    make_group(master, name="Taken")
    auth.login()
    resp = auth.post(f"/contacts/groups/{group.id}/rename", {"name": "Taken"})
    assert resp.status_code == 400 and "already exists" in text(resp)
    assert auth.post(f"/contacts/groups/{group.id}/rename", {"name": "VIP"}).status_code == 302
    assert ContactGroup.get_by_id(group.id).name == "VIP"

    page = text(auth.client.get(f"/contacts/groups/{group.id}/delete"))
    assert "its 2 contacts will be deleted" in page
    resp = auth.post(f"/contacts/groups/{group.id}/delete", {})
    assert resp.status_code == 400 and "Tick the box" in text(resp)
    assert ContactGroup.get_or_none(ContactGroup.id == group.id) is not None
    campaign = Campaign.create(tenant=master, name="Live", group=group, status="running")
    resp = auth.post(f"/contacts/groups/{group.id}/delete", {"confirm": "yes"})
    assert resp.status_code == 400 and "stop it before deleting" in text(resp)
    Campaign.update(status="stopped").where(Campaign.id == campaign.id).execute()
    resp = auth.post(f"/contacts/groups/{group.id}/delete", {"confirm": "yes"})
    assert resp.status_code == 302
    assert ContactGroup.get_or_none(ContactGroup.id == group.id) is None
    assert Contact.select().count() == 0
    assert Campaign.get_by_id(campaign.id).group_id is None


def test_another_tenants_contacts_and_groups_are_not_found(auth, master, make_group,
                                                          make_tenant):
    acme, _ = make_tenant("acme")
    theirs = make_group(acme, name="Acme list", phones=["+12025550177"])
    contact = Contact.get(Contact.group == theirs)
    mine = make_group(master)
    auth.login()
    assert "Acme list" not in text(auth.client.get("/contacts/"))
    for url in [f"/contacts/groups/{theirs.id}", f"/contacts/{contact.id}/edit",
                f"/contacts/groups/{theirs.id}/delete"]:
        assert auth.client.get(url).status_code == 404, url
    for url, data in [(f"/contacts/groups/{theirs.id}/contacts", {"phone": "+12025550100"}),
                      (f"/contacts/groups/{theirs.id}/rename", {"name": "Mine now"}),
                      (f"/contacts/groups/{theirs.id}/delete", {"confirm": "yes"}),
                      (f"/contacts/{contact.id}/delete", {}),
                      (f"/contacts/{contact.id}/edit", {"phone": "+12025550177",
                                                        "group": str(mine.id)}),
                      (f"/contacts/groups/{mine.id}/bulk", {"action": "move",
                                                            "target": str(theirs.id),
                                                            "ids": [contact.id]})]:
        assert auth.post(url, data).status_code == 404, url
    # Their contact's id ticked in my group's bulk delete is simply not mine.
    auth.post(f"/contacts/groups/{mine.id}/bulk", {"action": "delete", "ids": [contact.id]})
    assert Contact.get_by_id(contact.id).group_id == theirs.id
    assert ContactGroup.get_by_id(theirs.id).name == "Acme list"
    assert Contact.select().where(Contact.group == theirs).count() == 1
