"""models.bulk's hand-built statements give what peewee's own would, on a real SQLite file
(test_bulk_sql_postgres runs them again on PostgreSQL)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import models
from models import Campaign, CampaignContact, Contact, ContactGroup, Tenant
from models.bulk import insert_rows, one_of, plain_rows, update_by_id
from models.entities import LedgerEntry, Message


@pytest.fixture
def db(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'bulk.sqlite3'}")
    models.create_schema()
    yield models.database
    models.database.close()


@pytest.fixture
def tenant(db):
    return Tenant.create(name="Bulk GmbH", slug="bulk")


def test_given_rows_with_and_without_values_when_inserted_then_each_column_has_its_value_or_default(tenant):
    at = dt.datetime(2026, 12, 3, 14, 0, 5)
    back = insert_rows(Message, [
        {"tenant": tenant, "channel": "sms", "address": "+4915100000001", "body": "Hallo",
         "units": 2, "created_at": at, "cost": Decimal("0.0500")},
        {"tenant": tenant.id, "channel": "email", "address": "a@example.org", "contact": None},
    ], returning=(Message.address, Message.id))
    ids = dict(back)
    first, second = Message.get_by_id(ids["+4915100000001"]), Message.get_by_id(ids["a@example.org"])
    assert (first.tenant_id, first.units, first.created_at, first.cost) == \
        (tenant.id, 2, at, Decimal("0.0500"))
    assert first.state == Message.state.default and first.direction == Message.direction.default
    assert second.created_at is not None  # a callable default, called per row
    assert second.body == Message.body.default and second.units == Message.units.default
    assert second.contact_id is None  # None passes as NULL


def test_given_no_returning_when_inserted_then_nothing_returned_and_rows_written(tenant):
    rows = [{"tenant": tenant.id, "kind": "sms", "amount": Decimal("-0.01"),
             "balance_after": Decimal("-0.01") * (i + 1), "free_money": Decimal("0"),
             "message_ref": f"message:{i}"} for i in range(450)]
    assert insert_rows(LedgerEntry, rows, chunk=200) == []
    assert LedgerEntry.select().where(LedgerEntry.tenant == tenant.id).count() == 450
    last = LedgerEntry.get(LedgerEntry.message_ref == "message:449")
    assert last.balance_after == Decimal("-4.5000") and last.free_seconds == 0


def _messages(tenant, n):
    return [m for (m,) in insert_rows(Message, [
        {"tenant": tenant.id, "channel": "sms", "address": f"+49151{i:08d}", "body": "x"}
        for i in range(n)], returning=(Message.id,))]


def test_given_ids_when_updated_by_id_then_the_fixed_values_for_all_and_the_mapped_column_only_for_those_named(tenant):
    ids = sorted(_messages(tenant, 900))
    named = {i: f"ext-{i}" for i in ids[::3]}
    changed = update_by_id(Message, Message.id, {Message.state: "submitted", Message.units: 3},
                           ids[:850], by_id=(Message.external_id, named), chunk=400)
    assert changed == 850
    rows = {m.id: m for m in Message.select()}
    assert all(rows[i].state == "submitted" and rows[i].units == 3 for i in ids[:850])
    assert all(rows[i].state != "submitted" for i in ids[850:])
    assert all(rows[i].external_id == named.get(i, Message.external_id.default)
               for i in ids[:850])


def test_given_int_and_text_values_when_one_of_then_the_same_rows_as_in_(tenant):
    ids = sorted(_messages(tenant, 30))
    pick = ids[::4]
    assert sorted(m.id for m in Message.select().where(one_of(Message.id, pick))) == pick
    phones = [f"+49151{i:08d}" for i in (1, 5, 29)] + ["+4930 1'; DROP TABLE message; --"]
    got = [m.address for m in Message.select().where(one_of(Message.address, phones))]
    assert sorted(got) == sorted(phones[:3])
    assert Message.select().where(one_of(Message.id, [])).count() == 0
    assert Message.select().count() == 30


def test_given_a_join_with_aliases_when_one_of_and_plain_rows_then_the_columns_as_stored(tenant):
    group = ContactGroup.create(tenant=tenant, name="g")
    campaign = Campaign.create(tenant=tenant, name="c", type="sms", group=group)
    contact = Contact.create(tenant=tenant, group=group, phone="+4915100000009", first_name="Jörg")
    entry = CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                                   phone=contact.phone)
    query = (CampaignContact.select(CampaignContact.id, CampaignContact.phone, Contact.first_name)
             .join(Contact, on=(CampaignContact.contact == Contact.id))
             .where(one_of(CampaignContact.id, [entry.id, entry.id + 100])))
    assert plain_rows(query) == [(entry.id, "+4915100000009", "Jörg")]
