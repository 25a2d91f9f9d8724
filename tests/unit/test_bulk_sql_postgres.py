"""models.bulk's statements again on PostgreSQL (RETURNING, CASE, parameter style)."""
from __future__ import annotations

from tests.pg_support import pg_fixtures
from tests.unit.test_bulk_sql import *  # noqa: F401,F403  the same tests

pg_url, db = pg_fixtures("voxcast_bulk")
