"""SMS, fax and e-mail campaigns in Debian's Chromium against `voxcast web`: the campaign form
shows only the chosen type's fields (webui/static/campaign_form.js, under the strict CSP), the
SMS counter follows the text as it is typed, each kind is saved and started from the portal,
the campaign page's live figures follow the message records, and the message records report
shows one tenant's messages only. Nothing is sent here (the SMS, fax and e-mail helpers' tests
do that): Message rows are written as the dispatcher writes them."""
from __future__ import annotations

import datetime as dt
import os
import time
from decimal import Decimal

from models import Campaign, CampaignContact, Tenant, User
from models.entities import FaxDocument, Message, SmscConnection

from .conftest import MASTER_PASSWORD, wait_for
from .factories import make_group, unique_phones

VOICE_ONLY = "input[name=message_audio]"  # the voice message upload: hidden for message types
# the test SMSC of this instance (tests/smsc): never another instance's port
SMSC_PORT = 2775 + int(os.environ.get("VOXCAST_PORT_OFFSET", "0"))


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def _watch(page) -> list[str]:
    """CSP violations and script errors (not Chromium's COOP notice for plain http)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text
            or (m.type == "error" and "Cross-Origin-Opener-Policy" not in m.text) else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return problems


def _login(page, web) -> None:
    page.goto(f"{web.url}/login")
    page.fill("input[name=username]", "master")
    page.fill("input[name=password]", MASTER_PASSWORD)
    _submit(page, "form:has(input[name=password])")


def _new_campaign(page, web, name: str, group_id: int, kind: str) -> None:
    page.goto(f"{web.url}/campaigns/new")
    page.fill("input[name=name]", name)
    page.select_option("select[name=group]", str(group_id))
    page.select_option("select[name=type]", kind)


def _visible(page, selector: str) -> bool:
    return page.locator(selector).first.is_visible()


def _until(page, condition, what: str, timeout: float = 10) -> None:
    """wait_for that lets Playwright deliver its events (they arrive only inside its calls)."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        page.wait_for_timeout(200)


def _saved(tenant: Tenant, name: str) -> Campaign:
    return wait_for(lambda: Campaign.get_or_none(Campaign.tenant == tenant.id,
                                                 Campaign.name == name), 5,
                    message=f"campaign {name} saved")


