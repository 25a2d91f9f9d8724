"""The pure parts of fax: the dialplan's result event parsed, an attempt's state and error
from its result and its call, and the DID route "fax" chosen like any other destination."""
from __future__ import annotations

import datetime as dt

from voxcast.messaging.fax.records import FaxResult, outcome, parse_result, split_emails
from voxcast.numbers.did_routes import DidRoute, Slot, destination


def test_given_the_user_event_fields_then_a_fax_result():
    got = parse_result({"status": "SUCCESS", "pages": "3", "error": "", "station": " 4930 1 ",
                        "mode": "T38", "bitrate": "14400", "eventname": "VoxcastFax"})
    assert got == FaxResult("SUCCESS", 3, "", "4930 1", "T38", "14400") and got.ok
    assert parse_result({"status": "", "pages": ""}) == FaxResult()
    assert not parse_result({"status": "SUCCESS", "pages": "0"}).ok


def test_given_attempts_then_sent_only_when_pages_went_and_the_reason_otherwise():
    assert outcome(FaxResult("SUCCESS", 2), "ANSWERED", "Normal Clearing") == ("sent", "")
    assert outcome(None, "BUSY", "User busy") == ("failed", "BUSY: User busy")
    assert outcome(None, "NO ANSWER", "") == ("failed", "NO ANSWER")
    state, error = outcome(None, "ANSWERED", "Normal Clearing")
    assert state == "failed" and "no fax result" in error
    assert outcome(FaxResult("FAILED", 0, "T38_NEG_ERROR"), "ANSWERED", "") == (
        "failed", "no fax machine answered (T38_NEG_ERROR)")
    assert outcome(FaxResult("FAILED", 1, "HANGUP"), "ANSWERED", "") == (
        "failed", "fax failed after 1 page(s) (HANGUP)")


def test_given_fax_emails_as_typed_then_the_addresses():
    assert split_emails("a@x.test, b@y.test;c@z.test\nnot-an-address") == [
        "a@x.test", "b@y.test", "c@z.test"]
    assert split_emails("") == []


def _route(**kw) -> DidRoute:
    base = dict(number="4930100", tenant_id=1, tenant_status="active", tenant_channel_limit=5,
                greeting_file="", greeting_text="Hello")
    return DidRoute(**{**base, **kw})


def test_given_route_fax_then_the_fax_destination_without_a_target():
    now = dt.datetime(2026, 12, 2, 12, 0)
    dest = destination(_route(route="fax"), now)
    assert (dest.kind, dest.target, dest.closed) == ("fax", None, False)
    dest = destination(_route(route="greeting", closed_route="fax", timezone="UTC",
                              slots=(Slot("0123456", "00:00", "00:01"),)), now)
    assert (dest.kind, dest.closed) == ("fax", True)


def test_given_an_attempt_whose_call_ended_while_the_app_was_away_then_failed_and_retried(db):
    from models import Call, Campaign, CampaignContact, Contact, ContactGroup, Tenant
    from models.entities import FaxDocument, Message, utcnow
    from voxcast.messaging.fax import records

    tenant = Tenant.create(name="faxer", slug="faxer")
    group = ContactGroup.create(tenant=tenant, name="g")
    contact = Contact.create(tenant=tenant, group=group, phone="+15550100")
    doc = FaxDocument.create(tenant=tenant, name="d", tiff="t.tif", pdf="t.pdf", pages=2)
    campaign = Campaign.create(tenant=tenant, name="c", type="fax", fax_document=doc,
                               status="running", retry_failed=1, retry_interval=60)
    entry = CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                                   phone=contact.phone, state="dialing", attempts=1)
    call = Call.create(tenant=tenant, campaign=campaign, contact=contact, entry=entry,
                       number=contact.phone, direction="outbound", channel_id="vx-1",
                       started_at=utcnow())
    attempt = records.open_attempt(tenant.id, campaign.id, entry.id, call.id, "vx-1",
                                   contact.phone, "", doc.id)
    assert Message.get_by_id(attempt.message_id).state == "submitting"
    assert records.close_orphans() == 0  # its call is still up
    now = utcnow()
    Call.update(ended_at=now, answered_at=now, disposition="ANSWERED").where(
        Call.id == call.id).execute()
    CampaignContact.update(state="done").where(CampaignContact.id == entry.id).execute()
    assert records.close_orphans() == 1
    msg = Message.get_by_id(attempt.message_id)
    assert (msg.state, msg.units) == ("failed", 0) and "no fax result" in msg.error
    entry = CampaignContact.get_by_id(entry.id)
    assert entry.state == "pending" and entry.next_attempt_at > now  # retry_failed 1
    assert records.close_orphans() == 0


def test_given_credit_short_of_the_pages_when_an_attempt_opens_then_unclaimed_and_paused(db):
    from decimal import Decimal

    from models import Call, Campaign, CampaignContact, Contact, ContactGroup, RatePlan, Tenant
    from models.entities import FaxDocument, Message, utcnow
    from voxcast.billing import ledger
    from voxcast.messaging.fax import records

    plan = RatePlan.create(name="fax", fax_page_price=Decimal("1.00"))
    tenant = Tenant.create(name="faxer", slug="faxer", rate_plan=plan)
    ledger.credit(tenant.id, "2.50", reference="test")
    group = ContactGroup.create(tenant=tenant, name="g")
    doc = FaxDocument.create(tenant=tenant, name="d", tiff="t.tif", pdf="t.pdf", pages=2)
    campaign = Campaign.create(tenant=tenant, name="c", type="fax", fax_document=doc,
                               status="running")

    def claim(n):
        contact = Contact.create(tenant=tenant, group=group, phone=f"+1555010{n}")
        entry = CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                                       phone=contact.phone, state="dialing", attempts=1)
        call = Call.create(tenant=tenant, campaign=campaign, contact=contact, entry=entry,
                           number=contact.phone, direction="outbound", channel_id=f"vx-{n}",
                           started_at=utcnow())
        return entry, call, records.open_attempt(tenant.id, campaign.id, entry.id, call.id,
                                                 f"vx-{n}", contact.phone, "", doc.id)

    _e1, _c1, first = claim(1)  # 2 pages of 2.50: covered
    assert isinstance(first, records.Attempt)
    assert records.affordable_sends(tenant.id, doc.id) == 0  # 2.50 - 2 owed < 2
    entry, call, second = claim(2)  # 2 more while the first is not charged: 4 > 2.50
    assert second == records.NO_CREDIT
    assert Campaign.get_by_id(campaign.id).status_code == "no_credit"
    assert Message.select().count() == 1
    records.requeue_entry(entry.id)  # after its CDR is closed
    entry = CampaignContact.get_by_id(entry.id)
    assert (entry.state, entry.attempts) == ("pending", 0)
    ledger.credit(tenant.id, "10.00", reference="top-up")
    assert records.affordable_sends(tenant.id, doc.id) == 5  # 12.50 - 2 owed, 2 a send
    assert records.pages_affordable(tenant.id, doc.id)
