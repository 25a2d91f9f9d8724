"""The statistics and the report builder on PostgreSQL too (its seconds arithmetic, grouping
by position, CASE over timestamps, the rollup tables): the same tests as on SQLite, with the
same exact figures, in their own database voxcast_h13d2; skipped only when the server cannot
be started here."""
from __future__ import annotations

from tests.pg_support import pg_fixtures
from tests.unit.test_report_builder import (  # noqa: F401  (collected here again, on PostgreSQL)
    acme, other, test_a_plain_list_in_local_time_sorted_and_cut_at_the_limit,
    test_agent_state_time_by_agent_and_reason_clipped_to_the_period,
    test_calls_grouped_by_local_day_and_campaign_rollup_equals_raw,
    test_queue_calls_by_queue_and_outcome, test_sort_filters_and_totals,
)
from tests.unit.test_report_stats import (  # noqa: F401
    test_agent_statistics_clip_at_the_viewers_midnight_and_count_offers,
    test_an_open_stretch_runs_to_now,
    test_campaign_statistics_attempts_reached_abandon_rate_outcomes_cost,
    test_disposition_statistics_per_agent_and_campaign_with_break_time,
    test_queue_statistics_each_queue_against_its_own_target_unless_one_is_given,
    test_queue_statistics_offered_abandoned_buckets_service_level,
)

PG_DB = "voxcast_h13d2"


pg_url, db = pg_fixtures(PG_DB)
