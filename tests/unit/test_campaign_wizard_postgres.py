"""The creation wizard's review (voxcast.campaigns.estimate: contacts per list, DNC look-ups,
the rate table, the calling hours) on PostgreSQL too, in a fresh schema of its own database
voxcast_hwiz_wizard; skipped only when the server cannot be started here."""
from __future__ import annotations

import pytest

from tests.pg_support import fresh_schema, postgres_or_skip
from voxcast.config import Settings

from .test_campaign_wizard import (  # noqa: F401  (the same test, on PostgreSQL)
    test_given_contacts_dnc_rates_and_hours_then_the_estimate_says_what_will_happen,
)

PG_DB = "voxcast_hwiz_wizard"


@pytest.fixture(scope="module")
def pg_url():
    return postgres_or_skip(PG_DB)


@pytest.fixture
def settings(tmp_path, pg_url):
    """conftest's db fixture on PostgreSQL: a fresh schema for every test."""
    fresh_schema(pg_url)
    return Settings(instance="t", runtime_dir=tmp_path, asterisk_root=tmp_path / "root",
                    database_url=pg_url)
