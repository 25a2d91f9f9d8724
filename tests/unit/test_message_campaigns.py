"""SMS, fax and e-mail campaigns in the campaign service, the portal and the API: their fields
checked on save and before a start, feature permissions and quotas, live figures from the
message records, the message records report (page, CSV, API) and the cost report. The
sending itself is the SMS, fax and e-mail helpers' (tested in test_sms*, test_fax*,
test_email*); here Message rows are written as the dispatcher would."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from werkzeug.security import generate_password_hash

from models import Campaign, CampaignContact, Contact, Tenant, User
from models.entities import FaxDocument, LedgerEntry, Message, MessagePart, SmscConnection
from voxcast.billing import ledger
from voxcast.billing import reports as billing_reports
from voxcast.campaigns import editing
from voxcast.campaigns import services as campaign_service
from voxcast.campaigns.errors import CampaignError, CampaignInputError, CampaignNotAllowed
from voxcast.messaging import records

from .api_support import Api, tenant_key  # noqa: F401  (fixture)
from .conftest import ADMIN_PASSWORD, CSRF_RE

NY = ZoneInfo("America/New_York")
ACTOR = editing.Actor(None, "127.0.0.1")


def _smsc(**kw) -> SmscConnection:
    kw.setdefault("name", f"carrier-{SmscConnection.select().count() + 1}")
    kw.setdefault("system_id", "voxcast")
    return SmscConnection.create(**kw)


def _fax_document(tenant, settings, name="Price list", pages=2, file=True) -> FaxDocument:
    doc = FaxDocument.create(tenant=tenant, name=name, filename=f"{name}.pdf",
                             tiff=f"doc-{tenant.id}-{name}.tif", pdf=f"doc-{tenant.id}.pdf",
                             pages=pages, size_bytes=1000)
    if file:
        settings.faxes_dir.mkdir(parents=True, exist_ok=True)
        (settings.faxes_dir / doc.tiff).write_bytes(b"II*\x00fake tiff")
    return doc


def _create(tenant, settings, **data) -> Campaign:
    return editing.create(tenant, data, settings=settings, actor=ACTOR)


# -- saving ---------------------------------------------------------------------------------

def test_given_sms_fields_when_saved_then_stored_and_bad_ones_refused_naming_the_field(
        app, make_tenant, make_group, settings):
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100"])
    smsc = _smsc(is_default=True)
    campaign = _create(tenant, settings, name="Promo", type="sms", group_id=group.id,
                       sms_text="Hi {first_name},\r\nsale today", sms_sender="ACME",
                       smsc_id=smsc.id)
    campaign = Campaign.get_by_id(campaign.id)
    assert (campaign.type, campaign.sms_text, campaign.sms_sender, campaign.smsc_id) == (
        "sms", "Hi {first_name},\nsale today", "ACME", smsc.id)
    for data, field in (({"sms_sender": "Far too long a name"}, "sms_sender"),
                        ({"sms_text": "Hi {nickname}"}, "sms_text"),
                        ({"smsc_id": _smsc(enabled=False).id}, "smsc_id"),
                        ({"email_from": "not an address"}, "email_from")):
        with pytest.raises(CampaignInputError) as exc:
            editing.update(campaign, data, settings=settings, actor=ACTOR)
        assert field in exc.value.fields, (data, exc.value.fields)
    assert Campaign.get_by_id(campaign.id).sms_sender == "ACME"  # nothing saved


def test_given_another_tenants_fax_document_then_it_cannot_be_chosen(
        app, make_tenant, make_group, settings):
    acme, _ = make_tenant("acme")
    globex, _ = make_tenant("globex")
    theirs = _fax_document(globex, settings)
    group = make_group(acme, phones=["+12025550100"])
    with pytest.raises(CampaignInputError) as exc:
        _create(acme, settings, name="Fax", type="fax", group_id=group.id,
                fax_document_id=theirs.id)
    assert exc.value.fields == {"fax_document_id": "No such fax document."}
    assert not Campaign.select().where(Campaign.tenant == acme.id).exists()


def test_given_an_email_template_with_a_syntax_error_then_refused_on_save(
        app, make_tenant, make_group, settings):
    pytest.importorskip("voxcast.messaging.email.templates")
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100"])
    with pytest.raises(CampaignInputError) as exc:
        _create(tenant, settings, name="News", type="email", group_id=group.id,
                email_subject="Hello {{ first_name", email_text="Body")
    assert "email_subject" in exc.value.fields
    # a draft with only a subject is fine: the parts are asked for at the start
    campaign = _create(tenant, settings, name="News", type="email", group_id=group.id,
                       email_subject="Hello {{ first_name }}")
    assert Campaign.get_by_id(campaign.id).email_subject == "Hello {{ first_name }}"


# -- starting -------------------------------------------------------------------------------

def test_given_an_sms_campaign_then_it_starts_only_with_text_and_an_enabled_connection(
        app, make_tenant, make_group, settings):
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100", "+12025550101"])
    campaign = _create(tenant, settings, name="Promo", type="sms", group_id=group.id)
    with pytest.raises(CampaignError, match="SMS text"):
        campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    editing.update(campaign, {"sms_text": "Sale today"}, settings=settings, actor=ACTOR)
    with pytest.raises(CampaignError, match="No SMSC connection"):
        campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    _smsc(is_default=True)
    campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    assert Campaign.get_by_id(campaign.id).status == "running"
    assert CampaignContact.select().where(CampaignContact.campaign == campaign.id).count() == 2
    campaign_service.pause(Campaign.get_by_id(campaign.id))
    assert Campaign.get_by_id(campaign.id).status == "paused"
    campaign_service.stop(Campaign.get_by_id(campaign.id))
    assert Campaign.get_by_id(campaign.id).status == "stopped"


def test_given_a_fax_campaign_then_it_needs_its_converted_document_on_disk(
        app, make_tenant, make_group, settings):
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100"])
    missing = _fax_document(tenant, settings, name="Gone", file=False)
    campaign = _create(tenant, settings, name="Fax", type="fax", group_id=group.id)
    with pytest.raises(CampaignError, match="document to fax"):
        campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    editing.update(campaign, {"fax_document_id": missing.id}, settings=settings, actor=ACTOR)
    with pytest.raises(CampaignError, match="missing"):
        campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    doc = _fax_document(tenant, settings)
    editing.update(campaign, {"fax_document_id": doc.id}, settings=settings, actor=ACTOR)
    campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    assert Campaign.get_by_id(campaign.id).status == "running"


def test_given_an_email_campaign_then_it_needs_a_subject_and_a_part(
        app, make_tenant, make_group, settings):
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100"])
    campaign = _create(tenant, settings, name="News", type="email", group_id=group.id)
    with pytest.raises(CampaignError, match="subject"):
        campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    editing.update(campaign, {"email_subject": "Our news"}, settings=settings, actor=ACTOR)
    with pytest.raises(CampaignError, match="HTML part"):
        campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    editing.update(campaign, {"email_html": "<p>Hello {{ first_name }}</p>"},
                   settings=settings, actor=ACTOR)
    campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    assert Campaign.get_by_id(campaign.id).status == "running"


def test_given_a_plan_without_sms_then_no_sms_campaign_is_created_nor_started(
        app, make_tenant, make_group, settings):
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100"])
    _smsc(is_default=True)
    campaign = _create(tenant, settings, name="Promo", type="sms", group_id=group.id,
                       sms_text="Hi")
    Tenant.update(features="voice_message email fax").where(Tenant.id == tenant.id).execute()
    tenant = Tenant.get_by_id(tenant.id)
    with pytest.raises(CampaignNotAllowed) as exc:
        _create(tenant, settings, name="Again", type="sms", group_id=group.id)
    assert (exc.value.code, exc.value.status) == ("feature", 403)
    with pytest.raises(CampaignNotAllowed):
        campaign_service.start(Campaign.get_by_id(campaign.id), settings)
    assert Campaign.get_by_id(campaign.id).status == "draft"


def test_given_the_campaign_quota_is_used_then_no_message_campaign_is_created(
        app, make_tenant, make_group, settings):
    tenant, _ = make_tenant("acme", max_campaigns=1)
    group = make_group(tenant, phones=["+12025550100"])
    _create(tenant, settings, name="One", type="email", group_id=group.id)
    with pytest.raises(CampaignNotAllowed) as exc:
        _create(tenant, settings, name="Two", type="sms", group_id=group.id)
    assert exc.value.code == "quota"


# -- figures --------------------------------------------------------------------------------

def _entry(tenant, campaign, contact, state, result=""):
    return CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                                  phone=contact.phone, state=state, result=result)


def _message(tenant, campaign=None, entry=None, **kw):
    kw.setdefault("channel", "sms")
    kw.setdefault("address", entry.phone if entry else "+12025550100")
    kw.setdefault("contact", entry.contact_id if entry else None)
    return Message.create(tenant=tenant, campaign=campaign, entry=entry, **kw)


def test_given_messages_in_every_state_then_progress_counts_them(app, make_tenant, make_group):
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=[f"+1202555{n:04d}" for n in range(9)])
    contacts = list(Contact.select().where(Contact.group == group).order_by(Contact.id))
    campaign = Campaign.create(tenant=tenant, name="Promo", type="sms", group=group,
                               status="running")
    outcomes = [("done", "delivered"), ("failed", "undelivered"), ("failed", "expired"),
                ("failed", "rejected"), ("failed", "failed"), ("dialing", ""), ("pending", ""),
                ("dnc", "dnc"), ("pending", "undelivered")]  # the last waits for its retry
    entries = [_entry(tenant, campaign, c, s, r) for c, (s, r) in zip(contacts, outcomes)]
    accepted = dt.datetime(2026, 11, 11, 12)  # submitted_at: the far side took it
    for entry, (state, units, cost) in zip(entries, [
            ("delivered", 2, "0.1000"), ("undelivered", 1, "0.0500"), ("expired", 1, "0.0500"),
            ("rejected", 1, None), ("failed", 1, None), ("submitted", 3, "0.1500")]):
        _message(tenant, campaign, entry, state=state, units=units,
                 cost=Decimal(cost) if cost else None,
                 submitted_at=accepted if cost else None)
    _message(tenant, campaign, entries[8], state="undelivered", units=1, cost=Decimal("0.05"),
             submitted_at=accepted)
    _message(tenant, campaign, entries[5], state="queued", units=1)  # a retry being sent
    other = Campaign.create(tenant=tenant, name="Other", type="sms", group=group)
    _message(tenant, other, None, state="delivered", units=5, cost=Decimal("9"),
             submitted_at=accepted)
    _message(tenant, other, None, channel="email", state="bounced")  # refused at RCPT
    p = campaign_service.progress(Campaign.get_by_id(campaign.id))
    assert (p["total"], p["pending"], p["active"], p["dnc"], p["remaining"]) == (9, 2, 1, 1, 3)
    assert (p["messages"], p["in_flight"], p["sent"]) == (8, 2, 5)
    assert (p["delivered"], p["undelivered"], p["expired"], p["rejected"],
            p["send_failed"], p["failed_messages"]) == (1, 2, 1, 1, 1, 5)
    assert p["units"] == 2 + 1 + 1 + 3 + 1  # sent ones only: segments billed
    assert p["cost"] == "0.4000"
    assert (p["contacts_delivered"], p["contacts_undelivered"], p["contacts_expired"],
            p["contacts_rejected"], p["contacts_failed"]) == (1, 2, 1, 1, 1)
    # the list's figures: the same query for several campaigns at once
    many = campaign_service.progress_many([Campaign.get_by_id(campaign.id),
                                           Campaign.get_by_id(other.id)])
    assert many[campaign.id] == p and many[other.id]["cost"] == "9.0000"
    assert (many[other.id]["sent"], many[other.id]["bounced"], many[other.id]["units"]) == (
        1, 1, 5)  # the refused mail was never sent


def test_given_a_voice_campaign_then_its_progress_has_no_message_figures(app, make_tenant):
    tenant, _ = make_tenant("acme")
    campaign = Campaign.create(tenant=tenant, name="Calls", type="voice_message")
    p = campaign_service.progress(campaign)
    assert "cost" not in p and "messages" not in p and p["dialed"] == 0


# -- the message records ----------------------------------------------------------------------

@pytest.fixture
def two_tenants(app, make_tenant, make_group):
    acme, acme_user = make_tenant("acme", timezone="America/New_York")
    globex, globex_user = make_tenant("globex")
    spring = Campaign.create(tenant=acme, name="Spring", type="sms")
    letters = Campaign.create(tenant=acme, name="Letters", type="email")
    theirs = Campaign.create(tenant=globex, name="Theirs", type="sms")
    rows = {
        # 23:59 New York on 10 Nov is 04:59 UTC on 11 Nov
        "late": _message(acme, spring, address="+12025550101", state="delivered",
                         body="Spring sale", created_at=dt.datetime(2026, 11, 11, 4, 59),
                         cost=Decimal("0.05"), units=1),
        "mail": _message(acme, letters, channel="email", address="ann@example.com",
                         subject="Our letter", state="bounced", error="550 no such user",
                         created_at=dt.datetime(2026, 11, 11, 5, 1), cost=Decimal("0.01")),
        "inbound": _message(acme, None, address="+12025550177", direction="inbound",
                            state="received", body="STOP",
                            created_at=dt.datetime(2026, 11, 12, 12)),
        "fax": _message(acme, None, channel="fax", address="+12025550188", state="failed",
                        created_at=dt.datetime(2026, 11, 13, 12), units=3),
        "secret": _message(globex, theirs, address="+12025550199", state="delivered",
                           body="Globex-secret text", created_at=dt.datetime(2026, 11, 11, 5)),
    }
    MessagePart.create(tenant=acme, message=rows["late"], seq=1, external_id="smsc-77",
                       state="delivered")
    return acme, acme_user, globex, globex_user, spring, theirs, rows


def test_given_filters_then_the_search_finds_exactly_the_matching_messages(two_tenants):
    acme, _, globex, _, spring, theirs, rows = two_tenants

    def ids(**args):
        f = records.parse(acme.id, {k: str(v) for k, v in args.items()}, NY, strict=True)
        return {m.id for m in records.query(acme.id, f)}

    everything = {rows[k].id for k in ("late", "mail", "inbound", "fax")}
    assert ids() == everything  # never Globex's
    assert ids(start="2026-11-10", end="2026-11-10") == {rows["late"].id}
    assert ids(start="2026-11-11", end="2026-11-11") == {rows["mail"].id}
    assert ids(channel="email") == {rows["mail"].id}
    assert ids(direction="inbound") == {rows["inbound"].id}
    assert ids(state="failed") == {rows["fax"].id}
    assert ids(campaign=spring.id) == {rows["late"].id}
    assert ids(address="ANN@") == {rows["mail"].id}
    assert ids(address="+1 202 555-0177") == {rows["inbound"].id}
    with pytest.raises(records.MessageFilterError) as exc:
        records.parse(acme.id, {"campaign": str(theirs.id)}, NY)
    assert exc.value.status == 404
    for bad in ({"channel": "pigeon"}, {"state": "lost"}, {"start": "2026-13-01"},
                {"campaign": "x"}):
        with pytest.raises(records.MessageFilterError):
            records.parse(acme.id, bad, NY, strict=True)
        records.parse(acme.id, bad if "campaign" not in bad else {}, NY)  # the portal ignores
    f = records.parse(acme.id, {}, NY)
    walked = [m.id for batch in records.batches(acme.id, f, batch=3) for m in batch]
    assert walked == [rows[k].id for k in ("fax", "inbound", "mail", "late")]


def test_given_two_tenants_then_the_records_page_shows_only_ones_own(client, auth, two_tenants):
    acme, acme_user, globex, _, spring, theirs, rows = two_tenants
    auth.login(acme_user.username, f"pw-{acme_user.username}")
    page = client.get("/reports/messages/").get_data(as_text=True)
    assert "Spring sale"[:10] in page and "ann@example.com" in page
    assert "+12025550199" not in page and "Globex-secret" not in page
    page = client.get("/reports/messages/?channel=email").get_data(as_text=True)
    assert "ann@example.com" in page and "+12025550101" not in page
    assert client.get(f"/reports/messages/?campaign={theirs.id}").status_code == 404
    assert client.get(f"/reports/messages/{rows['secret'].id}").status_code == 404
    detail = client.get(f"/reports/messages/{rows['late'].id}").get_data(as_text=True)
    assert "smsc-77" in detail and "Spring" in detail
    menu = client.get("/reports/").get_data(as_text=True)
    assert 'href="/reports/messages/"' in menu
    resp = client.get("/reports/messages/export.csv?start=2026-11-10&end=2026-11-30")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "messages-2026-11-10-2026-11-30-America-New_York.csv" in resp.headers[
        "Content-Disposition"]
    table = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert table[0][1] == "created_at (America/New_York)"
    assert {r[0] for r in table[1:]} == {str(rows[k].id) for k in ("late", "mail", "inbound",
                                                                    "fax")}
    late = next(r for r in table if r[0] == str(rows["late"].id))
    assert late[1] == "2026-11-10 23:59:00" and late[-2] == "0.0500"


def test_given_message_charges_then_the_cost_report_shows_them_by_kind_and_campaign(
        client, auth, two_tenants):
    acme, acme_user, globex, _, spring, theirs, rows = two_tenants
    ledger.credit(acme.id, "10", "payment")
    ledger.charge(acme.id, "0.05", kind="sms", message_ref=f"message:{rows['late'].id}")
    ledger.charge(acme.id, "0.01", kind="email", message_ref=f"message:{rows['mail'].id}")
    LedgerEntry.update(created_at=dt.datetime(2026, 11, 11, 6)).where(
        LedgerEntry.kind.in_(("sms", "email"))).execute()
    period = billing_reports.Period.parse("2026-11-01", "2026-11-30")
    by_day = billing_reports.message_charges_per_day(acme.id, period)
    assert [(r.key, r.kind, r.messages, r.cost) for r in by_day] == [
        ("2026-11-11", "email", 1, Decimal("0.0100")), ("2026-11-11", "sms", 1, Decimal("0.0500"))]
    by_campaign = billing_reports.message_charges_per_campaign(acme.id, period)
    assert {(r.label, r.kind, r.messages, r.units) for r in by_campaign} == {
        ("Spring", "sms", 1, 1), ("Letters", "email", 1, 1)}
    auth.login(acme_user.username, f"pw-{acme_user.username}")
    page = client.get("/billing/report?start=2026-11-01&end=2026-11-30&by=campaign").get_data(
        as_text=True)
    assert 'id="message-costs"' in page and "Spring" in page and "0.0600" in page
    body = client.get("/billing/charges.csv?start=2026-11-01&end=2026-11-30").get_data(
        as_text=True)
    sms = next(r for r in csv.reader(io.StringIO(body)) if r[2] == "sms")
    assert sms[11] == "Spring" and sms[12] == f"message:{rows['late'].id}"
    auth.logout()
    # the provider's cost report: every tenant's (the admin's password as conftest's, also
    # where another bootstrap made the schema first, as tests/pg_support does)
    User.update(password_hash=generate_password_hash(ADMIN_PASSWORD, method="pbkdf2:sha256:1000")
                ).where(User.username == "admin").execute()
    auth.login("admin", ADMIN_PASSWORD)
    page = client.get("/admin/billing/report?start=2026-11-01&end=2026-11-30").get_data(
        as_text=True)
    assert 'id="message-costs"' in page and 'data-kind="sms"' in page and "0.0600" in page


# -- the portal form ------------------------------------------------------------------------

def _token(client, url):
    return CSRF_RE.search(client.get(url).get_data(as_text=True)).group(1)


def test_given_the_form_then_an_sms_campaign_is_created_with_its_fields(
        client, auth, make_tenant, make_group):
    tenant, user = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100"])
    smsc = _smsc(name="Carrier One", is_default=True)
    auth.login(user.username, f"pw-{user.username}")
    form = client.get("/campaigns/new").get_data(as_text=True)
    assert 'data-sms-counter="sms-counter"' in form and 'id="sms-counter"' in form
    assert "Carrier One" in form and "campaign_form.js" in form and "sms_counter.js" in form
    assert 'class="field  only for-sms"' not in form  # (the SMS fieldset holds its fields)
    assert 'fieldset class="only for-sms" id="sms-fields"' in form
    resp = client.post("/campaigns/new", data={
        "csrf_token": _token(client, "/campaigns/new"), "name": "Promo", "group": group.id,
        "type": "sms", "sms_text": "Hello {first_name}", "sms_sender": "ACME",
        "smsc": smsc.id, "channel_limit": 1, "dial_timeout": 30, "retry_busy": 0,
        "retry_noanswer": 0, "retry_failed": 1, "retry_interval": 600, "retry_machine": 0,
        "repeat_count": 1, "dial_ratio": "1", "abandon_cap_pct": "3", "wrapup_seconds": 10,
        "windows": "Mon-Fri 09:00-17:00"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    campaign = Campaign.get(Campaign.tenant == tenant.id)
    assert (campaign.type, campaign.sms_text, campaign.sms_sender, campaign.smsc_id,
            campaign.retry_failed) == ("sms", "Hello {first_name}", "ACME", smsc.id, 1)
    page = client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'id="message-figures"' in page and "Hello {first_name}" in page
    assert "Carrier One" in page and "not connected yet" in page  # no SMS service here
    assert 'id="ari-banner"' not in page  # SMS needs no Asterisk
    assert f'href="/reports/messages/?campaign={campaign.id}"' in page
    contacts = client.get(f"/campaigns/{campaign.id}/contacts?state=delivered")
    assert contacts.status_code == 200


def test_given_a_plan_with_only_sms_then_the_campaign_pages_open_with_sms_only(
        client, auth, make_tenant):
    tenant, user = make_tenant("acme", features="sms")
    auth.login(user.username, f"pw-{user.username}")
    assert client.get("/campaigns/").status_code == 200
    form = client.get("/campaigns/new").get_data(as_text=True)
    assert 'value="sms"' in form and 'value="voice_message"' not in form
    Tenant.update(features="reports").where(Tenant.id == tenant.id).execute()
    assert client.get("/campaigns/").status_code == 403


# -- the API --------------------------------------------------------------------------------

def _api_campaign_flow(api: Api, group_id: int, fax_doc_id: int, smsc_id: int):
    resp = api.post("/api/v1/campaigns", json={
        "name": "Promo", "group_id": group_id, "type": "sms", "sms_text": "Hi {first_name}",
        "sms_sender": "+4917012345", "smsc_id": smsc_id})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert (body["type"], body["sms_text"], body["sms_sender"], body["smsc_id"],
            body["cost"]) == ("sms", "Hi {first_name}", "+4917012345", smsc_id, "0.0000")
    cid = body["id"]
    resp = api.patch(f"/api/v1/campaigns/{cid}", json={"sms_sender": "way too long sender"})
    assert resp.status_code == 422 and "sms_sender" in resp.get_json()["error"]["fields"]
    resp = api.post(f"/api/v1/campaigns/{cid}/start")
    assert resp.status_code == 200 and resp.get_json()["status"] == "running"
    progress = api.get(f"/api/v1/campaigns/{cid}/progress").get_json()
    assert (progress["type"], progress["total"], progress["pending"], progress["cost"]) == (
        "sms", 1, 1, "0.0000")
    assert api.post(f"/api/v1/campaigns/{cid}/pause").get_json()["status"] == "paused"
    assert api.post(f"/api/v1/campaigns/{cid}/stop").get_json()["status"] == "stopped"
    fax = api.post("/api/v1/campaigns", json={"name": "Fax", "group_id": group_id,
                                              "type": "fax", "fax_document_id": fax_doc_id})
    assert fax.status_code == 201 and fax.get_json()["fax_document_id"] == fax_doc_id
    mail = api.post("/api/v1/campaigns", json={
        "name": "Mail", "group_id": group_id, "type": "email", "email_subject": "News",
        "email_text": "Hello", "email_from": "news@example.com",
        "bounce_address": "bounces@example.com"})
    assert mail.status_code == 201, mail.get_json()
    assert (mail.get_json()["email_from"], mail.get_json()["bounce_address"]) == (
        "news@example.com", "bounces@example.com")
    bad = api.post("/api/v1/campaigns", json={"name": "Mail", "group_id": group_id,
                                              "type": "email", "email_from": "nope"})
    assert bad.status_code == 422 and "email_from" in bad.get_json()["error"]["fields"]
    return cid


def test_given_the_api_then_message_campaigns_and_records_work(app, client, tenant_key,
                                                               make_group, settings):
    acme, secret = tenant_key("acme")
    globex, globex_secret = tenant_key("globex")
    api = Api(client, secret)
    group = make_group(acme, phones=["+12025550100"])
    doc = _fax_document(acme, settings)
    smsc = _smsc(is_default=True)
    cid = _api_campaign_flow(api, group.id, doc.id, smsc.id)
    _check_messages_api(api, Api(client, globex_secret), acme, globex, cid)


def _check_messages_api(api: Api, other: Api, acme, globex, cid):
    mine = _message(acme, Campaign.get_by_id(cid), address="+12025550100", state="delivered",
                    units=2, cost=Decimal("0.1"), created_at=dt.datetime(2026, 11, 11, 12))
    MessagePart.create(tenant=acme, message=mine, seq=1, external_id="p1", state="delivered")
    _message(acme, None, channel="email", address="bob@example.com", state="sent",
             created_at=dt.datetime(2026, 11, 12, 12))
    theirs = _message(globex, None, address="+12025550199", state="delivered")
    page = api.get("/api/v1/messages?per_page=1").get_json()
    assert (page["total"], len(page["items"]), page["zone"]) == (2, 1, "UTC")
    assert page["items"][0]["address"] == "bob@example.com"
    one = api.get(f"/api/v1/messages?campaign_id={cid}").get_json()["items"]
    assert [m["id"] for m in one] == [mine.id] and one[0]["cost"] == "0.1000"
    assert one[0]["campaign"] == "Promo" and one[0]["units"] == 2
    assert api.get("/api/v1/messages?channel=pigeon").status_code == 400
    assert api.get("/api/v1/messages?start=2026-11-12&end=2026-11-12").get_json()["total"] == 1
    detail = api.get(f"/api/v1/messages/{mine.id}").get_json()
    assert detail["parts"][0]["external_id"] == "p1"
    assert api.get(f"/api/v1/messages/{theirs.id}").status_code == 404
    assert other.get(f"/api/v1/messages/{mine.id}").status_code == 404
    assert other.get(f"/api/v1/campaigns/{cid}/progress").status_code == 404
    assert other.get(f"/api/v1/messages?campaign_id={cid}").status_code == 404
    resp = api.get("/api/v1/messages?format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert len(list(csv.reader(io.StringIO(resp.get_data(as_text=True))))) == 3


# -- the other reports with message campaigns -------------------------------------------------

def test_given_message_campaigns_then_campaign_statistics_count_their_messages_and_the_cdr_summary_still_works(  # noqa: E501
        client, auth, tenant_key, make_group):
    acme, secret = tenant_key("acme")
    group = make_group(acme, phones=["+12025550100", "+12025550101"])
    contacts = list(Contact.select().where(Contact.group == group).order_by(Contact.id))
    sms = Campaign.create(tenant=acme, name="Texts", type="sms", group=group, status="running")
    when = dt.datetime(2026, 11, 11, 12)
    for contact, state, cost in ((contacts[0], "delivered", "0.10"),
                                 (contacts[1], "undelivered", "0.05")):
        _message(acme, sms, None, contact=contact.id, address=contact.phone, state=state,
                 cost=Decimal(cost), created_at=when, submitted_at=when)
    _message(acme, sms, None, contact=contacts[0].id, address=contacts[0].phone,
             state="delivered", created_at=dt.datetime(2026, 10, 1),
             submitted_at=dt.datetime(2026, 10, 1))  # before the period
    api = Api(client, secret)
    resp = api.get("/api/v1/reports/campaigns?start=2026-11-01&end=2026-11-30&zone=UTC")
    assert resp.status_code == 200, resp.get_json()
    row = next(r for r in resp.get_json()["items"] if r["campaign_id"] == sms.id)
    assert (row["type"], row["attempts"], row["answered"], row["failed"], row["reached"],
            row["cost"]) == ("sms", 2, 1, 1, 1, "0.1500")
    summary = api.get("/api/v1/reports/cdr-summary?start=2026-11-01&end=2026-11-30")
    assert summary.status_code == 200 and summary.get_json()["total"]["calls"] == 0
    login_user = User.get(User.tenant == acme.id)
    auth.login(login_user.username, f"pw-{login_user.username}")
    page = client.get("/reports/campaigns?start=2026-11-01&end=2026-11-30")
    assert page.status_code == 200 and "Texts" in page.get_data(as_text=True)
    assert client.get("/reports/campaigns.csv?start=2026-11-01&end=2026-11-30").status_code == 200
    assert client.get("/reports/cdr-summary?start=2026-11-01&end=2026-11-30").status_code == 200
    assert client.get("/campaigns/").status_code == 200
    assert client.get("/status/campaigns.json").get_json()[0]["cost"] == "0.1500"
    board = client.get("/dashboard/").get_data(as_text=True)  # a running SMS campaign
    assert "Texts" in board and 'data-k="sent">3<' in board  # live: every message so far


def test_given_a_plan_without_email_then_the_api_refuses_to_create_or_start_one(
        client, tenant_key, make_group):
    acme, secret = tenant_key("acme")
    api = Api(client, secret)
    group = make_group(acme, phones=["+12025550100"])
    made = api.post("/api/v1/campaigns", json={"name": "Mail", "group_id": group.id,
                                               "type": "email", "email_subject": "Hi",
                                               "email_text": "Hello"})
    assert made.status_code == 201
    Tenant.update(features="api voice_message sms").where(Tenant.id == acme.id).execute()
    again = api.post("/api/v1/campaigns", json={"name": "Mail 2", "group_id": group.id,
                                                "type": "email"})
    assert again.status_code == 403 and again.get_json()["error"]["code"] == "feature"
    start = api.post(f"/api/v1/campaigns/{made.get_json()['id']}/start")
    assert start.status_code == 403 and start.get_json()["error"]["code"] == "feature"
    assert Campaign.get_by_id(made.get_json()["id"]).status == "draft"


def test_given_a_message_campaign_then_its_contacts_filter_by_message_outcome(
        client, auth, make_tenant, make_group):
    tenant, user = make_tenant("acme")
    group = make_group(tenant, phones=[f"+1202555{n:04d}" for n in range(6)])
    contacts = list(Contact.select().where(Contact.group == group).order_by(Contact.id))
    fax = Campaign.create(tenant=tenant, name="Faxes", type="fax", group=group)
    for contact, (state, result) in zip(contacts, [
            ("done", "delivered"), ("done", "sent"), ("failed", "failed"),
            ("failed", "undelivered"), ("pending", ""), ("dialing", "")]):
        entry = _entry(tenant, fax, contact, state, result)
        CampaignContact.update(attempts=0 if state == "pending" else 1).where(
            CampaignContact.id == entry.id).execute()
    auth.login(user.username, f"pw-{user.username}")

    def phones(state):
        page = client.get(f"/campaigns/{fax.id}/contacts?state={state}").get_data(as_text=True)
        return {c.phone for c in contacts if c.phone in page}

    assert phones("delivered") == {contacts[0].phone, contacts[1].phone}
    # a fax has no undelivered filter of its own: every other outcome is "failed"
    assert phones("failed") == {contacts[2].phone, contacts[3].phone}
    assert phones("pending") == {contacts[4].phone}
    assert phones("in-flight") == {contacts[5].phone}
    assert len(phones("")) == 6
    everyone = client.get(f"/campaigns/{fax.id}/contacts").get_data(as_text=True)
    assert (f'href="/reports/messages/?campaign={fax.id}&amp;address=%2B12025550000"'
            in everyone)  # a contact tried: its messages are a click away
    assert "address=%2B12025550004" not in everyone  # never tried yet
    listing = client.get("/campaigns/").get_data(as_text=True)
    assert 'data-k="units"' in listing and 'data-k="dialed"' in listing  # a fax: calls too
    page = client.get(f"/campaigns/{fax.id}").get_data(as_text=True)
    assert "Pages sent" in page and "Fax calls" in page and 'id="contacts-failed"' in page


def test_given_no_template_helpers_then_message_campaigns_still_save_and_start(
        app, make_tenant, make_group, settings, monkeypatch):
    """The sending helpers' template checks are optional: without them (not installed) the
    fields are kept as written and only the required parts are asked for."""
    from voxcast.campaigns import message_fields
    monkeypatch.setattr(message_fields, "_helper", lambda module: None)
    tenant, _ = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550100"])
    mail = _create(tenant, settings, name="News", type="email", group_id=group.id,
                   email_subject="Hi {{ first_name", email_text="Body")
    campaign_service.start(Campaign.get_by_id(mail.id), settings)
    _smsc(is_default=True)
    sms = _create(tenant, settings, name="Texts", type="sms", group_id=group.id,
                  sms_text="Hi {nickname}")
    campaign_service.start(Campaign.get_by_id(sms.id), settings)
    assert {c.status for c in Campaign.select()} == {"running"}
