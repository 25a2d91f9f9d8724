"""models.cached_sql: statements built once per database return what the plain Peewee query
returns; the web tier's per-request reads through them (API key, session user) still refuse
what they refused."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest

from models import Campaign, Tenant, User
from models.cached_sql import CachedSelect, ScopedList, fields_of, instance
from models.tenancy import scoped


def test_rows_match_the_plain_query(db, make_tenant):
    acme, _ = make_tenant("acme")
    other, _ = make_tenant("other")
    for i in range(7):
        Campaign.create(tenant=acme if i % 2 else other, name=f"C{i}", type="voice_message")
    lister = ScopedList(Campaign, Campaign.id)
    for tenant_id in (acme.id, other.id, None):
        plain = list(scoped(Campaign, tenant_id).order_by(Campaign.id))
        got = lister.all(tenant_id)
        assert [c.__data__ for c in got] == [c.__data__ for c in plain]
        assert lister.count(tenant_id) == len(plain)
        assert [c.id for c in lister.page(tenant_id, 2, 2)] == [c.id for c in plain[2:4]]
    row = lister.all(acme.id)[0]
    assert isinstance(row.created_at, dt.datetime) and row.tenant.id == acme.id
    assert not row._dirty  # saving it writes nothing it did not change


def test_samples_must_be_parameters(db):
    select = CachedSelect(lambda uid: User.select(User.id).where(User.id == 5), (-1,))
    with pytest.raises(ValueError):
        select.rows(3)


def test_joined_instances_convert_columns(db, make_tenant):
    acme, user = make_tenant("acme")
    select = CachedSelect(lambda uid: User.select(*fields_of(User), *fields_of(Tenant))
                          .join(Tenant).where(User.id == uid), (-9,))
    found = select.first(user.id)
    split = len(fields_of(User))
    assert instance(User, found[:split]).__data__ == User.get_by_id(user.id).__data__
    assert instance(Tenant, found[split:]).__data__ == Tenant.get_by_id(acme.id).__data__
    assert select.first(10 ** 6) is None


def test_json_provider_gives_flasks_document(app):
    from flask.json.provider import DefaultJSONProvider
    from webui.json_provider import OrjsonProvider
    value = {"b": [1, 2.5, None, True], "a": "é ok", "when": dt.datetime(2026, 12, 3, 14, 5),
             "day": dt.date(2026, 12, 3), "money": decimal.Decimal("1.2300"),
             "id": uuid.UUID(int=5), "nested": {"z": 1, "y": {"x": "<b>"}}}
    ours = OrjsonProvider(app).dumps(value, separators=(",", ":"))
    flask = DefaultJSONProvider(app).dumps(value, separators=(",", ":"))
    assert json.loads(ours) == json.loads(flask)
    assert list(json.loads(ours)) == sorted(value)  # keys sorted, as Flask sorts them
    assert OrjsonProvider(app).dumps({1: "x"}) == DefaultJSONProvider(app).dumps({1: "x"})
    assert OrjsonProvider(app).dumps({"n": 2 ** 70}) == '{"n": 1180591620717411303424}'


def test_list_parameters_are_built_once_per_length(db, make_tenant):
    from models.cached_sql import ListOf
    acme, _ = make_tenant("acme")
    ids = [Campaign.create(tenant=acme, name=f"C{i}", type="voice_message").id
           for i in range(5)]
    select = CachedSelect(lambda tid, wanted, names: (
        Campaign.select(Campaign.id).where(Campaign.tenant == tid, Campaign.id.in_(wanted),
                                           Campaign.name.not_in(names))
        .order_by(Campaign.id)), (-1, ListOf(-1), ListOf("x")))
    for wanted in ([], ids[:1], ids[1:4], ids, ids[2:3] + [10 ** 6]):
        for names in ([], ["C1"], ["C0", "C3"]):
            plain = [c.id for c in Campaign.select(Campaign.id).where(
                Campaign.tenant == acme.id, Campaign.id.in_(wanted),
                Campaign.name.not_in(names)).order_by(Campaign.id)]
            assert [r[0] for r in select.rows(acme.id, wanted, names)] == plain
    assert select.rows(acme.id + 1, ids, []) == []  # the scalar still bound


def test_columns_are_converted_whatever_the_row_holds(db, make_tenant):
    """Which columns a row needs converted is looked up by the driver's types for that row:
    rows with and without NULLs, a boolean and a date set or not, all as Peewee gives them."""
    acme, _ = make_tenant("acme")
    Campaign.create(tenant=acme, name="plain", type="voice_message")
    Campaign.create(tenant=acme, name="set", type="sms", amd_enabled=True, record=True,
                    started_at=dt.datetime(2026, 12, 4, 1, 2, 3, 456), group=None,
                    dial_ratio=decimal.Decimal("1.75"), status_params='{"a": 1}')
    lister = ScopedList(Campaign, Campaign.id)
    for _ in range(2):  # the second time through the remembered plans
        got = lister.all(acme.id)
        plain = list(scoped(Campaign, acme.id).order_by(Campaign.id))
        assert [c.__data__ for c in got] == [c.__data__ for c in plain]
        assert got[1].started_at == dt.datetime(2026, 12, 4, 1, 2, 3, 456)
        assert got[1].amd_enabled is True and got[0].amd_enabled is False


def test_progress_counts_are_its_int_figures(db, make_tenant):
    from models.entities import CAMPAIGN_TYPES
    from voxcast.campaigns import services
    acme, _ = make_tenant("acme")
    campaigns = [Campaign.create(tenant=acme, name=t, type=t, status_params='{"n": 2}')
                 for t in CAMPAIGN_TYPES]
    for c in campaigns:
        progress = services.progress_many(campaigns)[c.id]
        assert services.counts(progress) == {k: v for k, v in progress.items()
                                             if isinstance(v, int)}
        assert progress["status_params"] == {"n": 2}
