"""The evaluation services on PostgreSQL too (decimals, the unique (form, call) index, the
summary's joins and local-day bounds): the service tests of test_evaluation_scoring, run
against a server database of their own, voxcast_h13c_evaluation; skipped only when the server
cannot be started here."""
from __future__ import annotations

from tests.pg_support import pg_fixtures

from .test_evaluation_scoring import (  # noqa: F401  (the same tests and fixtures, on PostgreSQL)
    people, tenant, test_a_form_is_built_ordered_and_reordered,
    test_an_answered_question_keeps_its_scoring_and_past_scores_stay,
    test_calls_without_an_agent_inactive_or_empty_forms_are_not_scorable,
    test_scoring_a_call_stores_exact_figures_once_per_call_and_form,
    test_summary_per_agent_form_and_local_period,
    test_the_agents_phone_leg_is_not_scored_the_callers_record_is,
    test_the_api_structure_keeps_ids_and_drops_what_is_missing,
)

PG_DB = "voxcast_h13c_evaluation"


pg_url, db = pg_fixtures(PG_DB)
