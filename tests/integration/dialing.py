"""A campaign dialling against a far end (sipp) while a test does something to the app or to
Asterisk; afterwards, however the test went, nothing is left dialling for the next tests."""
from __future__ import annotations

from contextlib import contextmanager

from models import Campaign
from voxcast.campaigns import services as campaign_service


@contextmanager
def dialing(campaign: Campaign, settings, uas, stasis_app):
    """Starts `campaign`; on the way out stops the far end `uas` (a started Sipp), stops the
    campaign unless it completed, and starts the app again if the test left it down."""
    try:
        campaign_service.start(campaign, settings)
        yield
    finally:
        uas.stop()
        Campaign.update(status="stopped").where(Campaign.id == campaign.id,
                                                Campaign.status != "completed").execute()
        if not stasis_app.alive():
            stasis_app.start()
