"""The message dispatcher on a real SQLite file: claims, DNC, credit, charges, retries and
recovery, with a render function standing in for a channel's templates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import models
from models import Campaign, CampaignContact, Contact, ContactGroup, DncNumber, Tenant
from models.entities import EmailDnc, LedgerEntry, Message, RatePlan, SmscConnection, Timeslot
from voxcast.billing import ledger
from voxcast.messaging.dispatch import Dispatcher, Rendered, RenderError

NOW = dt.datetime(2026, 3, 2, 12, 0)  # a Monday, noon UTC


@pytest.fixture
def db(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'dispatch.sqlite3'}")
    models.create_schema()
    SmscConnection.create(name="smsc", system_id="sys", is_default=True)  # SMS has a way out
    yield models.database
    models.database.close()


@pytest.fixture(autouse=True)
def smsc_connection(db):
    """SMS has a way out on PostgreSQL too (the twin's `db` is its own, without one)."""
    return SmscConnection.get_or_none(SmscConnection.name == "smsc") or \
        SmscConnection.create(name="smsc", system_id="sys", is_default=True)


def _tenant(slug, balance="10", sms="0.05", email="0.01"):
    plan = RatePlan.create(name=f"plan-{slug}", sms_price=Decimal(sms), email_price=Decimal(email))
    tenant = Tenant.create(name=slug, slug=slug, rate_plan=plan)
    if Decimal(balance):
        ledger.credit(tenant.id, Decimal(balance), reference="opening")
    return tenant


def _campaign(tenant, kind="sms", phones=(), emails=(), **fields):
    group = ContactGroup.create(tenant=tenant, name=f"g-{tenant.slug}-{kind}")
    for i, phone in enumerate(phones):
        Contact.create(tenant=tenant, group=group, phone=phone, first_name=f"N{i}",
                       email=emails[i] if i < len(emails) else "")
    campaign = Campaign.create(tenant=tenant, name=f"{kind}-{tenant.slug}", type=kind, group=group,
                               status="running", **{"sms_text": "Hi {first_name}", **fields})
    for contact in Contact.select().where(Contact.group == group):
        CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                               phone=contact.phone, next_attempt_at=NOW - dt.timedelta(minutes=1))
    return campaign


def render_sms(campaign, fields):
    if fields["first_name"] == "boom":
        raise RenderError("field boom cannot be filled")
    text = campaign.sms_text.replace("{first_name}", fields["first_name"])
    return Rendered(text, units=2 if len(text) > 10 else 1, encoding="gsm7")


def sms(**kw):
    return Dispatcher("sms", render_sms, clock=lambda: NOW, **kw)


def test_given_a_running_sms_campaign_when_claimed_then_each_contact_has_a_queued_message(db):
    tenant = _tenant("acme")
    campaign = _campaign(tenant, phones=["+4930111", "+4930112", "+4930113"])
    work = sms().claim(10)
    assert sorted(w.address for w in work) == ["+4930111", "+4930112", "+4930113"]
    assert {w.rendered.body for w in work} == {"Hi N0", "Hi N1", "Hi N2"}
    assert Message.select().where(Message.state == "queued").count() == 3
    states = {e.state for e in CampaignContact.select().where(CampaignContact.campaign == campaign)}
    assert states == {"dialing"}
    assert sms().claim(10) == []  # nothing twice


def test_given_a_number_on_the_dnc_list_then_it_is_never_sent(db):
    tenant = _tenant("acme")
    _campaign(tenant, phones=["+4930111", "+4930112"])
    DncNumber.create(tenant=tenant, phone="+4930112")
    work = sms().claim(10)
    assert [w.address for w in work] == ["+4930111"]
    entry = CampaignContact.get(CampaignContact.phone == "+4930112")
    assert entry.state == "dnc"


def test_given_too_little_credit_then_what_fits_is_sent_and_the_campaign_pauses(db):
    tenant = _tenant("poor", balance="0.25", sms="0.10")  # room for two single messages
    campaign = _campaign(tenant, phones=["+4930111", "+4930112", "+4930113", "+4930114"])
    work = sms().claim(10)
    assert len(work) == 2
    assert Campaign.get_by_id(campaign.id).status == "paused"
    assert Campaign.get_by_id(campaign.id).status_code == "no_credit"
    # The two claimed but not yet charged count against the credit: a second claim takes none.
    Campaign.update(status="running").where(Campaign.id == campaign.id).execute()
    assert sms().claim(10) == []


