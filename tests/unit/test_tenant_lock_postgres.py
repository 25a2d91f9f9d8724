"""The tenant row's lock (the ledger's, the prepared billing statements', the cluster limits')
does not wait for a transaction that is inserting rows referencing the tenant. Seen in
bench/faults.py: a 150,000-row CSV import (one transaction, each contact's foreign key taking
FOR KEY SHARE on its tenant) held the Stasis app's claims, whose credit reservation locked
the tenant FOR UPDATE, for the 20 s the import took: no call of the tenant was placed
meanwhile, and every writer job queued behind them. FOR NO KEY UPDATE still serialises the
lockers among themselves."""
from __future__ import annotations

import psycopg2
import pytest

from models import Contact, ContactGroup, Tenant, database
from models.prepared import billing_statements
from tests.pg_support import pg_fixtures
from voxcast.billing import ledger
from voxcast.cluster import limits

pg_url, db = pg_fixtures("voxcast_h2_tenant_lock")


@pytest.fixture
def importing(db, pg_url):
    """Another session inside a transaction that inserted a contact of the master tenant."""
    master = Tenant.get(Tenant.slug == "master")
    group = ContactGroup.create(tenant=master, name="import")
    sql, params = Contact.insert(tenant=master.id, group=group.id, phone="+12025550100").sql()
    other = psycopg2.connect(pg_url)
    other.cursor().execute(sql, params)  # psycopg2 opened a transaction: it stays open
    database.execute_sql("SET lock_timeout = '2s'")
    yield master
    other.rollback()
    other.close()
    database.execute_sql("SET lock_timeout = 0")


def test_for_update_would_wait_for_the_import(importing):
    with pytest.raises(Exception, match="lock timeout"):
        with database.atomic():
            database.execute_sql("SELECT id FROM tenant WHERE id = %s FOR UPDATE",
                                 (importing.id,))


def test_the_ledger_does_not_wait_for_the_import(importing):
    before = Tenant.get_by_id(importing.id).balance or 0
    ledger.credit(importing.id, "5", reference="during an import")
    assert Tenant.get_by_id(importing.id).balance == before + 5


def test_the_prepared_balance_lock_does_not_wait_for_the_import(importing):
    with database.atomic():
        row = database.execute_sql(billing_statements().tenant_lock,
                                   (importing.id,)).fetchone()
    assert row is not None


def test_the_cluster_limit_lock_does_not_wait_for_the_import(importing):
    Tenant.update(channel_limit=7).where(Tenant.id == importing.id).execute()
    with database.atomic():
        assert limits._lock_tenant(importing.id) == 7
