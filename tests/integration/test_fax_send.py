"""Fax campaigns through the real Asterisk: SendFAX to a number whose call loops back into the
same Asterisk, where a DID with route "fax" receives it with ReceiveFAX; and a number answered
by a person (sipp, audio only, no fax) that fails cleanly and is retried."""
from __future__ import annotations

import itertools
from decimal import Decimal

from models import Call, CampaignContact, Campaign, Did, RatePlan, Tenant
from models.entities import LedgerEntry, Message, Rate
from voxcast.billing import ledger
from voxcast.campaigns import services as campaign_service
from voxcast.messaging.fax import documents

from .conftest import wait_for
from .factories import make_group, reload, unique_phones
from .fax_support import fax_looped_back, make_pdf, trunk_looped_back
from .sipp import Sipp

_seq = itertools.count(1)
PAGE_PRICE = Decimal("0.0500")


def _tenant(per_minute: Decimal = Decimal("0")) -> Tenant:
    """A tenant of its own: call minutes to 1555 at `per_minute` (a fax campaign's calls are
    not charged by the minute), fax pages at PAGE_PRICE, 10.00 credit."""
    n = next(_seq)
    plan = RatePlan.create(name=f"fax-plan-{n}", fax_page_price=PAGE_PRICE)
    Rate.create(plan=plan, prefix="1555", per_minute=per_minute, initial_s=1, increment_s=1)
    tenant = Tenant.create(name=f"fax-{n}", slug=f"fax-{n}", rate_plan=plan, channel_limit=10)
    ledger.credit(tenant.id, "10.00", reference="test credit")
    Did.create(number=f"1555999{n:04d}", tenant=tenant)  # its caller ID (and fax station id)
    return tenant


def _campaign(tenant, settings, phones, doc, **fields) -> Campaign:
    caller_id = Did.get(Did.tenant == tenant.id, Did.route != "fax").number
    return Campaign.create(tenant=tenant, name=f"fax-campaign-{next(_seq)}", type="fax",
                           group=make_group(tenant, phones), fax_document=doc,
                           caller_id=caller_id, channel_limit=1, **fields)


def _fax_charges(tenant) -> list[LedgerEntry]:
    return list(LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                           LedgerEntry.kind == "fax"))



def test_given_fax_campaign_when_the_number_receives_faxes_then_every_page_arrives_and_is_billed(
        stasis_app, settings, smtp_peer, workdir):
    tenant = _tenant(per_minute=Decimal("6.00"))  # minutes priced: only the pages are charged
    doc = documents.upload(tenant.id, "three pages", "three.pdf",
                           make_pdf(workdir / "three.pdf", 3).read_bytes(), settings)
    assert doc.pages == 3
    (phone,) = unique_phones(1)
    Did.create(number=phone.lstrip("+"), tenant=tenant, route="fax",
               fax_emails="fax-in@example.test")
    campaign = _campaign(tenant, settings, [phone], doc, retry_failed=0)
    mails_before = len(smtp_peer.messages)
    received = fax_looped_back(campaign, settings)

    (sent,) = Message.select().where(Message.campaign == campaign)
    assert sent.channel == "fax" and sent.direction == "outbound"
    assert sent.state == "sent", (sent.state, sent.error, sent.body)
    assert sent.units == 3 and sent.address == phone
    call = Call.get_by_id(sent.call_id)
    assert call.campaign_id == campaign.id and call.disposition == "ANSWERED"
    assert call.ended_at is not None
    (entry,) = CampaignContact.select().where(CampaignContact.campaign == campaign)
    assert (entry.state, entry.result, entry.attempts) == ("done", "sent", 1)

    # the receiving side: the same pages, a PDF for the tenant, e-mailed
    assert received.channel == "fax" and received.state == "received", received.error
    assert received.units == sent.units == 3
    assert received.sender == phone.lstrip("+") and received.cost == 0
    pdf = settings.faxes_dir / received.document
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF-")
    mail = wait_for(lambda: next((m for m in smtp_peer.messages[mails_before:]
                                  if m["To"] == "fax-in@example.test"), None), 20,
                    message="received fax mailed")
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf.read_bytes()

    # billed: pages x the per-page price, once; the call's minutes are not (cost 0)
    assert call.billsec > 0 and call.cost == 0
    assert not LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                          LedgerEntry.kind == "call").exists()
    (charge,) = _fax_charges(tenant)
    assert -Decimal(charge.amount) == PAGE_PRICE * 3 or Decimal(charge.amount) == PAGE_PRICE * 3
    assert Decimal(sent.cost) == PAGE_PRICE * 3
    tenant = Tenant.get_by_id(tenant.id)
    assert Decimal(tenant.balance) == Decimal("10.00") - PAGE_PRICE * 3
    assert Decimal(tenant.balance) == ledger.ledger_sum(tenant.id)