def test_accepted_charges_units_once_and_finished_settles_the_contact(db):
    tenant = _tenant("acme", balance="10", sms="0.05")
    campaign = _campaign(tenant, phones=["+4930111"], sms_text="Hello there {first_name}")
    d = sms()
    [w] = d.claim(5)
    assert w.rendered.units == 2
    assert d.submitting(w.message_id)
    assert d.accepted(w.message_id, "abc") == Decimal("0.1000")
    assert d.accepted(w.message_id, "abc") == Decimal("0.1000")  # a repeat charges nothing more
    charges = LedgerEntry.select().where(LedgerEntry.kind == "sms")
    assert [c.amount for c in charges] == [Decimal("-0.1000")]
    assert ledger.balance(tenant.id) == Decimal("9.9000")
    d.finished(w.message_id, "delivered")
    entry = CampaignContact.get_by_id(w.entry_id)
    assert (entry.state, entry.result) == ("done", "delivered")
    assert Campaign.get_by_id(campaign.id).status == "completed"


def test_a_failure_is_retried_while_the_campaign_allows_then_fails(db):
    tenant = _tenant("acme")
    _campaign(tenant, phones=["+4930111"], retry_failed=1, retry_interval=60)
    now = [NOW]
    d = Dispatcher("sms", render_sms, clock=lambda: now[0])
    [w] = d.claim(5)
    d.finished(w.message_id, "rejected", "ESME_RINVDSTADR", retry=True)
    entry = CampaignContact.get_by_id(w.entry_id)
    assert entry.state == "pending" and entry.next_attempt_at == NOW + dt.timedelta(seconds=60)
    assert d.claim(5) == []  # not due yet
    now[0] = NOW + dt.timedelta(seconds=61)
    [again] = d.claim(5)
    assert again.attempt == 2
    d.finished(again.message_id, "rejected", "ESME_RINVDSTADR", retry=True)
    assert CampaignContact.get_by_id(w.entry_id).state == "failed"


def test_a_render_error_fails_only_that_contact(db):
    tenant = _tenant("acme")
    campaign = _campaign(tenant, phones=["+4930111", "+4930112"])
    Contact.update(first_name="boom").where(Contact.phone == "+4930111").execute()
    work = sms().claim(5)
    assert [w.address for w in work] == ["+4930112"]
    entry = CampaignContact.get((CampaignContact.campaign == campaign) & (CampaignContact.phone == "+4930111"))
    assert entry.state == "failed" and "boom" in entry.last_disposition


def test_outside_the_tenants_timeslots_nothing_is_claimed(db):
    tenant = _tenant("acme")
    campaign = _campaign(tenant, phones=["+4930111"])
    Timeslot.create(tenant=tenant, weekdays="0123456", start_time="20:00", end_time="21:00")
    assert sms().claim(5) == []
    assert Campaign.get_by_id(campaign.id).status_code == "closed_until"


def test_a_tenant_without_the_feature_sends_nothing(db):
    tenant = _tenant("acme")
    Tenant.update(features="voice_message email").where(Tenant.id == tenant.id).execute()
    _campaign(tenant, phones=["+4930111"])
    assert sms().claim(5) == []


def test_per_tenant_cap_and_fair_share_between_campaigns(db):
    a, b = _tenant("a"), _tenant("b")
    _campaign(a, phones=[f"+49301{i:03}" for i in range(10)])
    _campaign(b, phones=[f"+49302{i:03}" for i in range(10)])
    work = sms().claim(6)
    assert sorted({w.tenant_id for w in work}) == [a.id, b.id] and len(work) == 6
    work = sms().claim(20, per_tenant=lambda tenant_id: 1 if tenant_id == a.id else 100)
    assert sum(w.tenant_id == a.id for w in work) == 1


def test_email_uses_the_contact_address_and_the_email_dnc(db):
    tenant = _tenant("acme")
    _campaign(tenant, kind="email", phones=["+4930111", "+4930112", "+4930113"],
              emails=["Ann@Example.com", "bob@example.com", ""])
    EmailDnc.create(tenant=tenant, address="bob@example.com", source="unsubscribe")
    d = Dispatcher("email", lambda c, f: Rendered("hello", subject="Hi"), clock=lambda: NOW)
    work = d.claim(10)
    assert [w.address for w in work] == ["ann@example.com"]
    results = {e.phone: (e.state, e.result) for e in CampaignContact.select()}
    assert results["+4930112"] == ("dnc", "dnc")
    assert results["+4930113"] == ("failed", "no_address")


