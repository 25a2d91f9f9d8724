"""The dialer's durable state on a real SQLite file: batched claims, contacts deferred to their
own calling window, and closing CDRs an earlier (crashed) run left open."""
from __future__ import annotations

import datetime as dt

from voxcast.campaigns.lifecycle import Cause
from ari_app import admission, store
from models import Call, CampaignContact, Tenant
from voxcast import calling_hours as ch

from .test_dnc_dialer import _campaign, database  # noqa: F401  (fixture)

NOW = dt.datetime(2026, 1, 5, 15, 0)  # Monday 15:00 UTC: 10:00 New York, 16:00 Paris


def test_claim_is_batched_and_each_claim_has_its_open_cdr(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, [f"+1202555010{i}" for i in range(5)])
    claims = store.claim_due(campaign.id, 3, NOW)
    assert len(claims) == 3 and len({c.channel_id for c in claims}) == 3
    for claim in claims:
        call = Call.get_by_id(claim.call_id)
        assert call.channel_id == claim.channel_id and call.ended_at is None
        assert call.placed_at is None  # not yet accepted by Asterisk
        assert CampaignContact.get_by_id(claim.entry_id).state == "dialing"
    assert len(store.claim_due(campaign.id, 10, NOW)) == 2
    assert store.claim_due(campaign.id, 10, NOW) == []


def test_contact_outside_its_own_window_is_deferred_without_blocking_others(database):
    acme = Tenant.create(name="Acme", slug="acme", timezone="America/New_York")
    campaign = _campaign(acme, ["+33142685300", "+12125550100"])  # Paris, New York
    rules = ([ch.Window("01234", "09:00", "12:00")],)  # 10:00 in New York, 16:00 in Paris
    claims = store.claim_due(campaign.id, 10, NOW, rules)
    assert [c.phone for c in claims] == ["+12125550100"]
    paris = CampaignContact.get(CampaignContact.phone == "+33142685300")
    assert paris.state == "pending" and paris.attempts == 0
    assert paris.next_attempt_at == dt.datetime(2026, 1, 6, 8, 0)  # Tuesday 09:00 Paris


def test_admission_check_refusal_undoes_the_claim(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102"])

    def no_second(claims):
        return claims[1:], Cause("no_credit")
    admission.register_check(no_second)
    try:
        claims = store.claim_due(campaign.id, 10, NOW)
    finally:
        admission.CHECKS.remove(no_second)
    assert len(claims) == 1
    assert Call.select().count() == 1
    refused = CampaignContact.get(CampaignContact.id != claims[0].entry_id)
    assert (refused.state, refused.attempts) == ("pending", 0)


def test_lost_calls_are_told_apart_after_a_crash(database):
    acme = Tenant.create(name="Acme", slug="acme")
    campaign = _campaign(acme, ["+12025550101", "+12025550102", "+12025550103"])
    never, ringing, talking = store.claim_due(campaign.id, 3, NOW)
    store.mark_placed([ringing.call_id, talking.call_id], NOW)
    store.mark_answered(talking.call_id, NOW + dt.timedelta(seconds=2))
    later = NOW + dt.timedelta(seconds=12)
    assert {o.call_id for o in store.open_calls()} == {never.call_id, ringing.call_id,
                                                        talking.call_id}

    assert store.close_lost(never.call_id, later) == "NOT PLACED"
    entry = CampaignContact.get_by_id(never.entry_id)
    assert (entry.state, entry.attempts) == ("pending", 0)  # dialed again, not skipped

    assert store.close_lost(ringing.call_id, later) == "FAILED"
    assert "lost" in Call.get_by_id(ringing.call_id).cause_txt

    assert store.close_lost(talking.call_id, later) == "ANSWERED"
    call = Call.get_by_id(talking.call_id)
    assert call.billsec == 10 and CampaignContact.get_by_id(talking.entry_id).state == "done"
    assert store.close_lost(talking.call_id, later) is None  # closed once
    assert store.open_calls() == []

