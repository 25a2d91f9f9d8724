"""The dialer's durable state on a real SQLite file: batched claims, contacts deferred to their
own calling window, and closing CDRs an earlier (crashed) run left open."""
from __future__ import annotations

import datetime as dt

from voxcast.campaigns.lifecycle import Cause
from ari_app import cdr, claims as ari_claims
from ari_app.admission import Admission, DncCheck, Gate
from ari_app.cdr import Cdrs
from ari_app.claims import Claims
from models import Call, CampaignContact, Tenant
from voxcast import calling_hours as ch

from .test_dnc_dialer import _campaign, claims, database  # noqa: F401  (fixtures)

NOW = dt.datetime(2026, 1, 5, 15, 0)  # Monday 15:00 UTC: 10:00 New York, 16:00 Paris


def test_claim_is_batched_and_each_claim_has_its_open_cdr(database, claims):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, [f"+1202555010{i}" for i in range(5)])
    claimed = claims.claim_due(campaign.id, 3, NOW)
    assert len(claimed) == 3 and len({c.channel_id for c in claimed}) == 3
    for claim in claimed:
        call = Call.get_by_id(claim.call_id)
        assert call.channel_id == claim.channel_id and call.ended_at is None
        assert call.placed_at is None  # not yet accepted by Asterisk
        assert CampaignContact.get_by_id(claim.entry_id).state == "dialing"
    assert len(claims.claim_due(campaign.id, 10, NOW)) == 2
    assert claims.claim_due(campaign.id, 10, NOW) == []


def test_contact_outside_its_own_window_is_deferred_without_blocking_others(database, claims):
    acme = Tenant.create(name="Acme", slug="acme", timezone="America/New_York")
    campaign = _campaign(acme, ["+33142685300", "+12125550100"])  # Paris, New York
    rules = ([ch.Window("01234", "09:00", "12:00")],)  # 10:00 in New York, 16:00 in Paris
    claimed = claims.claim_due(campaign.id, 10, NOW, rules)
    assert [c.phone for c in claimed] == ["+12125550100"]
    paris = CampaignContact.get(CampaignContact.phone == "+33142685300")
    assert paris.state == "pending" and paris.attempts == 0
    assert paris.next_attempt_at == dt.datetime(2026, 1, 6, 8, 0)  # Tuesday 09:00 Paris


def test_admission_check_refusal_undoes_the_claim(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102"])

    class NoSecond(Gate):
        def admit(self, claims):
            return claims[1:], Cause("no_credit")

    claimed = Claims(Admission([DncCheck(), NoSecond()])).claim_due(campaign.id, 10, NOW)
    assert len(claimed) == 1
    assert Call.select().count() == 1
    refused = CampaignContact.get(CampaignContact.id != claimed[0].entry_id)
    assert (refused.state, refused.attempts) == ("pending", 0)


def test_lost_calls_are_told_apart_after_a_crash(database, claims):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102", "+12025550103"])
    never, ringing, talking = claims.claim_due(campaign.id, 3, NOW)
    cdrs = Cdrs(claims.admission)
    ari_claims.mark_placed([ringing.call_id, talking.call_id], NOW)
    cdr.mark_answered(talking.call_id, NOW + dt.timedelta(seconds=2))
    later = NOW + dt.timedelta(seconds=12)
    assert {o.call_id for o in cdr.open_calls()} == {never.call_id, ringing.call_id,
                                                        talking.call_id}

    assert cdrs.close_lost(never.call_id, later) == "NOT PLACED"
    entry = CampaignContact.get_by_id(never.entry_id)
    assert (entry.state, entry.attempts) == ("pending", 0)  # dialed again, not skipped

    assert cdrs.close_lost(ringing.call_id, later) == "FAILED"
    assert "lost" in Call.get_by_id(ringing.call_id).cause_txt

    assert cdrs.close_lost(talking.call_id, later) == "ANSWERED"
    call = Call.get_by_id(talking.call_id)
    assert call.billsec == 10 and CampaignContact.get_by_id(talking.entry_id).state == "done"
    assert cdrs.close_lost(talking.call_id, later) is None  # closed once
    assert cdr.open_calls() == []