def test_recover_undoes_queued_and_reports_submitting(db):
    tenant = _tenant("acme")
    _campaign(tenant, phones=["+4930111", "+4930112"])
    d = sms()
    first, second = d.claim(5)
    d.submitting(second.message_id)
    assert d.recover() == [second.message_id]
    assert Message.get_or_none(Message.id == first.message_id) is None
    entry = CampaignContact.get_by_id(first.entry_id)
    assert (entry.state, entry.attempts) == ("pending", 0)
    [again] = d.claim(5)
    assert again.entry_id == first.entry_id


# -- the batch APIs (the SMS service's writer) -------------------------------------------------

def _counting_price(prices):
    calls = []

    def unit_price(tenant_id, kind):
        calls.append((tenant_id, kind))
        return Decimal(prices[tenant_id])
    return unit_price, calls


def test_accepted_many_charges_each_message_once_in_one_ledger_insert_per_tenant(db):
    acme, beta = _tenant("acme", balance="10"), _tenant("beta", balance="5")
    _campaign(acme, phones=["+4930111", "+4930112", "+4930113"])
    _campaign(beta, phones=["+4930211", "+4930212"])
    unit_price, calls = _counting_price({acme.id: "0.05", beta.id: "0.10"})
    d = sms(unit_price=unit_price)
    work = d.claim(10)
    assert len(work) == 5
    d.submitting_many([w.message_id for w in work])
    already = next(w for w in work if w.tenant_id == acme.id)
    assert d.accepted(already.message_id, "x-1", units=1) == Decimal("0.0500")  # charged before
    calls.clear()
    before = LedgerEntry.select().count()

    items = [(w.message_id, f"id-{w.message_id}", 2) for w in work]
    costs = d.accepted_many(items + [items[-1]])  # a repeat inside the batch too

    assert sorted(calls) == sorted({(acme.id, "sms"), (beta.id, "sms")})  # one price read each
    assert LedgerEntry.select().count() == before + 4  # the one charged before: not again
    refs = [e.message_ref for e in LedgerEntry.select().where(LedgerEntry.kind == "sms")]
    assert sorted(refs) == sorted(f"message:{w.message_id}" for w in work)  # once each
    assert costs[already.message_id] == Decimal("0.0500")  # its first charge's cost
    for w in work:
        m = Message.get_by_id(w.message_id)
        assert m.state == "submitted" and m.submitted_at == NOW
        assert m.external_id == f"id-{w.message_id}"  # the later id, as accepted does
        if w is not already:
            price = Decimal("0.05") if w.tenant_id == acme.id else Decimal("0.10")
            assert m.units == 2 and m.cost == price * 2 == costs[w.message_id]
    assert ledger.balance(acme.id) == Decimal("10") - Decimal("0.05") - 2 * Decimal("0.10")
    assert ledger.balance(beta.id) == Decimal("5") - 2 * Decimal("0.20")
    for tenant in (acme, beta):  # the running balances stay the ledger's sum
        assert ledger.balance(tenant.id) == ledger.ledger_sum(tenant.id)
        last = (LedgerEntry.select().where(LedgerEntry.tenant == tenant.id)
                .order_by(LedgerEntry.id.desc()).first())
        assert last.balance_after == ledger.balance(tenant.id)

    again = d.accepted_many(items)  # the whole batch once more: nothing charged
    assert LedgerEntry.select().count() == before + 4 and again == costs
    assert ledger.balance(beta.id) == Decimal("4.6000")


def test_accepted_many_uses_free_credit_first_and_records_the_full_cost(db):
    tenant = _tenant("acme", balance="10", sms="0.05")
    ledger.grant_free(tenant.id, amount="0.12")
    _campaign(tenant, phones=["+4930111", "+4930112", "+4930113"])
    d = sms()
    work = d.claim(10)
    costs = d.accepted_many([(w.message_id, "", 1) for w in work])
    assert sorted(costs.values()) == [Decimal("0.0500")] * 3
    entries = list(LedgerEntry.select().where(LedgerEntry.kind == "sms").order_by(LedgerEntry.id))
    assert [(e.amount, e.free_money) for e in entries] == [
        (Decimal("0"), Decimal("0.05")), (Decimal("0"), Decimal("0.05")),
        (Decimal("-0.03"), Decimal("0.02"))]
    assert ledger.free_money(tenant.id) == Decimal("0")
    assert ledger.balance(tenant.id) == Decimal("9.97") == ledger.ledger_sum(tenant.id)


