"""The packages and subscriptions service tests again on PostgreSQL (row locks, the ledger's
sums, cascades of a terminated tenant), in their own database."""
from __future__ import annotations

import pytest

from tests.pg_support import pg_fixtures
from tests.unit.test_packages_service import *  # noqa: F401,F403  the same tests

pg_url, db = pg_fixtures("voxcast_packages")


@pytest.fixture
def db_url(pg_url):
    return pg_url
