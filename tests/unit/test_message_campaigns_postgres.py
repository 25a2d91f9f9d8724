"""The message campaign tests on PostgreSQL too (the campaign service, the progress GROUP BY,
the message records search and keyset walk, the records page, the cost report's day
grouping, the API), each in a fresh schema of its own database voxcast_h14p_messages;
skipped only when the server cannot be started here."""
from __future__ import annotations

from tests.pg_support import pg_settings_fixtures

from .test_message_campaigns import (  # noqa: F401  (the same tests, on PostgreSQL)
    test_given_sms_fields_when_saved_then_stored_and_bad_ones_refused_naming_the_field,
    test_given_an_sms_campaign_then_it_starts_only_with_text_and_an_enabled_connection,
    test_given_a_plan_without_sms_then_no_sms_campaign_is_created_nor_started,
    test_given_messages_in_every_state_then_progress_counts_them,
    test_given_filters_then_the_search_finds_exactly_the_matching_messages,
    test_given_two_tenants_then_the_records_page_shows_only_ones_own,
    test_given_message_charges_then_the_cost_report_shows_them_by_kind_and_campaign,
    test_given_the_api_then_message_campaigns_and_records_work,
    test_given_message_campaigns_then_campaign_statistics_count_their_messages_and_the_cdr_summary_still_works,  # noqa: E501
    two_tenants, tenant_key,
)

pg_url, settings = pg_settings_fixtures("voxcast_h14p_messages")


def test_these_tests_run_on_postgresql(app):
    from peewee import PostgresqlDatabase

    import models
    # the web UI's database is pooled (playhouse.pool.PooledPostgresqlDatabase, a subclass)
    assert isinstance(models.database.obj, PostgresqlDatabase)
