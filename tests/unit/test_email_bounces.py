"""Bounces and the e-mail DNC list on a real database: a DSN found by its VERP address or by
the returned Message-ID, hard and soft, the List-Unsubscribe mailto, forged addresses, and the
service's hourly cap. tests/unit/test_email_bounces_postgres.py runs them on PostgreSQL."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import models
from models import Campaign, CampaignContact, Contact, ContactGroup, Tenant, TenantLog
from models.entities import EmailDnc, Message
from voxcast.messaging.email import dnc as email_dnc
from voxcast.messaging.email.bounces import BounceProcessor
from voxcast.messaging.email.tokens import Signer

from .test_email_templates import DSN

SIGNER = Signer("unit-secret")


@pytest.fixture
def db(tmp_path):
    models.init_database(f"sqlite:///{tmp_path / 'bounces.sqlite3'}")
    models.create_schema()
    yield models.database
    models.database.close()


def _sent_message(slug: str, address: str = "ann@example.com", state: str = "sent"):
    tenant = Tenant.create(name=slug, slug=slug)
    group = ContactGroup.create(tenant=tenant, name="g")
    contact = Contact.create(tenant=tenant, group=group, phone="+15550101", email=address)
    campaign = Campaign.create(tenant=tenant, name="c", type="email", group=group,
                               status="completed")
    entry = CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                                   phone=contact.phone, state="done", result=state, attempts=1)
    message = Message.create(tenant=tenant, channel="email", campaign=campaign, contact=contact,
                             entry=entry, address=address, state=state,
                             external_id=f"<vx-{slug}@provider.test>", cost=Decimal("0.01"))
    return tenant, entry, message


def _dsn(action="failed", status="5.1.1", message_id="<vx5.abc@provider.test>") -> bytes:
    raw = DSN % {b"action": action.encode(), b"status": status.encode()}
    return raw.replace(b"<vx5.abc@provider.test>", message_id.encode())


def test_given_a_hard_dsn_to_the_verp_address_then_bounced_and_on_the_tenants_dnc(db):
    tenant, entry, message = _sent_message("acme")
    other, _, theirs = _sent_message("other")
    done = BounceProcessor(SIGNER).handle([SIGNER.verp(message.id, "b@provider.test")], _dsn())
    assert "hard bounce" in done
    message = Message.get_by_id(message.id)
    assert message.state == "bounced" and "5.1.1" in message.error
    entry = CampaignContact.get_by_id(entry.id)
    assert (entry.state, entry.result) == ("failed", "bounced")
    assert [(r.tenant_id, r.address, r.source) for r in EmailDnc.select()] == \
        [(tenant.id, "ann@example.com", "bounce")]
    assert Message.get_by_id(theirs.id).state == "sent"  # the other tenant's mail untouched
    assert TenantLog.select().where(TenantLog.tenant == tenant.id,
                                    TenantLog.action == "email_dnc.add").count() == 1
    # the same DSN again (an MTA retrying) changes nothing more
    BounceProcessor(SIGNER).handle([SIGNER.verp(message.id, "b@provider.test")], _dsn())
    assert EmailDnc.select().count() == 1


def test_given_a_soft_dsn_then_only_noted(db):
    tenant, entry, message = _sent_message("acme")
    BounceProcessor(SIGNER).handle([SIGNER.verp(message.id, "b@provider.test")],
                                   _dsn(status="4.2.2"))
    message = Message.get_by_id(message.id)
    assert message.state == "sent" and message.error.startswith("soft bounce: 4.2.2")
    assert CampaignContact.get_by_id(entry.id).state == "done" and EmailDnc.select().count() == 0


def test_given_a_dsn_without_verp_then_the_returned_message_id_finds_the_message(db):
    tenant, _, message = _sent_message("acme")
    done = BounceProcessor(SIGNER).handle(["bounce@provider.test"],
                                          _dsn(message_id=message.external_id))
    assert "hard bounce" in done and Message.get_by_id(message.id).state == "bounced"


def test_given_a_forged_verp_address_or_an_unknown_message_then_nothing_changes(db):
    tenant, _, message = _sent_message("acme")
    forged = f"b+{message.id}.{'0' * 12}@provider.test"
    assert BounceProcessor(SIGNER).handle([forged], _dsn()) == "unmatched"
    assert BounceProcessor(Signer("another")).handle(
        [Signer("another").verp(message.id + 1, "b@x.test")], _dsn()) == "unknown message"
    assert Message.get_by_id(message.id).state == "sent" and EmailDnc.select().count() == 0


def test_given_a_bounce_without_dsn_then_its_text_status_decides(db):
    _, _, message = _sent_message("acme")
    plain = (b"From: postmaster@old.example.net\r\nSubject: failure notice\r\n\r\n"
             b"Sorry, I could not deliver: 550 5.1.1 mailbox unavailable\r\n")
    BounceProcessor(SIGNER).handle([SIGNER.verp(message.id, "b@provider.test")], plain)
    assert Message.get_by_id(message.id).state == "bounced"


def test_given_a_mail_to_the_list_unsubscribe_address_then_the_address_is_unsubscribed(db):
    tenant, _, message = _sent_message("acme")
    mailto = SIGNER.verp(message.id, "b@provider.test", kind="u")
    done = BounceProcessor(SIGNER).handle([mailto], b"Subject: unsubscribe\r\n\r\n")
    assert done == "unsubscribed ann@example.com"
    assert [(r.address, r.source) for r in EmailDnc.select()] == [("ann@example.com", "unsubscribe")]
    assert Message.get_by_id(message.id).state == "sent"


def test_given_the_dnc_service_then_addresses_are_normalised_deduplicated_and_per_tenant(db):
    acme = Tenant.create(name="acme", slug="acme")
    other = Tenant.create(name="other", slug="other")
    result = email_dnc.add(acme.id, [" Ann@Example.COM ", "ann@example.com", "bad", "b@x.org"])
    assert (result.added, result.already, [e.value for e in result.errors]) == (2, 0, ["bad"])
    assert email_dnc.add(acme.id, ["ANN@example.com"]).already == 1
    assert email_dnc.is_blocked(acme.id, "Ann@example.com")
    assert not email_dnc.is_blocked(other.id, "ann@example.com")
    assert [r.address for r in email_dnc.search(acme.id, "b@")] == ["b@x.org"]
    assert email_dnc.remove(other.id, ["ann@example.com"]) == 0
    assert email_dnc.remove(acme.id, ["ann@example.com"]) == 1
    rows = email_dnc.parse_upload(b"Name,E-Mail\nAnn,ann@example.com\nBob,bob@example.com\n")
    assert rows == [(2, "ann@example.com"), (3, "bob@example.com")]
    assert email_dnc.parse_upload(b"x@example.com\ny@example.com\n") == [
        (1, "x@example.com"), (2, "y@example.com")]


def test_given_the_hourly_rate_then_the_cap_counts_the_last_hours_sent_and_in_flight(db, tmp_path):
    from messaging_app.email_sender import EmailService
    from voxcast.config import Settings
    now = dt.datetime(2026, 3, 2, 12, 0)
    tenant = Tenant.create(name="acme", slug="acme", email_per_hour=5)
    for state, submitted in (("sent", now - dt.timedelta(minutes=59)),
                             ("sent", now - dt.timedelta(minutes=61)),  # an hour ago: free again
                             ("bounced", None), ("queued", None), ("submitting", None)):
        Message.create(tenant=tenant, channel="email", address="a@example.com", state=state,
                       submitted_at=submitted)
    service = EmailService(Settings(instance="t", runtime_dir=tmp_path), env={},
                           clock=lambda: now)
    assert service.per_tenant(tenant.id) == 5 - 3
    Tenant.update(email_per_hour=2).where(Tenant.id == tenant.id).execute()
    assert service.per_tenant(tenant.id) == 0


def test_given_a_campaign_paused_after_the_claim_then_its_queued_mails_are_not_sent(db, tmp_path):
    from messaging_app.email_sender import EmailService
    from models import Campaign, CampaignContact, Contact, ContactGroup
    from voxcast.config import Settings

    class NoLink:  # any hand-off to SMTP fails the test
        is_open = False

        def open(self):
            raise AssertionError("a mail of a paused campaign was handed to SMTP")

    tenant = Tenant.create(name="acme", slug="acme", features="email")
    group = ContactGroup.create(tenant=tenant, name="g")
    campaign = Campaign.create(tenant=tenant, name="m", type="email", group=group,
                               status="running", email_subject="Hi", email_text="Hello")
    for n in range(2):
        contact = Contact.create(tenant=tenant, group=group, phone=f"+4930{n}",
                                 email=f"c{n}@example.com")
        CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                               phone=contact.phone, next_attempt_at=dt.datetime(2000, 1, 1))
    service = EmailService(Settings(instance="t", runtime_dir=tmp_path), env={}, link=NoLink())
    claimed = service.dispatcher.claim(10, service.per_tenant)
    assert len(claimed) == 2
    Campaign.update(status="paused").where(Campaign.id == campaign.id).execute()

    assert [service.send_one(out) for out in claimed] == ["withdrawn", "withdrawn"]
    assert not Message.select().where(Message.campaign == campaign.id).exists()
    assert {(e.state, e.attempts) for e in CampaignContact.select()} == {("pending", 0)}