def test_given_the_form_when_sms_is_chosen_then_only_sms_fields_show_the_counter_counts_and_the_campaign_starts(  # noqa: E501
        page, web, db):
    master = Tenant.get(Tenant.slug == "master")
    SmscConnection.update(is_default=False).execute()
    smsc = SmscConnection.create(name="Browser carrier", system_id="vx", is_default=True,
                                 port=SMSC_PORT, enabled=True)
    group = make_group(master, unique_phones(2))
    problems = _watch(page)
    _login(page, web)
    _new_campaign(page, web, "Browser SMS", group.id, "voice_message")
    assert _visible(page, VOICE_ONLY) and not _visible(page, "#sms-fields")
    page.select_option("select[name=type]", "sms")
    assert _visible(page, "#sms-fields") and not _visible(page, VOICE_ONLY)
    assert not _visible(page, "#email-fields") and not _visible(page, "#fax-fields")
    assert not _visible(page, "input[name=retry_machine]")  # voice only
    assert _visible(page, "input[name=retry_failed]") and _visible(page, "input[name=windows]")
    area = page.locator("textarea[name=sms_text]")
    area.fill("Hello {first_name}, our sale starts today.")
    wait_for(lambda: page.locator("#sms-counter").get_attribute("data-segments") == "1", 5,
             message="one segment")
    area.fill("x" * 161)  # past 160 GSM-7 characters: two segments of 153
    wait_for(lambda: page.locator("#sms-counter").get_attribute("data-segments") == "2", 5,
             message="two segments")
    area.fill("Grüße — sale")  # the dash is not GSM-7: Unicode
    wait_for(lambda: page.locator("#sms-counter").get_attribute("data-encoding") == "ucs2", 5,
             message="unicode")
    area.fill("Hello {first_name}, our sale starts today.")
    page.fill("input[name=sms_sender]", "VOXSHOP")
    page.select_option("select[name=smsc]", str(smsc.id))
    _submit(page, "form:has(input[name=name])")
    campaign = _saved(master, "Browser SMS")
    assert (campaign.type, campaign.sms_sender, campaign.smsc_id) == ("sms", "VOXSHOP", smsc.id)
    assert campaign.sms_text == "Hello {first_name}, our sale starts today."
    assert page.locator("#message-figures").is_visible()
    # start from the page: its contacts are queued for the SMS service
    page.locator("form[action$='/start'] button").click()
    page.wait_for_load_state("networkidle")
    assert Campaign.get_by_id(campaign.id).status == "running"
    assert page.locator("#contacts-pending").inner_text().strip() == "2"
    # a message is delivered (as the dispatcher records it): the page follows by itself
    entry = CampaignContact.get(CampaignContact.campaign == campaign.id)
    Message.create(tenant=master, channel="sms", campaign=campaign, entry=entry,
                   contact=entry.contact_id, address=entry.phone, state="delivered", units=2,
                   cost=Decimal("0.0900"), submitted_at=dt.datetime.utcnow())
    CampaignContact.update(state="done", result="delivered").where(
        CampaignContact.id == entry.id).execute()
    wait_for(lambda: page.locator("#msg-delivered").inner_text().strip() == "1", 15,
             message="the live figures show the delivered message")
    assert page.locator("#msg-units").inner_text().strip() == "2"
    assert page.locator("#msg-cost").inner_text().strip() == "0.0900"
    assert page.locator("#contacts-delivered").inner_text().strip() == "1"
    page.locator("form[action$='/pause'] button").click()
    page.wait_for_load_state("networkidle")
    assert Campaign.get_by_id(campaign.id).status == "paused"
    SmscConnection.update(enabled=False).where(SmscConnection.id == smsc.id).execute()
    assert not problems, problems


def test_given_the_form_when_email_is_chosen_then_its_fields_save_and_the_preview_opens(
        page, web, db):
    master = Tenant.get(Tenant.slug == "master")
    group = make_group(master, unique_phones(1))
    problems = _watch(page)
    _login(page, web)
    _new_campaign(page, web, "Browser mail", group.id, "email")
    assert _visible(page, "#email-fields") and not _visible(page, "#sms-fields")
    assert not _visible(page, VOICE_ONLY) and not _visible(page, "input[name=caller_id]")
    assert _visible(page, "input[name=windows]")  # optional for e-mail
    page.fill("input[name=email_subject]", "News for {{ first_name }}")
    page.fill("textarea[name=email_html]", "<p>Hello {{ first_name }}</p>")
    page.fill("textarea[name=email_text]", "Hello {{ first_name }}")
    page.fill("input[name=email_from]", "news@example.com")
    page.fill("input[name=bounce_address]", "bounces@example.com")
    _submit(page, "form:has(input[name=name])")
    campaign = _saved(master, "Browser mail")
    assert (campaign.type, campaign.email_subject, campaign.email_from,
            campaign.bounce_address) == ("email", "News for {{ first_name }}",
                                         "news@example.com", "bounces@example.com")
    assert "News for {{ first_name }}" in page.locator("#fact-email-subject").inner_text()
    page.goto(f"{web.url}/campaigns/{campaign.id}/edit")
    preview = page.locator("#email-preview")
    if preview.count():  # the e-mail helper's preview page, once it is registered
        preview.click()
        page.wait_for_load_state("networkidle")
        assert f"/campaigns/{campaign.id}/email-preview" in page.url
    page.goto(f"{web.url}/campaigns/{campaign.id}")
    page.locator("form[action$='/start'] button").click()
    page.wait_for_load_state("networkidle")
    assert Campaign.get_by_id(campaign.id).status == "running"
    page.locator("form[action$='/stop'] button").click()  # no mail server here
    page.wait_for_load_state("networkidle")
    assert Campaign.get_by_id(campaign.id).status == "stopped"
    assert not [p for p in problems if "email-preview" not in p], problems


