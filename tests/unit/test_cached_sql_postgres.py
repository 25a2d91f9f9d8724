"""models.cached_sql on PostgreSQL too (statements built per database, list parameters, the
drivers' own column types), in a fresh schema of its own database voxcast_h3_cached_sql;
skipped only when the server cannot be started here."""
from __future__ import annotations

from tests.pg_support import pg_settings_fixtures

from .test_cached_sql import (  # noqa: F401  (the same tests, on PostgreSQL)
    test_columns_are_converted_whatever_the_row_holds,
    test_joined_instances_convert_columns,
    test_list_parameters_are_built_once_per_length,
    test_progress_counts_are_its_int_figures,
    test_rows_match_the_plain_query,
)

pg_url, settings = pg_settings_fixtures("voxcast_h3_cached_sql")
