"""The SMS service's own rules without a network: rate limits, rendering, and what a restart
does with messages the last run left `submitting` (the bind-loss rule)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from models import Campaign, CampaignContact, Contact, ContactGroup, Tenant
from models.entities import LedgerEntry, Message, MessagePart, RatePlan
from messaging_app.smpp_bind import RateLimiter
from messaging_app.sms import RESTART_ERROR, SmsService, render
from voxcast.billing import ledger
from voxcast.messaging.dispatch import RenderError


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_rate_limiter_never_exceeds_the_rate_in_any_second():
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    assert limiter.available() == 3
    limiter.take(3)
    assert limiter.available() == 0 and limiter.wait_time() == pytest.approx(1.0)
    clock.t += 0.6
    assert limiter.available() == 0 and limiter.wait_time() == pytest.approx(0.4)
    clock.t += 0.4
    assert limiter.available() == 3  # a burst after a pause is still at most 3 a second
    assert RateLimiter(0).available() > 1_000_000 and RateLimiter(0).wait_time() == 0


def test_render_counts_segments_and_refuses_an_empty_text():
    campaign = Campaign(sms_text="Hi {first_name} " + "x" * 160)
    r = render(campaign, {"first_name": "Jörg"})
    assert (r.units, r.encoding) == (2, "gsm7") and r.body.startswith("Hi Jörg ")
    # a name outside GSM 03.38 (ë) makes that contact's text UCS-2: 3 segments of 67
    assert (render(campaign, {"first_name": "Zoë"}).units, render(campaign, {"first_name": "Zoë"}).encoding) == (3, "ucs2")
    assert render(Campaign(sms_text="Cześć {first_name}"), {"first_name": "Ala"}).encoding == "ucs2"
    with pytest.raises(RenderError):
        render(Campaign(sms_text="{first_name}"), {"first_name": ""})


@pytest.fixture
def campaign(db):
    plan = RatePlan.create(name="sms-unit", sms_price=Decimal("0.05"))
    tenant = Tenant.create(name="Smsco", slug="smsco", rate_plan=plan)
    ledger.credit(tenant.id, Decimal("10"))
    group = ContactGroup.create(tenant=tenant, name="g")
    camp = Campaign.create(tenant=tenant, name="c", type="sms", group=group, sms_text="Hi",
                           status="running", retry_failed=3)
    for i in range(4):
        contact = Contact.create(tenant=tenant, group=group, phone=f"+49151000000{i}")
        CampaignContact.create(tenant=tenant, campaign=camp, contact=contact, phone=contact.phone,
                               state="dialing", attempts=1)
    return camp


def _message(campaign, entry, parts):
    m = Message.create(tenant=campaign.tenant_id, channel="sms", campaign=campaign, entry=entry,
                       contact=entry.contact_id, address=entry.phone, units=len(parts) or 1,
                       state="submitting", attempts=1)
    for seq, (state, external_id) in enumerate(parts, start=1):
        MessagePart.create(tenant=campaign.tenant_id, message=m, seq=seq, state=state,
                           external_id=external_id)
    return m


def test_restart_settles_submitting_messages_by_the_bind_loss_rule(campaign):
    e1, e2, e3, e4 = CampaignContact.select().order_by(CampaignContact.id)
    never = _message(campaign, e1, [])  # parts never written: safe to send again
    kept = _message(campaign, e4, [("queued", ""), ("queued", "")])  # a stop kept them
    answered = _message(campaign, e2, [("submitted", "A1"), ("submitted", "A2")])
    unknown = _message(campaign, e3, [("submitted", "B1"), ("submitting", "")])
    summary = SmsService(None)._recover()
    assert summary == {"accepted": 1, "failed": 1, "requeued": 2}

    for message, entry in ((never, e1), (kept, e4)):
        assert Message.get_or_none(Message.id == message.id) is None
        assert MessagePart.select().where(MessagePart.message == message.id).count() == 0
        entry = CampaignContact.get_by_id(entry.id)
        assert (entry.state, entry.attempts) == ("pending", 0)  # claimable again

    answered = Message.get_by_id(answered.id)
    assert answered.state == "submitted" and answered.cost == Decimal("0.10")  # 2 segments

    unknown = Message.get_by_id(unknown.id)
    assert (unknown.state, unknown.error) == ("failed", RESTART_ERROR)
    assert unknown.cost == Decimal("0.05")  # the one part the SMSC accepted
    assert [p.state for p in MessagePart.select().where(MessagePart.message == unknown.id)
            .order_by(MessagePart.seq)] == ["submitted", "unknown"]
    e3 = CampaignContact.get_by_id(e3.id)
    assert e3.state == "failed"  # never re-sent blindly, despite retry_failed=3
    charges = LedgerEntry.select().where(LedgerEntry.kind == "sms").count()
    assert charges == 2
    assert SmsService(None)._recover() == {"accepted": 0, "failed": 0, "requeued": 0}


def test_a_receipt_after_a_restart_is_matched_in_the_database_hex_or_decimal(campaign):
    from models.entities import SmscConnection
    from voxcast.messaging.sms import receipts

    conn = SmscConnection.create(name="c", system_id="x")
    e1 = CampaignContact.select().order_by(CampaignContact.id).first()
    m = _message(campaign, e1, [("submitted", "A1"), ("submitted", "a2")])
    Message.update(state="submitted", connection=conn).where(Message.id == m.id).execute()
    service = SmsService(None)
    service._receipt(conn.id, receipts.parse(b"id:161 stat:DELIVRD err:000"))  # 0xA1
    assert [p.state for p in MessagePart.select().order_by(MessagePart.seq)] == \
        ["delivered", "submitted"]
    assert Message.get_by_id(m.id).state == "submitted"  # one part still to come
    service._receipt(conn.id + 1, receipts.parse(b"id:A2 stat:UNDELIV"))  # other SMSC's id
    assert Message.get_by_id(m.id).state == "submitted"
    service._receipt(conn.id, receipts.parse(b"ID:A2 STAT:UNDELIV ERR:005"))
    m = Message.get_by_id(m.id)
    assert (m.state, m.error) == ("undelivered", "UNDELIV err:005")
    e1 = CampaignContact.get_by_id(e1.id)
    assert e1.result == "undelivered" and e1.state == "pending"  # retry_failed=3 allows one more


class _InlineWriter:
    """The writer thread's jobs, run at once (the test is the only thread)."""

    def post(self, fn, *args):
        fn(*args)


