"""The dialer skips DNC numbers at dial time: voxcast.dialing.claims.Claims.claim_due with the DNC gate
on a real SQLite file."""
from __future__ import annotations

import datetime as dt

import pytest

import models
from voxcast.dialing.admission import Admission, DncCheck
from voxcast.dialing.claims import Claims
from models import Call, Campaign, CampaignContact, Contact, ContactGroup, Tenant
from voxcast.contacts import dnc as dnc_service
from voxcast.campaigns import services as campaign_service
from voxcast.campaigns import lifecycle


@pytest.fixture
def database(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'dialer.sqlite3'}")
    models.create_schema()
    yield models.database
    models.database.close()


@pytest.fixture
def claims():
    """Claims as the Stasis app builds them, without billing."""
    return Claims(Admission([DncCheck()]))


def _campaign(tenant, phones):
    group = ContactGroup.create(tenant=tenant, name=f"g-{tenant.slug}")
    for phone in phones:
        Contact.create(tenant=tenant, group=group, phone=phone)
    campaign = Campaign.create(tenant=tenant, name=f"c-{tenant.slug}", group=group,
                               status="running")
    now = dt.datetime(2026, 1, 1, 12, 0)
    for contact in Contact.select().where(Contact.group == group):
        CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                               phone=contact.phone, next_attempt_at=now)
    return campaign


def test_number_added_to_dnc_after_start_is_not_claimed(database, claims):
    acme = Tenant.create(name="Acme", slug="acme")
    other = Tenant.create(name="Other", slug="other")
    campaign = _campaign(acme, ["+12025550101", "+12025550102", "+12025550103",
                                "+12025550104"])
    # After the campaign started: one on acme's list, one on the provider's list, and one on
    # another tenant's list (which must not matter to acme).
    dnc_service.add(acme.id, ["+12025550102"], "manual")
    dnc_service.add(None, ["+12025550103"], "manual")
    dnc_service.add(other.id, ["+12025550104"], "manual")

    claimed = claims.claim_due(campaign.id, 10, now=dt.datetime(2026, 1, 1, 12, 1))

    assert sorted(c.phone for c in claimed) == ["+12025550101", "+12025550104"]
    states = {e.phone: (e.state, e.last_disposition, e.attempts)
              for e in CampaignContact.select()}
    assert states["+12025550102"] == ("dnc", "DNC", 0)
    assert states["+12025550103"] == ("dnc", "DNC", 0)
    assert states["+12025550101"][0] == "dialing"
    # No CDR for a skipped number, and it is never claimed later either.
    assert sorted(c.number for c in Call.select()) == ["+12025550101", "+12025550104"]
    assert claims.claim_due(campaign.id, 10, now=dt.datetime(2026, 1, 2)) == []
    progress = campaign_service.progress(campaign)
    assert progress["dnc"] == 2 and progress["total"] == 4 and progress["active"] == 2


def test_all_due_numbers_blocked_lets_the_campaign_complete(database, claims):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101"])
    dnc_service.add(None, ["+1 202 555 0101"], "manual")
    assert claims.claim_due(campaign.id, 5, now=dt.datetime(2026, 1, 1, 13)) == []
    assert lifecycle.complete_if_finished(campaign.id)
    assert Campaign.get_by_id(campaign.id).status == "completed"


def test_removing_a_number_before_its_turn_lets_it_be_dialed(database, claims):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101"])
    dnc_service.add(acme.id, ["+12025550101"], "manual")
    assert dnc_service.remove(acme.id, ["+12025550101"]) == 1
    claimed = claims.claim_due(campaign.id, 5, now=dt.datetime(2026, 1, 1, 13))
    assert [c.phone for c in claimed] == ["+12025550101"]