def test_given_a_fax_document_when_fax_is_chosen_then_it_is_picked_and_the_campaign_starts(
        page, web, db, settings):
    master = Tenant.get(Tenant.slug == "master")
    group = make_group(master, unique_phones(1))
    settings.faxes_dir.mkdir(parents=True, exist_ok=True)
    doc = FaxDocument.create(tenant=master, name="Browser price list", filename="prices.pdf",
                             tiff="browser-prices.tif", pdf="browser-prices.pdf", pages=3,
                             size_bytes=2048)
    (settings.faxes_dir / doc.tiff).write_bytes(b"II*\x00 a fax TIFF stands here")
    problems = _watch(page)
    _login(page, web)
    _new_campaign(page, web, "Browser fax", group.id, "fax")
    assert _visible(page, "#fax-fields") and not _visible(page, "#sms-fields")
    assert _visible(page, "input[name=caller_id]") and _visible(page, "input[name=retry_busy]")
    assert not _visible(page, VOICE_ONLY) and not _visible(page, "input[name=amd_enabled]")
    options = page.locator("select[name=fax_document] option").all_inner_texts()
    assert any("Browser price list" in o and "3" in o for o in options), options
    page.select_option("select[name=fax_document]", str(doc.id))
    page.fill("input[name=retry_busy]", "1")
    _submit(page, "form:has(input[name=name])")
    campaign = _saved(master, "Browser fax")
    assert (campaign.type, campaign.fax_document_id, campaign.retry_busy) == ("fax", doc.id, 1)
    assert "Browser price list" in page.locator("#fact-fax-document").inner_text()
    page.locator("form[action$='/start'] button").click()
    page.wait_for_load_state("networkidle")
    assert Campaign.get_by_id(campaign.id).status == "running"
    # stop it at once: the fax sender (the Stasis app) is not running in this test
    page.locator("form[action$='/stop'] button").click()
    page.wait_for_load_state("networkidle")
    assert Campaign.get_by_id(campaign.id).status == "stopped"
    assert not problems, problems


def test_given_messages_of_two_tenants_when_the_records_open_from_the_menu_then_only_ones_own_show(  # noqa: E501
        page, web, db):
    master = Tenant.get(Tenant.slug == "master")
    other = Tenant.get_or_none(Tenant.slug == "msg-other") or Tenant.create(
        name="Other messages", slug="msg-other")
    user = User.get(User.username == "master")
    when = dt.datetime(2026, 10, 20, 12)
    mine = [Message.create(tenant=master, channel="sms", address="+15557001001",
                           state="delivered", body="Browser record one", created_at=when,
                           units=1, cost=Decimal("0.05")),
            Message.create(tenant=master, channel="email", address="reader@example.com",
                           subject="Browser record two", state="bounced",
                           error="550 unknown user", created_at=when)]
    Message.create(tenant=other, channel="sms", address="+15557009999", state="delivered",
                   body="Other tenant's secret", created_at=when)
    problems = _watch(page)
    _login(page, web)
    assert user.tenant_id == master.id
    page.locator("nav a", has_text="Reports").first.click()
    page.wait_for_load_state("networkidle")
    page.locator("#report-menu a", has_text="Message records").click()
    page.wait_for_load_state("networkidle")
    page.fill("#message-filters input[name=start]", "2026-10-20")
    page.fill("#message-filters input[name=end]", "2026-10-20")
    _submit(page, "#message-filters")
    table = page.locator("#message-list").inner_text()
    assert "+15557001001" in table and "reader@example.com" in table
    assert "+15557009999" not in table and "secret" not in page.content()
    page.select_option("#message-filters select[name=channel]", "email")
    _submit(page, "#message-filters")
    rows = page.locator("#message-list tbody tr")
    assert rows.count() == 1 and "550 unknown user" in rows.inner_text()
    rows.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert f"/reports/messages/{mine[1].id}" in page.url
    assert "Browser record two" in page.locator("#message-facts").inner_text()
    assert not problems, problems


