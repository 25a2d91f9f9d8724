"""A press-1 transfer to an outside number is a call out to the PSTN: rated on the tenant's
plan, reserved before it is dialed, charged to its own CDR, refused without credit."""
from __future__ import annotations

import json
from decimal import Decimal

from models import Call, CampaignContact
from voxcast.campaigns import services as campaign_service
from voxcast.billing import ledger

from .conftest import wait_for
from .dtmf import uas
from .factories import make_campaign, reload, unique_phones
from .test_billing_enforcement import _assert_books_balance, _tenant

OUTSIDE = "+15559990001"


def _press1_to_outside(tenant, settings):
    cfg = {"keys": {"1": "transfer"}, "timeout": 3, "no_input": "hangup",
           "transfer": {"kind": "number", "value": OUTSIDE}}
    return make_campaign(tenant, settings, unique_phones(1), text="Press 1 to talk to us.",
                         type="voice_interactive", flow=json.dumps(cfg), dial_timeout=5,
                         retry_noanswer=0, retry_busy=0)


def test_given_credit_when_contact_presses_1_then_the_outside_leg_is_rated_and_charged(
        stasis_app, settings, workdir):
    tenant = _tenant("5.00")
    campaign = _press1_to_outside(tenant, settings)
    # The trunk's UAS answers the contact (who presses 1 and hangs up after 6 s) and the
    # transfer leg alike.
    peer = uas(workdir, settings.trunk_port, "press1-outside", [(1.0, "1")], calls=2,
               hangup_after=6.0)
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        wait_for(lambda: Call.select().where(Call.campaign == campaign,
                                             Call.ended_at.is_null()).count() == 0, 15,
                 message="both CDRs closed")
    finally:
        peer.stop()
    calls = {c.direction: c for c in Call.select().where(Call.campaign == campaign)}
    assert set(calls) == {"outbound", "transfer"}
    leg = calls["transfer"]
    assert leg.number == OUTSIDE and leg.tenant_id == tenant.id
    assert leg.disposition == "ANSWERED" and leg.billsec >= 1
    assert leg.cost > 0
    charge = ledger.LedgerEntry.get(ledger.LedgerEntry.call == leg.id)
    assert -Decimal(charge.amount) == Decimal(leg.cost)
    assert CampaignContact.get(CampaignContact.campaign == campaign).result == "transferred"
    _assert_books_balance(tenant)


def test_given_credit_for_the_contact_only_when_1_pressed_then_no_leg_is_dialed(
        stasis_app, settings, workdir):
    tenant = _tenant("0.05")  # 5 s: the contact's call reserves what there is
    campaign = _press1_to_outside(tenant, settings)
    peer = uas(workdir, settings.trunk_port, "press1-broke", [(1.0, "1")], calls=1,
               hangup_after=4.0)
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status in ("completed", "paused"), 40,
                 message="campaign done")
        wait_for(lambda: Call.select().where(Call.campaign == campaign,
                                             Call.ended_at.is_null()).count() == 0, 15,
                 message="CDR closed")
    finally:
        peer.stop()
    directions = [c.direction for c in Call.select().where(Call.campaign == campaign)]
    assert directions == ["outbound"]  # the transfer was never placed
    tenant = _assert_books_balance(tenant)
    assert Decimal(tenant.balance) >= 0