def test_given_a_trunk_without_t38_when_a_fax_campaign_sends_then_it_goes_in_audio(
        stasis_app, settings, workdir):
    tenant = _tenant()
    doc = documents.upload(tenant.id, "two pages", "two.pdf",
                           make_pdf(workdir / "two.pdf", 2).read_bytes(), settings)
    (phone,) = unique_phones(1)
    Did.create(number=phone.lstrip("+"), tenant=tenant, route="fax")
    campaign = _campaign(tenant, settings, [phone], doc, retry_failed=0)
    received = fax_looped_back(campaign, settings, t38=False, timeout=180)
    (sent,) = Message.select().where(Message.campaign == campaign)
    assert (sent.state, sent.units) == ("sent", 2), (sent.error, sent.body)
    assert "mode=audio" in sent.body and "mode=audio" in received.body
    assert (received.state, received.units) == ("received", 2)
    assert Decimal(sent.cost) == PAGE_PRICE * 2


def test_given_fax_campaign_when_a_person_answers_then_the_attempt_fails_and_is_retried(
        stasis_app, settings, workdir):
    tenant = _tenant()
    doc = documents.upload(tenant.id, "one page", "one.pdf",
                           make_pdf(workdir / "one.pdf", 1).read_bytes(), settings)
    (phone,) = unique_phones(1)
    campaign = _campaign(tenant, settings, [phone], doc, retry_failed=1, retry_interval=1)
    uas = Sipp.uas("uas_fax_voice_only.xml", workdir, settings.trunk_port, calls=2).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 120,
                 message="fax campaign completed")
        assert uas.wait(20) == 0, uas.diagnostics()
    finally:
        uas.stop()
    messages = list(Message.select().where(Message.campaign == campaign).order_by(Message.id))
    assert len(messages) == 2  # the first attempt and its one retry
    for msg in messages:
        assert msg.state == "failed" and msg.error, (msg.state, msg.error)
        assert msg.units == 0 and not msg.cost
        call = Call.get_by_id(msg.call_id)
        assert call.ended_at is not None and call.disposition == "ANSWERED"
    (entry,) = CampaignContact.select().where(CampaignContact.campaign == campaign)
    assert (entry.state, entry.result, entry.attempts) == ("failed", "failed", 2)
    assert entry.last_disposition == messages[-1].error
    assert not _fax_charges(tenant)


def test_given_fax_campaign_when_the_number_is_busy_then_each_attempt_fails_with_the_reason(
        stasis_app, settings, workdir):
    tenant = _tenant()
    doc = documents.upload(tenant.id, "one page", "one.pdf",
                           make_pdf(workdir / "one.pdf", 1).read_bytes(), settings)
    (phone,) = unique_phones(1)
    campaign = _campaign(tenant, settings, [phone], doc, retry_busy=1, retry_interval=1)
    uas = Sipp.uas("uas_busy.xml", workdir, settings.trunk_port, calls=2).start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 60,
                 message="fax campaign completed")
        assert uas.wait(15) == 0, uas.diagnostics()
    finally:
        uas.stop()
    messages = list(Message.select().where(Message.campaign == campaign).order_by(Message.id))
    assert [(m.state, m.units, m.attempts) for m in messages] == [("failed", 0, 1),
                                                                   ("failed", 0, 2)]
    assert all(m.error.startswith("BUSY") for m in messages), [m.error for m in messages]
    assert {Call.get_by_id(m.call_id).disposition for m in messages} == {"BUSY"}
    (entry,) = CampaignContact.select().where(CampaignContact.campaign == campaign)
    assert (entry.state, entry.result, entry.attempts) == ("failed", "failed", 2)
    assert not _fax_charges(tenant)


def test_given_credit_short_of_the_pages_when_started_then_paused_until_a_top_up(
        stasis_app, settings, workdir):
    tenant = _tenant()
    doc = documents.upload(tenant.id, "three pages", "three.pdf",
                           make_pdf(workdir / "three.pdf", 3).read_bytes(), settings)
    ledger.charge(tenant.id, Decimal("9.90"), reference="spent elsewhere")  # 0.10 left
    (phone,) = unique_phones(1)
    Did.create(number=phone.lstrip("+"), tenant=tenant, route="fax")
    campaign = _campaign(tenant, settings, [phone], doc, retry_failed=0)
    with trunk_looped_back(settings):
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status_code == "no_credit", 20,
                 message="fax campaign paused for credit")
        assert reload(campaign).status == "paused"
        assert not Message.select().where(Message.campaign == campaign).exists()
        assert not Call.select().where(Call.campaign == campaign).exists()
        ledger.credit(tenant.id, "1.00", reference="top-up")
        wait_for(lambda: reload(campaign).status == "completed", 150,
                 message="fax campaign resumed and completed")
    (sent,) = Message.select().where(Message.campaign == campaign)
    assert (sent.state, sent.units) == ("sent", 3)
    assert Decimal(Tenant.get_by_id(tenant.id).balance) == Decimal("1.10") - PAGE_PRICE * 3