def test_given_an_sms_campaign_made_in_the_portal_when_voxcast_messaging_sends_it_then_the_page_shows_the_receipts(  # noqa: E501
        page, web, db, settings, artifacts):
    """End to end: the portal's campaign, `voxcast messaging` as its own process and the
    test SMSC on loopback; the campaign page follows the receipts by itself."""
    from tests.integration.sms_support import messaging_process
    from tests.smsc.server import SmscConfig, SmscThread
    from voxcast.messaging.sms import segments

    master = Tenant.get(Tenant.slug == "master")
    Campaign.update(status="stopped").where(Campaign.status.in_(("running", "paused"))).execute()
    SmscConnection.update(enabled=False, is_default=False).execute()
    conn = SmscConnection.create(name=f"E2E carrier {time.monotonic_ns()}", host="127.0.0.1",
                                 port=SMSC_PORT, system_id="voxcast", password="secret",
                                 source_addr="Voxcast", throughput=0, is_default=True)
    stamp = str(time.monotonic_ns())[-6:]
    phones = [f"+49151{stamp}{i:02d}" for i in range(3)]
    group = make_group(master, phones)
    smsc = SmscThread(SmscConfig(port=SMSC_PORT, stats={rf"{phones[2][1:]}$": "UNDELIV"})).start()
    messaging = messaging_process(settings.db_url, artifacts)
    problems = _watch(page)
    try:
        _login(page, web)
        _new_campaign(page, web, "Browser E2E SMS", group.id, "sms")
        page.fill("textarea[name=sms_text]", "Hello {first_name}, see you soon")
        _submit(page, "form:has(input[name=name])")
        campaign = _saved(master, "Browser E2E SMS")
        page.locator("form[action$='/start'] button").click()
        page.wait_for_load_state("networkidle")
        messaging.start()
        try:
            wait_for(lambda: page.locator("#contacts-delivered").inner_text().strip() == "2"
                     and page.locator("#contacts-undelivered").inner_text().strip() == "1", 60,
                     message="the receipts on the campaign page")
        except BaseException:
            print(messaging.log_tail())
            raise
        assert page.locator("#msg-sent").inner_text().strip() == "3"
        smsc_fact = page.locator("#fact-smsc").inner_text()
        assert conn.name in smsc_fact and "connected" in smsc_fact and "not" not in smsc_fact
        assert page.locator("#msg-units").inner_text().strip() == "3"
        texts = sorted(segments.decode_gsm7(s.short_message) for s in smsc.smsc.accepted())
        assert texts == ["Hello Contact0, see you soon", "Hello Contact1, see you soon",
                         "Hello Contact2, see you soon"]
        # the message records of the campaign, linked from its page
        page.locator("#campaign-messages").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("#message-list tbody tr").count() == 3
        states = page.locator("#message-list td.state").all_inner_texts()
        assert sorted(states) == ["delivered", "delivered", "undelivered"]
        wait_for(lambda: Campaign.get_by_id(campaign.id).status == "completed", 20,
                 message="completed")
    finally:
        messaging.stop()
        smsc.stop()
        SmscConnection.update(enabled=False).where(SmscConnection.id == conn.id).execute()
    assert not problems, problems


