"""models.cached_sql on PostgreSQL too (statements built per database, list parameters, the
drivers' own column types), in a fresh schema of its own database voxcast_h3_cached_sql;
skipped only when the server cannot be started here."""
from __future__ import annotations

import pytest

from tests.pg_support import fresh_schema, postgres_or_skip
from voxcast.config import Settings

from .test_cached_sql import (  # noqa: F401  (the same tests, on PostgreSQL)
    test_columns_are_converted_whatever_the_row_holds,
    test_joined_instances_convert_columns,
    test_list_parameters_are_built_once_per_length,
    test_progress_counts_are_its_int_figures,
    test_rows_match_the_plain_query,
)

PG_DB = "voxcast_h3_cached_sql"


@pytest.fixture(scope="module")
def pg_url():
    return postgres_or_skip(PG_DB)


@pytest.fixture
def settings(tmp_path, pg_url):
    """conftest's db fixture on PostgreSQL: a fresh schema for every test."""
    fresh_schema(pg_url)
    return Settings(instance="t", runtime_dir=tmp_path, asterisk_root=tmp_path / "root",
                    database_url=pg_url)