def test_finished_many_settles_messages_and_contacts_like_finished(db):
    tenant = _tenant("acme")
    campaign = _campaign(tenant, phones=["+4930111", "+4930112", "+4930113", "+4930114"],
                         retry_failed=1, retry_interval=60)
    d = sms()
    a, b, c, e = d.claim(10)
    d.accepted_many([(w.message_id, "", 1) for w in (a, b, c, e)])
    d.finished(e.message_id, "delivered")
    changed = d.finished_many([
        (a.message_id, "delivered"), (b.message_id, "undelivered", "UNDELIV err:001", True),
        (c.message_id, "expired", "EXPIRED", False), (e.message_id, "delivered")])
    assert changed == 3  # e was delivered already
    got = {w.message_id: (Message.get_by_id(w.message_id).state,
                          Message.get_by_id(w.message_id).error) for w in (a, b, c)}
    assert got == {a.message_id: ("delivered", ""), b.message_id: ("undelivered", "UNDELIV err:001"),
                   c.message_id: ("expired", "EXPIRED")}
    entries = {w.message_id: CampaignContact.get_by_id(w.entry_id) for w in (a, b, c, e)}
    assert (entries[a.message_id].state, entries[a.message_id].result) == ("done", "delivered")
    assert entries[b.message_id].state == "pending"  # retried after the interval
    assert entries[b.message_id].next_attempt_at == NOW + dt.timedelta(seconds=60)
    assert entries[b.message_id].last_disposition == "UNDELIV err:001"
    assert (entries[c.message_id].state, entries[c.message_id].result) == ("failed", "expired")
    assert entries[e.message_id].state == "done"
    assert Campaign.get_by_id(campaign.id).status == "running"  # b is due again
    with pytest.raises(ValueError):
        d.finished_many([(a.message_id, "queued")])


def test_finished_many_completes_the_campaign_and_a_late_answer_speaks_only_for_the_latest(db):
    tenant = _tenant("acme")
    campaign = _campaign(tenant, phones=["+4930111", "+4930112"], retry_failed=1,
                         retry_interval=0)
    d = sms()
    a, b = d.claim(10)
    d.finished_many([(a.message_id, "rejected", "ESME_RSYSERR", True), (b.message_id, "delivered")])
    [again] = d.claim(10)
    assert again.entry_id == a.entry_id
    d.finished_many([(again.message_id, "delivered"), (a.message_id, "failed", "late")])
    entry = CampaignContact.get_by_id(a.entry_id)
    assert (entry.state, entry.result) == ("done", "delivered")
    assert Message.get_by_id(a.message_id).state == "failed"  # the message itself: as said
    assert Campaign.get_by_id(campaign.id).status == "completed"


def test_resume_affordable_resumes_its_channels_campaigns_once_the_next_message_is_paid(db):
    tenant = _tenant("poor", balance="0.05", sms="0.05")
    campaign = _campaign(tenant, phones=["+4930111", "+4930112"],
                         sms_text="Hello there {first_name}")  # two units each
    mail = _campaign(tenant, kind="email", phones=["+4930113"], emails=["a@example.com"])
    d = sms()
    assert d.claim(10) == []  # 0.05 does not pay two units: paused
    assert Campaign.get_by_id(campaign.id).status_code == "no_credit"
    Campaign.update(status="paused", status_code="no_credit").where(Campaign.id == mail.id).execute()
    assert d.resume_affordable() == []
    ledger.credit(tenant.id, "0.04")  # 0.09: still short of 0.10
    assert d.resume_affordable() == []
    ledger.credit(tenant.id, "0.01")
    assert d.resume_affordable() == [campaign.id]
    assert Campaign.get_by_id(campaign.id).status == "running"
    assert Campaign.get_by_id(mail.id).status == "paused"  # another channel's: not judged here
    Campaign.update(status="paused", status_code="user").where(Campaign.id == campaign.id).execute()
    assert d.resume_affordable() == []  # a user's pause is kept


def test_the_stasis_resumer_leaves_sms_and_email_campaigns_to_their_dispatcher(db):
    from voxcast.billing.call_credit import CallBilling
    tenant = _tenant("acme", balance="0")
    sms_campaign = _campaign(tenant, phones=["+4930111"])
    mail = _campaign(tenant, kind="email", phones=["+4930112"], emails=["a@example.com"])
    Campaign.update(status="paused", status_code="no_credit").execute()
    assert CallBilling().resume_paused() == []  # no voice rate: it used to resume them
    assert {c.status for c in Campaign.select().where(
        Campaign.id.in_([sms_campaign.id, mail.id]))} == {"paused"}