def test_given_an_email_campaign_made_in_the_portal_when_voxcast_messaging_sends_it_then_the_page_shows_sent_and_bounced(  # noqa: E501
        page, web, db, settings, artifacts):
    """End to end: the portal's e-mail campaign, `voxcast messaging` and aiosmtpd as the
    provider's SMTP server (refusing one recipient for good): the mails carry the campaign's
    From and the contact's fields, and the page counts sent and bounced by itself."""
    from models import Contact, ContactGroup
    from tests.integration.email_support import SmtpPeer, messaging_process

    master = Tenant.get(Tenant.slug == "master")
    Campaign.update(status="stopped").where(Campaign.status.in_(("running", "paused"))).execute()
    SmscConnection.update(enabled=False).execute()
    stamp = str(time.monotonic_ns())[-6:]
    group = ContactGroup.create(tenant=master, name=f"mail-group-{stamp}")
    addresses = [f"reader{i}-{stamp}@example.com" for i in range(3)]
    for i, (address, phone) in enumerate(zip(addresses, unique_phones(3))):
        Contact.create(tenant=master, group=group, phone=phone, email=address,
                       first_name=f"Reader{i}")
    peer = SmtpPeer(30000 + int(os.environ.get("VOXCAST_PORT_OFFSET", "0") or 0) + 26)
    peer.refuse_hard.add(addresses[2])
    peer.start()
    messaging = messaging_process(settings, artifacts, peer.port)
    problems = _watch(page)
    try:
        _login(page, web)
        _new_campaign(page, web, "Browser E2E mail", group.id, "email")
        page.fill("input[name=email_subject]", "Hello {{ first_name }}")
        page.fill("textarea[name=email_text]", "Dear {{ first_name }}, our news.")
        page.fill("textarea[name=email_html]", "<p>Dear {{ first_name }}, our news.</p>")
        page.fill("input[name=email_from]", "shop@example.com")
        _submit(page, "form:has(input[name=name])")
        campaign = _saved(master, "Browser E2E mail")
        page.locator("form[action$='/start'] button").click()
        page.wait_for_load_state("networkidle")
        messaging.start()
        try:
            wait_for(lambda: page.locator("#contacts-sent").inner_text().strip() == "2"
                     and page.locator("#contacts-bounced").inner_text().strip() == "1", 60,
                     message="sent and bounced on the campaign page")
        except BaseException:
            print(messaging.log_tail())
            raise
        for i in (0, 1):
            (mail,) = peer.to(addresses[i])
            assert mail["Subject"] == f"Hello Reader{i}"
            assert "shop@example.com" in mail["From"]
        assert peer.to(addresses[2]) == []
        assert page.locator("#msg-sent").inner_text().strip() == "2"
        page.locator("#contacts-bounced a").click()
        page.wait_for_load_state("networkidle")
        assert addresses[2] in page.locator("table").inner_text()
    finally:
        messaging.stop()
        peer.stop()
        Campaign.update(status="stopped").where(Campaign.name == "Browser E2E mail").execute()
    assert not problems, problems


def test_given_the_server_refuses_the_live_stream_when_the_campaigns_page_is_open_then_it_polls_without_an_error(  # noqa: E501
        page, web, db):
    """What a full stream cap answers (webui/live_stream.py: 204) is played for every stream
    of this page: the page falls back to polling the JSON endpoint, shows a campaign's status
    change that way, and the browser logs no failed load."""
    master = Tenant.get(Tenant.slug == "master")
    group = make_group(master, unique_phones(1))
    campaign = Campaign.create(tenant=master, name="Polled list", type="sms", group=group,
                               sms_text="Hello", status="draft")
    problems = _watch(page)
    refused, polls = [], []
    page.route("**/*.events", lambda route: (refused.append(route.request.url),
                                             route.fulfill(status=204)))
    page.on("request", lambda r: polls.append(r.url) if "/campaigns.json" in r.url else None)
    _login(page, web)
    page.goto(f"{web.url}/campaigns/")
    cell = page.locator(f"#campaigns tr[data-id='{campaign.id}'] [data-k=status]")
    _until(page, lambda: refused and polls, "the stream refused, then a poll")
    Campaign.update(status="stopped").where(Campaign.id == campaign.id).execute()
    _until(page, lambda: cell.inner_text().strip() == "stopped", "the change shown by a poll")
    assert not problems, problems
