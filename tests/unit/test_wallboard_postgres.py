"""The wallboard's and the live statistics' queries on PostgreSQL too (the partial indexes,
the queue figures' grouped count, the joins of open calls with queue calls and sessions): the
same scenarios as test_supervisor_wallboard.py, on the production backend. In its own database,
voxcast_h13b1_wallboard; skipped only when the server cannot be started here."""
from __future__ import annotations

import pytest

from tests.pg_support import pg_fixtures

from .test_supervisor_wallboard import acme  # noqa: F401  (fixture)
from .test_supervisor_wallboard import (  # noqa: F401  (collected again, on PostgreSQL)
    test_every_kind_of_open_call_has_its_state_and_durations as test_pg_open_calls,
    test_running_voice_agent_campaigns_with_their_abandon_rate as test_pg_campaigns,
    test_wallboard_agents_queues_and_totals as test_pg_wallboard,
    test_wallboard_queues_each_against_their_own_service_level_target as test_pg_queue_targets,
)

PG_DB = "voxcast_h13b1_wallboard"


pg_url, fresh_db = pg_fixtures(PG_DB, "fresh_db")


@pytest.fixture
def db(fresh_db):
    """Overrides conftest's SQLite `db` for the imported tests."""
    for index in ("call_open_by_tenant", "queuecall_open_by_tenant"):  # partial, on PG too
        assert fresh_db.execute_sql(
            "SELECT 1 FROM pg_indexes WHERE indexname = %s AND indexdef LIKE %s",
            (index, "%WHERE (ended_at IS NULL)%")).fetchone(), index
    return fresh_db
