"""The creation wizard's review (voxcast.campaigns.estimate: contacts per list, DNC look-ups,
the rate table, the calling hours) on PostgreSQL too, in a fresh schema of its own database
voxcast_hwiz_wizard; skipped only when the server cannot be started here."""
from __future__ import annotations

from tests.pg_support import pg_settings_fixtures

from .test_campaign_wizard import (  # noqa: F401  (the same test, on PostgreSQL)
    test_given_contacts_dnc_rates_and_hours_then_the_estimate_says_what_will_happen,
)

pg_url, settings = pg_settings_fixtures("voxcast_hwiz_wizard")
