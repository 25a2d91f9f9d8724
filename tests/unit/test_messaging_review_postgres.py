"""The review's tests on PostgreSQL too (fax calls billed per page only, an SMS campaign
without a usable SMSC, a message partly paid by free credit, a pause holding the SMS and
e-mails already claimed, a receipt ahead of its submit's response), each in a fresh schema of the database voxcast_h_audit_unit."""
from __future__ import annotations

import pytest

import models
from models.entities import SmscConnection
from tests.pg_support import fresh_schema, postgres_or_skip
from voxcast.billing import plans

from .test_billing_credit import (  # noqa: F401  (the same tests, on PostgreSQL)
    app, test_fax_calls_need_a_rate_but_reserve_and_charge_no_minutes,
    test_a_fax_campaign_paused_for_credit_resumes_when_the_pages_are_affordable,
    test_a_message_campaign_paused_for_credit_resumes_by_its_message_price)
from .test_email_bounces import (  # noqa: F401
    test_given_a_campaign_paused_after_the_claim_then_its_queued_mails_are_not_sent)
from .test_messaging_review import (  # noqa: F401
    test_given_the_campaigns_smsc_disabled_then_it_waits_with_a_reason_and_resumes,
    test_given_no_enabled_smsc_at_all_then_a_default_campaign_waits_too,
    test_a_message_partly_paid_by_free_credit_costs_its_full_price_once,
    test_a_rate_limit_noted_by_the_sender_is_not_cleared_by_a_claim_that_may_not_send)
from .test_sms_service import (  # noqa: F401
    campaign, test_a_paused_campaigns_messages_still_queued_for_a_bind_are_taken_back,
    test_a_receipt_before_its_submits_response_is_kept_and_applied_once_it_comes)


@pytest.fixture(scope="module")
def pg_url():
    return postgres_or_skip("voxcast_h_audit_unit")


@pytest.fixture
def db(pg_url):
    fresh_schema(pg_url)
    plans._cache.clear()  # plan ids repeat across fresh schemas
    SmscConnection.create(name="smsc", system_id="sys", is_default=True)  # as the dispatch tests
    yield models.database
    models.database.close()


@pytest.fixture
def database(db):
    return db
