"""The audio library's service tests again on PostgreSQL (the unique name per tenant, the uses'
queries, the quota's sums, a deleted tenant's cascade), in their own database."""
from __future__ import annotations

from tests.pg_support import pg_fixtures
from tests.unit.test_audio_library import *  # noqa: F401,F403  the same tests

pg_url, db = pg_fixtures("voxcast_audio_library")
