"""What the web tier keeps between requests (issue 16 item 5) never outlives the data: the API's
campaign list remembers a row's dump by the row's raw values, so a changed row, its live
figures and another tenant's rows are always read afresh."""
from __future__ import annotations

from models import Campaign, Tenant, User
from models.cached_sql import RowMemo
from models.entities import CampaignAgent, CampaignTally
from voxcast.accounts import api_keys

from .api_support import Api, master_api, tenant_key  # noqa: F401


def _items(api, **params):
    r = api.get("/api/v1/campaigns", query_string=params)
    assert r.status_code == 200, r.json
    return r.json


def test_the_list_shows_a_change_at_the_next_request(master_api):
    master = Tenant.get(Tenant.slug == "master")
    first = Campaign.create(tenant=master, name="First", type="voice_agent")
    Campaign.create(tenant=master, name="Second", type="sms")
    before = _items(master_api)
    assert [c["name"] for c in before["items"]] == ["First", "Second"]
    assert _items(master_api) == before  # from the remembered rows: the same document
    Campaign.update(name="Renamed", status="paused", status_params='{"why": 1}').where(
        Campaign.id == first.id).execute()
    CampaignTally.create(tenant=master, campaign=first, kind="state", key="pending", n=3)
    user = User.get(User.username == "master")
    CampaignAgent.create(tenant=master, campaign=first, user=user)
    after = _items(master_api)["items"][0]
    assert (after["name"], after["status"], after["status_params"]) == (
        "Renamed", "paused", {"why": 1})
    assert after["progress"]["total"] == 3 and after["progress"]["remaining"] == 3
    assert after["agent_ids"] == [user.id]
    single = master_api.get(f"/api/v1/campaigns/{first.id}").json
    assert single == after  # the list's item is the campaign's own document
    assert _items(master_api, per_page=1, page=2)["items"][0]["name"] == "Second"
    assert _items(master_api, per_page=1, page=3) == {"items": [], "page": 3, "per_page": 1,
                                                       "total": 2}


def test_tenants_with_alike_rows_see_their_own(app, client, tenant_key):
    acme, acme_secret = tenant_key("acme")
    other, other_secret = tenant_key("other")
    for tenant in (acme, other):
        Campaign.create(tenant=tenant, name="Same", type="voice_message")
    for tenant, secret in ((acme, acme_secret), (other, other_secret)):
        for _ in range(2):
            items = _items(Api(client, secret))["items"]
            assert [c["tenant_id"] for c in items] == [tenant.id]


def test_a_revoked_key_lists_nothing_at_once(master_api):
    master = Tenant.get(Tenant.slug == "master")
    Campaign.create(tenant=master, name="Listed", type="voice_message")
    assert _items(master_api)["total"] == 1
    key = api_keys.keys_of(master.id).first()
    api_keys.revoke(key.id, tenant_id=master.id, user=None)
    assert master_api.get("/api/v1/campaigns").status_code == 401


def test_row_memo_keys_on_values_and_their_types():
    made = []
    memo = RowMemo(lambda raw, kinds: made.append(raw) or (raw, kinds), limit=3)
    assert memo.get((1, "a")) == ((1, "a"), (int, str))
    assert memo.get((1, "a")) == ((1, "a"), (int, str)) and len(made) == 1
    assert memo.get((1.0, "a"))[1] == (float, str)  # equal values of another type: derived
    assert memo.get((True, "a"))[1] == (bool, str)
    assert len(made) == 3
    memo.get((2, "b"))  # over the limit: forgotten all at once, then remembered again
    memo.get((1, "a"))
    assert len(made) == 5
    assert memo.get(([1], "a")) == (([1], "a"), (list, str))  # unhashable: derived each time
    assert memo.get(([1], "a")) and len(made) == 7
