"""Found in review of the message dispatcher (voxcast.messaging.dispatch): an SMS campaign
whose SMSC connection is disabled or gone (or with none chosen while no connection is
enabled) is not claimed, so its contacts are not failed one by one as rejected: it waits with
a reason on its page and goes on by itself once a connection is enabled; a message partly
paid by free credit costs its full price (as a call does), charged once."""
from __future__ import annotations

from models import Campaign, CampaignContact, Tenant
from models.entities import Message, SmscConnection
from voxcast.campaigns import lifecycle

from .test_messaging_dispatch import _campaign, _tenant, db, sms  # noqa: F401


def test_given_the_campaigns_smsc_disabled_then_it_waits_with_a_reason_and_resumes(db):
    own = SmscConnection.create(name="own", system_id="own", enabled=False)
    tenant = _tenant("acme")
    campaign = _campaign(tenant, phones=["+4930111", "+4930112"], smsc=own.id)

    assert sms().claim(10) == []
    campaign = Campaign.get_by_id(campaign.id)
    assert (campaign.status, campaign.status_code) == ("running", "no_smsc")
    assert "SMSC" in lifecycle.describe(campaign.status_code, campaign.status_params)
    assert {e.state for e in CampaignContact.select()} == {"pending"}
    assert not Message.select().exists()

    SmscConnection.update(enabled=True).where(SmscConnection.id == own.id).execute()
    work = sms().claim(10)
    assert len(work) == 2 and {w.connection_id for w in work} == {own.id}
    assert Campaign.get_by_id(campaign.id).status_code == ""


def test_given_no_enabled_smsc_at_all_then_a_default_campaign_waits_too(db):
    SmscConnection.update(enabled=False).execute()
    tenant = _tenant("acme")
    campaign = _campaign(tenant, phones=["+4930111"])
    assert sms().claim(10) == []
    assert Campaign.get_by_id(campaign.id).status_code == "no_smsc"


def test_a_message_partly_paid_by_free_credit_costs_its_full_price_once(db):
    from decimal import Decimal
    from voxcast.billing import ledger
    tenant = _tenant("acme", balance="1", sms="0.05")
    ledger.grant_free(tenant.id, amount="0.04", reference="promo")
    _campaign(tenant, phones=["+4930111"], sms_text="Hello there {first_name}")  # 2 segments
    d = sms()
    [w] = d.claim(5)
    assert d.accepted(w.message_id, "x") == Decimal("0.1000")
    assert d.accepted(w.message_id, "x") == Decimal("0.1000")  # a repeat: the same, once
    assert Message.get_by_id(w.message_id).cost == Decimal("0.1000")
    assert ledger.balance(tenant.id) == Decimal("0.9400")  # 0.04 of it was free


def test_a_rate_limit_noted_by_the_sender_is_not_cleared_by_a_claim_that_may_not_send(db):
    from voxcast.messaging.dispatch import Dispatcher, Rendered
    tenant = _tenant("acme")
    Tenant.update(features="email").where(Tenant.id == tenant.id).execute()
    campaign = _campaign(tenant, kind="email", phones=["+4930111"], emails=["a@example.com"])
    mail = Dispatcher("email", lambda c, f: Rendered("hi", subject="s"))

    seen = []

    def used_up(tenant_id):  # as EmailService.per_tenant does when the hour is used up
        seen.append(Campaign.get_by_id(campaign.id).status_code)
        lifecycle.note(campaign.id, lifecycle.Cause("email_rate", {"limit": 3}))
        return 0

    assert mail.claim(10, per_tenant=used_up) == []
    assert mail.claim(10, per_tenant=used_up) == []
    assert seen == ["", "email_rate"]  # never cleared in between (a reader saw it blink)
    assert Campaign.get_by_id(campaign.id).status_code == "email_rate"
    assert len(mail.claim(10, per_tenant=lambda tenant_id: 5)) == 1
    assert Campaign.get_by_id(campaign.id).status_code == ""
