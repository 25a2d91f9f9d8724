"""The dispatcher's tests again on PostgreSQL (RETURNING, the credit sums, the conditional
updates), in their own database."""
from __future__ import annotations

from tests.pg_support import pg_fixtures
from tests.unit.test_messaging_dispatch import *  # noqa: F401,F403  the same tests

pg_url, db = pg_fixtures("voxcast_dispatch")
