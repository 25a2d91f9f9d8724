"""The wallboard's and the live statistics' queries on PostgreSQL too (the partial indexes,
the queue figures' grouped count, the joins of open calls with queue calls and sessions): the
same scenarios as test_supervisor_wallboard.py, on the production backend. In its own database,
voxcast_h13b1_wallboard; skipped only when the server cannot be started here."""
from __future__ import annotations

import pytest

import models
from tests.pg_support import postgres_url

from .test_supervisor_wallboard import acme  # noqa: F401  (fixture)
from .test_supervisor_wallboard import (  # noqa: F401  (collected again, on PostgreSQL)
    test_every_kind_of_open_call_has_its_state_and_durations as test_pg_open_calls,
    test_running_voice_agent_campaigns_with_their_abandon_rate as test_pg_campaigns,
    test_wallboard_agents_queues_and_totals as test_pg_wallboard,
)

PG_DB = "voxcast_h13b1_wallboard"


@pytest.fixture(scope="module")
def pg_url():
    url = postgres_url(PG_DB)
    if url is None:
        pytest.skip("PostgreSQL could not be started here")
    return url


@pytest.fixture
def db(pg_url):
    """Overrides conftest's SQLite `db` for the imported tests."""
    models.init_database(pg_url)
    models.database.drop_tables(models.ALL_MODELS, safe=True, cascade=True)
    models.bootstrap(admin_password="x-admin-secret", master_password="x-master-secret")
    for index in ("call_open_by_tenant", "queuecall_open_by_tenant"):  # partial, on PG too
        assert models.database.execute_sql(
            "SELECT 1 FROM pg_indexes WHERE indexname = %s AND indexdef LIKE %s",
            (index, "%WHERE (ended_at IS NULL)%")).fetchone(), index
    yield models.database
    models.database.close()