def test_a_paused_campaigns_messages_still_queued_for_a_bind_are_taken_back(campaign):
    from messaging_app.smpp_bind import Bind, Connection, MessageJob, PartJob
    from voxcast.messaging.dispatch import Dispatcher, Outgoing, Rendered
    from voxcast.messaging.sms import segments
    from models.entities import SmscConnection
    conn = SmscConnection.create(name="down", system_id="s")
    service = SmsService(None, writer=_InlineWriter())
    bind = service.binds[conn.id] = Bind(Connection.of(conn), service)
    for entry in CampaignContact.select():
        entry.state, entry.attempts = "pending", 0
        entry.save()
    outs = Dispatcher("sms", render).claim(3)
    for out in outs:
        job = MessageJob(out)
        job.parts = [PartJob(job, seg) for seg in segments.segments(out.rendered.body, 0)]
        for part in job.parts:
            part.part_id = MessagePart.create(tenant=out.tenant_id, message=out.message_id,
                                              seq=part.segment.seq, state="submitting").id
        Message.update(state="submitting").where(Message.id == out.message_id).execute()
        bind.add(job.parts)
        service.in_memory += 1
    sent = bind.queue.popleft()  # one went out before the pause: in flight, kept
    bind.inflight[1] = sent
    other = Outgoing(0, campaign.tenant_id, campaign.id + 1000, 0, 0, "sms", "+1", "",
                     Rendered("x"), 1)
    running_elsewhere = MessageJob(other)
    running_elsewhere.parts = [PartJob(running_elsewhere, segments.segments("x", 0)[0])]
    bind.add(running_elsewhere.parts)

    assert service.withdraw_not_running({campaign.id, campaign.id + 1000}) == 0  # running
    Campaign.update(status="paused").where(Campaign.id == campaign.id).execute()
    assert service.withdraw_not_running({campaign.id + 1000}) == 2

    assert [p.message for p in bind.queue] == [running_elsewhere]
    assert service.in_memory == 1
    kept = Message.get_by_id(sent.message.out.message_id)
    assert kept.state == "submitting"
    assert Message.select().where(Message.campaign == campaign).count() == 1
    states = sorted((e.state, e.attempts) for e in CampaignContact.select())
    assert states == [("dialing", 1), ("pending", 0), ("pending", 0), ("pending", 0)]


def test_a_receipt_before_its_submits_response_is_kept_and_applied_once_it_comes(campaign):
    import types
    from messaging_app.smpp_bind import Bind, Connection, MessageJob, PartJob
    from voxcast.messaging.dispatch import Dispatcher
    from voxcast.messaging.sms import segments
    from models.entities import SmscConnection
    conn = SmscConnection.create(name="fast", system_id="s")
    Campaign.update(smsc=conn.id).where(Campaign.id == campaign.id).execute()
    service = SmsService(None, writer=_InlineWriter())
    bind = service.binds[conn.id] = Bind(Connection.of(conn), service)
    entry = CampaignContact.select().first()
    entry.state, entry.attempts = "pending", 0
    entry.save()
    CampaignContact.update(state="done").where(CampaignContact.id != entry.id).execute()
    [out] = Dispatcher("sms", render).claim(1)
    job = MessageJob(out)
    job.parts = [PartJob(job, segments.segments(out.rendered.body, 0)[0])]
    job.parts[0].part_id = MessagePart.create(tenant=out.tenant_id, message=out.message_id,
                                              seq=1, state="submitting").id
    service.in_memory = 1
    bind.inflight[7] = job.parts[0]  # written; its submit_sm_resp not read yet

    receipt = types.SimpleNamespace(
        esm_class=0x04, short_message=b"id:1A2B sub:001 dlvrd:001 stat:DELIVRD err:000 text:Hi",
        receipted_message_id=None, message_state=None, data_coding=0)
    service.inbound(Connection.of(conn), receipt)  # the receipt first
    assert Message.get_by_id(out.message_id).state == "queued"  # nothing known yet
    bind.inflight.pop(7)
    service.part_submitted(job.parts[0], "1a2b")  # then the response, with the id

    message = Message.get_by_id(out.message_id)
    assert (message.state, message.external_id) == ("delivered", "1a2b")
    assert CampaignContact.get_by_id(entry.id).state == "done"
    assert service.early == {} and service.flush_early(now=1e12) == 0
