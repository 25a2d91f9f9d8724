"""E-mail campaigns end to end: `voxcast messaging` in its own process sends through a real
SMTP server (aiosmtpd) that refuses some recipients and goes away mid-campaign; the web UI
takes the one-click unsubscribe; the bounce listener takes a DSN. Run on SQLite, and on
PostgreSQL with DATABASE_URL set (scripts/pg-test-db.sh)."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import smtplib
import time
import urllib.request
from decimal import Decimal

import pytest

from models import Campaign, CampaignContact, Contact, ContactGroup, Tenant
from models.entities import EmailDnc, LedgerEntry, Message, RatePlan, utcnow
from voxcast.billing import ledger
from voxcast.messaging.email.tokens import Signer

from .conftest import wait_for
from .email_support import SmtpPeer, messaging_process

PRICE = Decimal("0.0100")
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def peer():
    port = 30000 + int(os.environ.get("VOXCAST_PORT_OFFSET", "0") or 0) + 25
    server = SmtpPeer(port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def messaging(db, settings, artifacts, web, peer):
    proc = messaging_process(settings, artifacts, peer.port)
    proc.start()
    yield proc
    proc.stop()


def _tenant(per_hour: int = 1000, balance: str = "50") -> Tenant:
    n = next(_seq)
    plan = RatePlan.create(name=f"mail-plan-{n}-{time.time_ns()}", email_price=PRICE)
    tenant = Tenant.create(name=f"Mailer {n}", slug=f"mailer-{n}-{time.time_ns() % 10**8}",
                           rate_plan=plan, email_per_hour=per_hour)
    ledger.credit(tenant.id, Decimal(balance), reference="opening")
    return tenant


def _addresses(tag: str, n: int) -> list[str]:
    stamp = time.time_ns() % 10**9
    return [f"{tag}{i}.{stamp}@example.com" for i in range(n)]


def _campaign(tenant: Tenant, emails: list[str], **fields) -> Campaign:
    group = ContactGroup.create(tenant=tenant, name=f"list-{next(_seq)}")
    for i, address in enumerate(emails):
        Contact.create(tenant=tenant, group=group, phone=f"+1555{next(_seq):07d}",
                       first_name=f"First{i}", last_name=f"Last{i}", email=address,
                       custom1=f"code-{i}")
    values = {"email_subject": "Offer for {{ first_name }}",
              "email_html": "<html><body><p>Dear {{ first_name }} {{ last_name }},</p>"
                            "<p>your code: <b>{{ custom1 }}</b></p></body></html>",
              "email_text": "", "retry_failed": 0, "retry_interval": 1, **fields}
    campaign = Campaign.create(tenant=tenant, name=f"mail-{next(_seq)}", type="email",
                               group=group, status="running", **values)
    now = utcnow() - dt.timedelta(seconds=1)
    for contact in Contact.select().where(Contact.group == group).order_by(Contact.id):
        CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                               phone=contact.phone, next_attempt_at=now)
    return campaign


def _entries(campaign: Campaign) -> dict[str, CampaignContact]:
    rows = (CampaignContact.select(CampaignContact, Contact).join(Contact)
            .where(CampaignContact.campaign == campaign.id))
    return {r.contact.email: r for r in rows}


def _settled(campaign: Campaign):
    return all(e.state not in ("pending", "dialing") for e in _entries(campaign).values())


def _charges(tenant: Tenant) -> list[LedgerEntry]:
    return list(LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                           LedgerEntry.kind == "email"))


def _sent(campaign: Campaign) -> list[Message]:
    return list(Message.select().where(Message.campaign == campaign.id, Message.state == "sent"))


def test_given_an_email_campaign_when_sent_then_every_contact_gets_one_mail_with_its_fields(
        messaging, peer, settings):
    tenant = _tenant()
    emails = _addresses("all", 8)
    campaign = _campaign(tenant, emails, email_from="Shop <shop@tenant.example.com>",
                         bounce_address="returns@tenant.example.com")
    wait_for(lambda: _settled(campaign), 60, message="campaign settled")
    counts = peer.counts()
    assert [counts[a] for a in emails] == [1] * 8, messaging.log_tail()
    signer = Signer(config_secret(settings))
    messages = {m.address: m for m in _sent(campaign)}
    assert set(messages) == set(emails)
    for i, address in enumerate(emails):
        (msg,) = peer.to(address)
        assert msg["Subject"] == f"Offer for First{i}"
        assert msg["From"] == "Shop <shop@tenant.example.com>" and msg["To"] == address
        assert msg["Message-ID"] == messages[address].external_id
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = [p.strip(" <>") for p in msg["List-Unsubscribe"].split(",")]
        assert https.startswith(f"http://127.0.0.1:{settings.web_port}/u/")
        assert mailto.startswith("mailto:returns+u") and "@tenant.example.com" in mailto
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        assert f"Dear First{i} Last{i}," in html and f"<b>code-{i}</b>" in html
        assert f"Dear First{i} Last{i}," in text and f"code-{i}" in text  # derived from HTML
        assert https in text and https.replace("&", "&amp;") in html  # the visible link
        envelope = peer.envelope_of(address)  # VERP at the campaign's bounce domain
        assert signer.read_verp(envelope) == ("", messages[address].id)
        assert envelope.endswith("@tenant.example.com")
    charges = _charges(tenant)
    assert sorted(c.message_ref for c in charges) == sorted(f"message:{m.id}" for m in messages.values())
    assert all(c.amount == -PRICE for c in charges)
    assert all(m.cost == PRICE for m in messages.values())
    assert all(e.state == "done" and e.result == "sent" for e in _entries(campaign).values())
    assert len({peer.sessions[a.lower()] for a in emails}) == 1  # one SMTP connection for all


def config_secret(settings) -> str:
    from voxcast.config import read_or_create_secret
    return read_or_create_secret(settings.secret_key_file)


def test_given_a_server_refusing_recipients_when_sent_then_5xx_bounce_to_the_dnc_and_4xx_retry(
        messaging, peer):
    tenant = _tenant()
    good, gone, busy = _addresses("rcpt", 3)
    peer.refuse_hard.add(gone.lower())
    peer.refuse_soft[busy.lower()] = 2
    campaign = _campaign(tenant, [good, gone, busy], retry_failed=3, retry_interval=1)
    wait_for(lambda: _settled(campaign), 60, message="campaign settled")
    entries = _entries(campaign)
    assert peer.counts()[good] == 1 and peer.counts()[busy] == 1 and peer.counts()[gone] == 0
    assert peer.soft_refusals[busy.lower()] == 2
    assert (entries[gone].state, entries[gone].result) == ("failed", "bounced")
    assert "550" in entries[gone].last_disposition
    assert (entries[busy].state, entries[busy].result, entries[busy].attempts) == ("done", "sent", 3)
    states = [m.state for m in Message.select().where(Message.entry == entries[busy].id)
              .order_by(Message.id)]
    assert states == ["failed", "failed", "sent"]
    assert {(r.address, r.source) for r in EmailDnc.select().where(EmailDnc.tenant == tenant.id)} \
        == {(gone.lower(), "bounce")}
    assert len(_charges(tenant)) == 2  # the two sent mails only
    # the bounced address gets nothing from a later campaign of the tenant
    again = _campaign(tenant, [gone, _addresses("later", 1)[0]])
    wait_for(lambda: _settled(again), 60, message="second campaign settled")
    assert _entries(again)[gone].state == "dnc" and peer.counts()[gone] == 0


def test_given_a_server_that_goes_away_mid_campaign_when_it_returns_then_nothing_is_lost_or_doubled(
        messaging, peer):
    tenant = _tenant()
    emails = _addresses("outage", 12)
    with peer.lock:
        peer.crash_at = peer.data_seen + 5  # dies holding the 5th message's data, unanswered
        peer.outage_s = 3.0
    outages = peer.outages
    campaign = _campaign(tenant, emails)
    wait_for(lambda: _settled(campaign), 90, message="campaign settled after the outage")
    assert peer.outages == outages + 1, messaging.log_tail()
    counts = peer.counts()
    assert {a: counts[a] for a in emails} == {a: 1 for a in emails}, messaging.log_tail()
    assert len(_sent(campaign)) == 12 and len(_charges(tenant)) == 12
    assert "SMTP link lost" in messaging.log_tail()


def test_given_an_hourly_rate_when_the_campaign_is_larger_then_only_that_many_go_this_hour(
        messaging, peer):
    tenant = _tenant(per_hour=3)
    emails = _addresses("rate", 6)
    campaign = _campaign(tenant, emails)
    wait_for(lambda: sum(peer.counts()[a] for a in emails) >= 3, 60, message="3 mails")
    time.sleep(3)  # several claim rounds of the service
    assert sum(peer.counts()[a] for a in emails) == 3
    states = sorted(e.state for e in _entries(campaign).values())
    assert states == ["done"] * 3 + ["pending"] * 3
    campaign = Campaign.get_by_id(campaign.id)
    assert (campaign.status, campaign.status_code) == ("running", "email_rate")
    assert "hourly e-mail limit (3)" in campaign.status_reason


def test_given_a_one_click_unsubscribe_without_cookies_then_no_more_mail_to_that_address(
        messaging, peer):
    tenant = _tenant()
    first, other = _addresses("unsub", 2)
    campaign = _campaign(tenant, [first, other])
    wait_for(lambda: _settled(campaign), 60, message="campaign settled")
    (msg,) = peer.to(first)
    https = msg["List-Unsubscribe"].split(",")[0].strip(" <>")
    request = urllib.request.Request(https, data=b"List-Unsubscribe=One-Click", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:  # no cookie jar: no cookies
        assert response.status == 200
    assert {(r.address, r.source) for r in EmailDnc.select().where(EmailDnc.tenant == tenant.id)} \
        == {(first.lower(), "unsubscribe")}
    later = _campaign(tenant, [first, other])
    wait_for(lambda: _settled(later), 60, message="next campaign settled")
    assert peer.counts()[first] == 1 and peer.counts()[other] == 2
    assert _entries(later)[first].state == "dnc"
    # another tenant's mail to the same address is not stopped by this tenant's list
    stranger = _tenant()
    theirs = _campaign(stranger, [first])
    wait_for(lambda: _settled(theirs), 60, message="another tenant's campaign")
    assert peer.counts()[first] == 2


def test_given_a_dsn_at_the_bounce_listener_then_the_message_is_bounced_and_the_address_stopped(
        messaging, peer, settings):
    tenant = _tenant()
    (address,) = _addresses("dsn", 1)
    campaign = _campaign(tenant, [address])
    wait_for(lambda: _settled(campaign), 60, message="campaign settled")
    (message,) = _sent(campaign)
    verp = peer.envelope_of(address)
    dsn = (f"From: MAILER-DAEMON@mx.example.net\r\nTo: {verp}\r\n"
           "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
           "--b1\r\nContent-Type: text/plain\r\n\r\nThe mailbox does not exist.\r\n"
           "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
           "Reporting-MTA: dns; mx.example.net\r\n\r\n"
           f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
           f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message.external_id}\r\n"
           "\r\n--b1--\r\n")
    with smtplib.SMTP("127.0.0.1", settings.bounce_port, timeout=10) as smtp:
        smtp.sendmail("", [verp], dsn.encode())
    wait_for(lambda: Message.get_by_id(message.id).state == "bounced", 20, message="bounced")
    assert "5.1.1" in Message.get_by_id(message.id).error
    entry = _entries(campaign)[address]
    assert (entry.state, entry.result) == ("failed", "bounced")
    assert EmailDnc.get(EmailDnc.tenant == tenant.id).source == "bounce"
    assert len(_charges(tenant)) == 1  # it was sent: the charge stays
    # a forged VERP address (wrong mac) changes nothing
    other = _campaign(tenant, _addresses("dsn-ok", 1))
    wait_for(lambda: _settled(other), 60, message="second campaign")
    (kept,) = _sent(other)
    forged = f"bounces+{kept.id}.000000000000@provider.example.com"
    with smtplib.SMTP("127.0.0.1", settings.bounce_port, timeout=10) as smtp:
        smtp.sendmail("", [forged], dsn.replace(verp, forged).replace(
            message.external_id, "<unknown@nowhere>").encode())
    time.sleep(1)
    assert Message.get_by_id(kept.id).state == "sent"


def test_given_a_template_escaping_the_sandbox_when_sent_then_the_contact_fails_and_nothing_goes(
        messaging, peer):
    tenant = _tenant()
    (address,) = _addresses("sandbox", 1)
    campaign = _campaign(tenant, [address], email_html="{{ ''.__class__.__mro__ }}",
                         email_text="")
    wait_for(lambda: _settled(campaign), 60, message="campaign settled")
    entry = _entries(campaign)[address]
    assert entry.state == "failed" and "not allowed" in entry.last_disposition
    assert peer.counts()[address] == 0 and _charges(tenant) == []


def test_given_the_service_killed_while_a_message_is_unanswered_when_restarted_then_it_is_resent_once(
        messaging, peer):
    tenant = _tenant()
    emails = _addresses("crash", 8)
    peer.holding.clear()
    peer.release.clear()
    with peer.lock:
        peer.hold_at = peer.data_seen + 4
    campaign = _campaign(tenant, emails)
    assert peer.holding.wait(60), messaging.log_tail()
    messaging.kill()  # the 4th message is `submitting`, its data unanswered
    held = Message.get(Message.campaign == campaign.id, Message.state == "submitting")
    assert Message.select().where(Message.campaign == campaign.id,
                                  Message.state == "queued").count() > 0  # claimed, not sent
    peer.release.set()
    messaging.start()
    wait_for(lambda: _settled(campaign), 60, message="campaign settled after the restart")
    counts = peer.counts()
    assert {a: counts[a] for a in emails} == {a: 1 for a in emails}, messaging.log_tail()
    (resent,) = peer.to(held.address)
    assert resent["Message-ID"] == Message.get_by_id(held.id).external_id
    assert Message.get_by_id(held.id).state == "sent"
    assert len(_sent(campaign)) == 8 and len(_charges(tenant)) == 8
    assert Message.select().where(Message.campaign == campaign.id).count() == 8
