"""The idempotency and SSO tests again on PostgreSQL, in their own database."""
from __future__ import annotations

from tests.pg_support import pg_fixtures
from tests.unit.test_idempotency import *  # noqa: F401,F403  the same tests

pg_url, db = pg_fixtures("voxcast_h_api_idempotency")
