"""Security issue 10, finding 2: a number that changes hands carries nothing of its previous
holder. Before the fix, deleting a tenant returned its extensions with the same SIP secret
(the old phones registered as the next tenant's extension) and its DIDs with their greeting."""
from __future__ import annotations

import pytest

from models import Campaign, Did, Extension, User
from models.entities import Ivr
from voxcast.runtime import pjsip_sync
from voxcast.numbers import pool as pool_service

from .api_support import admin_api  # noqa: F401  (fixture)
from .conftest import ADMIN_PASSWORD


@pytest.fixture
def admin(auth):
    auth.login("admin", ADMIN_PASSWORD)
    return auth


@pytest.fixture
def a_and_b(app, make_tenant):
    a, a_user = make_tenant("tenant-a", username="alice")
    b, _ = make_tenant("tenant-b", username="bob")
    return a, a_user, b


def _held_by_a(a, a_user):
    """Extension 3000 and DID +4930555 as tenant A left them: user, IVR, campaign, greeting."""
    pool_service.add_extensions("3000", "3000")
    pool_service.allocate_extensions(a, 1)
    ext = Extension.get(Extension.number == "3000")
    Extension.update(user=a_user).where(Extension.id == ext.id).execute()
    (did,) = pool_service.add_dids("+4930555", "+4930555")
    pool_service.allocate_did(a, did.id)
    ivr = Ivr.create(tenant=a, name="menu")
    campaign = Campaign.create(tenant=a, name="C")
    Did.update(user=a_user, campaign=campaign, ivr=ivr, greeting_text="Welcome to A",
               greeting_file="a-greeting").where(Did.id == did.id).execute()
    return Extension.get_by_id(ext.id), Did.get_by_id(did.id)


def _assert_clean(did: Did, tenant_id):
    did = Did.get_by_id(did.id)
    assert did.tenant_id == tenant_id
    assert (did.user_id, did.campaign_id, did.ivr_id) == (None, None, None)
    assert (did.greeting_text, did.greeting_file) == ("", "")


def test_given_deleted_tenant_when_its_numbers_go_to_another_then_secret_and_greeting_new(
        admin, a_and_b, settings):
    a, a_user, b = a_and_b
    ext, did = _held_by_a(a, a_user)
    old_secret = ext.secret
    pjsip_sync.sync(settings, reload=False)
    assert f"password = {old_secret}" in pjsip_sync.conf_path(settings).read_text()

    assert admin.post(f"/admin/tenants/{a.id}/delete", {"confirm": "tenant-a"}).status_code == 302
    pooled = Extension.get_by_id(ext.id)
    assert pooled.tenant_id is None and pooled.user_id is None
    assert pooled.secret != old_secret
    assert old_secret not in pjsip_sync.conf_path(settings).read_text()  # endpoint gone
    _assert_clean(did, None)

    admin.post(f"/admin/tenants/{b.id}/extensions", {"count": "1"})
    admin.post(f"/admin/tenants/{b.id}/dids", {"did": str(did.id)})
    given = Extension.get_by_id(ext.id)
    assert given.tenant_id == b.id and given.secret != old_secret
    conf = pjsip_sync.conf_path(settings).read_text()
    assert f"password = {given.secret}" in conf and old_secret not in conf
    _assert_clean(did, b.id)


def test_given_api_delete_then_secrets_rotated_and_pjsip_resynced(admin_api, a_and_b,  # noqa: F811
                                                                  settings):
    a, a_user, _b = a_and_b
    ext, did = _held_by_a(a, a_user)
    pjsip_sync.sync(settings, reload=False)
    assert admin_api.delete(f"/api/v1/tenants/{a.id}").status_code == 204
    assert Extension.get_by_id(ext.id).secret != ext.secret
    assert ext.secret not in pjsip_sync.conf_path(settings).read_text()
    _assert_clean(did, None)


def test_given_numbers_returned_in_the_admin_pool_then_reset(admin, a_and_b):
    a, a_user, _b = a_and_b
    ext, did = _held_by_a(a, a_user)
    admin.post(f"/admin/tenants/{a.id}/extensions/{ext.id}/return")
    assert Extension.get_by_id(ext.id).secret != ext.secret
    admin.post(f"/admin/tenants/{a.id}/dids/{did.id}/return")
    _assert_clean(did, None)

    # The DID pool page: unassign (tenant 0) ...
    pool_service.allocate_did(a, did.id)
    Did.update(greeting_text="Welcome to A", greeting_file="a-greeting",
               user=a_user).where(Did.id == did.id).execute()
    resp = admin.post(f"/admin/dids/{did.id}/assign", {f"d{did.id}-tenant": "0",
                                                       f"d{did.id}-greeting_text": "Welcome to A"})
    assert resp.status_code == 302
    _assert_clean(did, None)


def test_given_did_moved_straight_to_another_tenant_then_only_the_new_greeting(admin, a_and_b):
    a, a_user, b = a_and_b
    _, did = _held_by_a(a, a_user)
    resp = admin.post(f"/admin/dids/{did.id}/assign", {f"d{did.id}-tenant": str(b.id),
                                                       f"d{did.id}-greeting_text": "Hi from B"})
    assert resp.status_code == 302
    did = Did.get_by_id(did.id)
    assert (did.tenant_id, did.greeting_text, did.greeting_file) == (b.id, "Hi from B", "")
    assert (did.user_id, did.campaign_id, did.ivr_id) == (None, None, None)

    # The same holder editing its greeting keeps its routing.
    Did.update(user=User.get(User.username == "bob")).where(Did.id == did.id).execute()
    admin.post(f"/admin/dids/{did.id}/assign", {f"d{did.id}-tenant": str(b.id),
                                                f"d{did.id}-greeting_text": "New text"})
    did = Did.get_by_id(did.id)
    assert did.greeting_text == "New text" and did.user_id is not None


def test_given_pool_row_with_known_secret_when_allocated_then_secret_rotated(db, make_tenant):
    tenant, _ = make_tenant("acme")
    Extension.create(number="3100", secret="seen-by-someone")
    pool_service.allocate_extensions(tenant, 1)
    assert Extension.get(Extension.number == "3100").secret != "seen-by-someone"
