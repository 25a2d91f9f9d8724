"""The web UI through Flask's test client, on a real SQLite file; CSRF stays on."""
from __future__ import annotations

import datetime as dt
import io

import pytest

from models import (Call, Campaign, CampaignContact, Contact, ContactGroup, Did, SystemStatus,
                    Tenant, User)
from models.entities import utcnow
from voxcast.campaigns import services as campaign_service

from .conftest import ADMIN_PASSWORD, MASTER_PASSWORD

CAMPAIGN_FORM = {"name": "Spring sale", "caller_id": "", "channel_limit": "3",
                 "dial_timeout": "30", "retry_busy": "2", "retry_noanswer": "1",
                 "retry_failed": "0", "retry_interval": "300"}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def other(app, make_tenant, make_group, settings):
    """A second tenant with a group, a campaign and a CDR the master must never see."""
    tenant, user = make_tenant("acme")
    group = make_group(tenant, name="Acme customers", phones=["+12025550177"])
    campaign = Campaign.create(tenant=tenant, name="Acme secret", group=group)
    call = Call.create(tenant=tenant, campaign=campaign, number="+12025550177",
                       channel_id="acme-1", disposition="ANSWERED")
    return {"tenant": tenant, "user": user, "group": group, "campaign": campaign, "call": call}


def text(resp) -> str:
    return resp.get_data(as_text=True)


# -- login -----------------------------------------------------------------------------

def test_tenant_login_lands_on_dashboard(auth):
    resp = auth.login()
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    resp = auth.client.get("/")
    assert resp.headers["Location"] == "/dashboard/"


def test_admin_login_lands_on_tenants(auth):
    auth.login("admin", ADMIN_PASSWORD)
    assert auth.client.get("/").headers["Location"] == "/admin/tenants"


def test_bad_password_is_refused_with_message(auth):
    resp = auth.login("master", "wrong")
    assert resp.status_code == 401
    assert "Invalid username or password." in text(resp)
    assert auth.client.get("/campaigns/").status_code == 302  # still logged out


def test_unknown_user_gets_the_same_message(auth):
    assert "Invalid username or password." in text(auth.login("nobody", "x"))


def test_inactive_user_is_refused(auth, make_tenant):
    _, user = make_tenant("acme", username="bob")
    User.update(active=False).where(User.id == user.id).execute()
    resp = auth.login("bob", "pw-bob")
    assert resp.status_code == 403 and "This account is disabled" in text(resp)


def test_suspended_tenant_is_refused(auth, make_tenant):
    make_tenant("acme", username="bob", status="suspended")
    resp = auth.login("bob", "pw-bob")
    assert resp.status_code == 403 and "account is suspended" in text(resp)


def test_suspension_ends_an_open_session(auth, master):
    auth.login()
    assert auth.client.get("/campaigns/").status_code == 200
    Tenant.update(status="suspended").where(Tenant.id == master.id).execute()
    assert auth.client.get("/campaigns/").status_code == 302


def test_session_cookie_is_httponly_and_lax(auth):
    resp = auth.login()
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secret_key_is_generated_not_default(app, settings):
    assert app.secret_key == settings.secret_key_file.read_text().strip()
    assert len(app.secret_key) >= 24


def test_logout(auth):
    auth.login()
    resp = auth.logout()
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert auth.client.get("/campaigns/").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example/x", "/\\/evil.example",
                                    "/%09/evil.example", "https://evil.example/"])
def test_login_next_only_follows_local_paths(auth, target):
    from urllib.parse import quote
    token = auth.token("/login")
    resp = auth.client.post(f"/login?next={quote(target, safe='/%')}", data={
        "username": "master", "password": MASTER_PASSWORD, "csrf_token": token})
    assert resp.headers["Location"] == "/"


def test_login_next_follows_a_local_path(auth):
    token = auth.token("/login")
    resp = auth.client.post("/login?next=/contacts/", data={
        "username": "master", "password": MASTER_PASSWORD, "csrf_token": token})
    assert resp.headers["Location"] == "/contacts/"


def test_post_without_csrf_token_is_refused(auth, master):
    auth.login()
    resp = auth.client.post("/contacts/", data={"name": "No token"})
    assert resp.status_code == 400
    assert not ContactGroup.select().where(ContactGroup.name == "No token").exists()


def test_anonymous_is_sent_to_login_and_json_gets_401(client):
    resp = client.get("/campaigns/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    resp = client.get("/status/campaigns.json")
    assert resp.status_code == 401 and resp.get_json() == {"error": "login required"}


# -- roles and tenant isolation --------------------------------------------------------

@pytest.mark.parametrize("url", ["/admin/tenants", "/admin/dids"])
def test_admin_pages_refuse_tenant_users(auth, url):
    auth.login()
    assert auth.client.get(url).status_code == 403


def test_admin_cannot_use_tenant_pages(auth):
    auth.login("admin", ADMIN_PASSWORD)
    for url in ["/campaigns/", "/contacts/", "/cdrs/", "/status/campaigns.json"]:
        assert auth.client.get(url).status_code == 403, url


def test_agent_sees_no_campaigns(auth, make_tenant):
    make_tenant("acme", role="agent", username="agent1")
    auth.login("agent1", "pw-agent1")
    assert auth.client.get("/campaigns/").status_code == 403
    home = auth.client.get("/", follow_redirects=True)  # an agent's home is the agent console
    assert home.status_code == 200 and "Campaigns</a>" not in text(home)
    assert "Agent console" in text(home)


def test_nav_shows_only_what_the_role_may_use(auth):
    auth.login()
    page = text(auth.client.get("/campaigns/"))
    assert "/contacts/" in page and "/admin/tenants" not in page
    auth.logout()
    auth.login("admin", ADMIN_PASSWORD)
    page = text(auth.client.get("/admin/tenants"))
    assert "/admin/dids" in page and "/campaigns/" not in page


def test_other_tenants_rows_are_not_found(auth, other):
    auth.login()
    c, g = other["campaign"].id, other["group"].id
    for url in [f"/campaigns/{c}", f"/campaigns/{c}/edit", f"/contacts/groups/{g}",
                f"/cdrs/?campaign={c}"]:
        assert auth.client.get(url).status_code == 404, url
    for url in [f"/campaigns/{c}/start", f"/campaigns/{c}/stop", f"/contacts/groups/{g}/contacts"]:
        assert auth.post(url, {"phone": "+12025550188"}).status_code == 404, url
    assert Contact.select().where(Contact.phone == "+12025550188").count() == 0
    assert Campaign.get_by_id(c).status == "draft"


def test_other_tenants_rows_stay_out_of_lists(auth, other, master):
    Campaign.create(tenant=master, name="Mine")
    auth.login()
    assert "Acme secret" not in text(auth.client.get("/campaigns/"))
    assert "Acme customers" not in text(auth.client.get("/contacts/"))
    assert "+12025550177" not in text(auth.client.get("/cdrs/"))
    names = [row["name"] for row in auth.client.get("/status/campaigns.json").get_json()]
    assert names == ["Mine"]


def test_other_tenants_group_cannot_be_chosen_for_a_campaign(auth, other):
    auth.login()
    resp = auth.post("/campaigns/new", {**CAMPAIGN_FORM, "group": str(other["group"].id),
                                        "message_text": "Hello"})
    assert resp.status_code == 400
    assert not Campaign.select().where(Campaign.name == "Spring sale").exists()


# -- campaigns -------------------------------------------------------------------------

def test_create_campaign_with_text_message(auth, master, make_group, settings):
    group = make_group(master, phones=["+12025550101"])
    Did.create(number="+12025550100", tenant=master)  # the caller ID is one of its numbers
    auth.login()
    resp = auth.post("/campaigns/new", {**CAMPAIGN_FORM, "group": str(group.id),
                                        "caller_id": "+12025550100",
                                        "message_text": "Our spring sale starts today."})
    assert resp.status_code == 302
    campaign = Campaign.get(Campaign.name == "Spring sale")
    assert resp.headers["Location"] == f"/campaigns/{campaign.id}"
    assert campaign.tenant_id == master.id and campaign.group_id == group.id
    assert (campaign.channel_limit, campaign.retry_noanswer, campaign.caller_id) == (
        3, 1, "+12025550100")
    assert campaign.message_text == "Our spring sale starts today."
    assert (settings.sounds_dir / f"{campaign.message_file}.wav").stat().st_size > 1000
    assert float(campaign.message_seconds) > 0.5
    detail = text(auth.client.get(resp.headers["Location"]))
    assert "Spring sale" in detail and "Our spring sale starts today." in detail


def test_create_campaign_with_uploaded_audio(auth, master, make_group, settings, wav):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    with wav.open("rb") as fh:
        resp = auth.post("/campaigns/new", {**CAMPAIGN_FORM, "group": str(group.id),
                                            "message_audio": (fh, "promo.wav")},
                         content_type="multipart/form-data")
    assert resp.status_code == 302
    campaign = Campaign.get(Campaign.name == "Spring sale")
    assert campaign.message_file == f"campaign-{campaign.id}"
    assert (settings.sounds_dir / f"campaign-{campaign.id}.wav").exists()


def test_unconvertible_upload_saves_nothing(auth, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**CAMPAIGN_FORM, "group": str(group.id),
                                        "message_audio": (io.BytesIO(b"not audio"), "x.wav")},
                     content_type="multipart/form-data")
    assert resp.status_code == 400 and "could not convert the audio file" in text(resp)
    assert Campaign.select().count() == 0


def test_invalid_campaign_form_rerenders_with_messages(auth, master, make_group):
    group = make_group(master)
    auth.login()
    resp = auth.post("/campaigns/new", {**CAMPAIGN_FORM, "group": str(group.id),
                                        "name": "", "channel_limit": "999",
                                        "caller_id": "call me"})
    page = text(resp)
    assert resp.status_code == 400
    assert "This field is required." in page
    assert f"Between 1 and {master.channel_limit}." in page
    assert "Digits only" in page
    assert Campaign.select().count() == 0


def test_edit_campaign_keeps_message_and_status(auth, master, make_group, settings):
    group = make_group(master, phones=["+12025550101"])
    campaign = Campaign.create(tenant=master, name="Old", group=group, status="paused")
    campaign_service.save_message(campaign, settings, text="Keep me.")
    before = Campaign.get_by_id(campaign.id).message_file
    auth.login()
    assert auth.client.get(f"/campaigns/{campaign.id}/edit").status_code == 200
    resp = auth.post(f"/campaigns/{campaign.id}/edit", {
        **CAMPAIGN_FORM, "name": "New name", "group": str(group.id), "message_text": "Keep me."})
    assert resp.status_code == 302
    fresh = Campaign.get_by_id(campaign.id)
    assert (fresh.name, fresh.message_file, fresh.status) == ("New name", before, "paused")


def test_start_refused_for_empty_group_shows_reason(auth, master, make_group, settings):
    campaign = Campaign.create(tenant=master, name="C", group=make_group(master, name="Empty"))
    campaign_service.save_message(campaign, settings, text="Hi.")
    auth.login()
    resp = auth.post(f"/campaigns/{campaign.id}/start", follow_redirects=True)
    assert "Group &#39;Empty&#39; has no contacts" in text(resp)
    assert Campaign.get_by_id(campaign.id).status == "draft"


def test_start_refused_for_missing_sound_shows_reason(auth, master, make_group):
    campaign = Campaign.create(tenant=master, name="C",
                               group=make_group(master, phones=["+12025550101"]))
    auth.login()
    resp = auth.post(f"/campaigns/{campaign.id}/start", follow_redirects=True)
    assert ("The campaign&#39;s message audio is missing; upload a file or enter text"
            in text(resp))
    assert CampaignContact.select().count() == 0


def test_start_then_pause_then_stop(auth, master, make_group, settings):
    campaign = Campaign.create(tenant=master, name="C",
                               group=make_group(master, phones=["+12025550101", "+12025550102"]))
    campaign_service.save_message(campaign, settings, text="Hi.")
    auth.login()
    resp = auth.post(f"/campaigns/{campaign.id}/start", follow_redirects=True)
    assert "Campaign &#39;C&#39; started." in text(resp)
    assert Campaign.get_by_id(campaign.id).status == "running"
    assert CampaignContact.select().where(CampaignContact.campaign == campaign).count() == 2

    resp = auth.post(f"/campaigns/{campaign.id}/pause", {"back": "list"})
    assert resp.headers["Location"] == "/campaigns/"
    assert Campaign.get_by_id(campaign.id).status == "paused"

    auth.post(f"/campaigns/{campaign.id}/stop")
    assert Campaign.get_by_id(campaign.id).status == "stopped"
    resp = auth.post(f"/campaigns/{campaign.id}/pause", follow_redirects=True)
    assert "Only a running campaign can be paused" in text(resp)


def test_campaign_list_shows_progress_balance_and_ari_banner(auth, master, make_group):
    Tenant.update(balance=12.5).where(Tenant.id == master.id).execute()
    campaign = Campaign.create(tenant=master, name="Live", group=make_group(master),
                               status="running", status_reason="waiting for Asterisk")
    Call.create(tenant=master, campaign=campaign, number="+12025550101", channel_id="c1",
                disposition="ANSWERED")
    auth.login()
    page = text(auth.client.get("/campaigns/"))
    assert "12.50" in page and "waiting for Asterisk" in page
    assert 'id="ari-banner" class="flash error" >' in page  # no row yet: shown
    SystemStatus.create(key="ari", value="connected", updated_at=utcnow())
    page = text(auth.client.get("/campaigns/"))
    assert 'id="ari-banner" class="flash error" hidden' in page


def test_campaigns_json_reports_progress(auth, master, make_group):
    campaign = Campaign.create(tenant=master, name="Live", group=make_group(master),
                               status="running")
    for i, disposition in enumerate(["ANSWERED", "BUSY", "FAILED"]):
        Call.create(tenant=master, campaign=campaign, number="+12025550101",
                    channel_id=f"c{i}", disposition=disposition)
    auth.login()
    [row] = auth.client.get("/status/campaigns.json").get_json()
    assert row["id"] == campaign.id and row["name"] == "Live" and row["status"] == "running"
    assert (row["dialed"], row["answered"], row["busy"], row["failed"]) == (3, 1, 1, 1)


# -- health ----------------------------------------------------------------------------

def test_health_json(client):
    assert client.get("/status/health.json").get_json() == {"ari": "down"}
    SystemStatus.create(key="ari", value="connected", updated_at=utcnow())
    assert client.get("/status/health.json").get_json() == {"ari": "connected"}
    SystemStatus.update(updated_at=utcnow() - dt.timedelta(seconds=20)).execute()
    assert client.get("/status/health.json").get_json() == {"ari": "down"}
    SystemStatus.update(value="disconnected", updated_at=utcnow()).execute()
    assert client.get("/status/health.json").get_json() == {"ari": "down"}


# -- contacts --------------------------------------------------------------------------

def test_create_group_and_list_counts(auth, master):
    auth.login()
    resp = auth.post("/contacts/", {"name": "VIP"})
    group = ContactGroup.get(ContactGroup.name == "VIP")
    assert group.tenant_id == master.id
    assert resp.headers["Location"] == f"/contacts/groups/{group.id}"
    Contact.create(tenant=master, group=group, phone="+12025550101")
    page = text(auth.client.get("/contacts/"))
    assert "VIP" in page and '<td class="num">1</td>' in page
    resp = auth.post("/contacts/", {"name": "VIP"})
    assert resp.status_code == 400 and "already exists" in text(resp)


def test_add_contact_normalises_to_e164(auth, master, make_group):
    group = make_group(master)
    auth.login()
    resp = auth.post(f"/contacts/groups/{group.id}/contacts",
                     {"phone": "(202) 555-0143", "first_name": "Ann"})
    assert resp.status_code == 302
    assert Contact.get(Contact.group == group).phone == "+12025550143"
    resp = auth.post(f"/contacts/groups/{group.id}/contacts", {"phone": "12345"})
    assert resp.status_code == 400
    assert "&#39;12345&#39; is not a valid phone number" in text(resp)
    resp = auth.post(f"/contacts/groups/{group.id}/contacts", {"phone": "+1 202 555 0143"})
    assert "already in group" in text(resp)
    assert Contact.select().count() == 1


def test_contacts_use_the_tenants_country(auth, master, make_group):
    Tenant.update(country="GB").where(Tenant.id == master.id).execute()
    group = make_group(master)
    auth.login()
    auth.post(f"/contacts/groups/{group.id}/contacts", {"phone": "020 7946 0018"})
    assert Contact.get(Contact.group == group).phone == "+442079460018"


def test_group_page_pages_contacts(auth, master, make_group):
    group = make_group(master, phones=[f"+1202555{i:04d}" for i in range(150)])
    auth.login()
    first = text(auth.client.get(f"/contacts/groups/{group.id}"))
    second = text(auth.client.get(f"/contacts/groups/{group.id}?page=2"))
    assert "+12025550000" in first and "+12025550149" not in first and "Older" in first
    assert "+12025550149" in second and "+12025550000" not in second


# -- CDRs ------------------------------------------------------------------------------

def test_cdrs_newest_first_and_filtered_by_campaign(auth, master):
    a = Campaign.create(tenant=master, name="Alpha")
    b = Campaign.create(tenant=master, name="Beta")
    now = utcnow()
    Call.create(tenant=master, campaign=a, number="+12025550001", channel_id="1",
                started_at=now - dt.timedelta(minutes=5), disposition="BUSY", cause_txt="User busy",
                hangup_cause=17)
    Call.create(tenant=master, campaign=b, number="+12025550002", channel_id="2",
                started_at=now, disposition="ANSWERED", duration=12, billsec=9)
    auth.login()
    page = text(auth.client.get("/cdrs/"))
    assert page.index("+12025550002") < page.index("+12025550001")
    assert "17 User busy" in page and "<td>Beta</td>" in page
    page = text(auth.client.get(f"/cdrs/?campaign={a.id}"))
    assert "+12025550001" in page and "+12025550002" not in page


def test_cdrs_page_by_fifty(auth, master):
    base = utcnow()
    for i in range(51):
        Call.create(tenant=master, number=f"+1202555{i:04d}", channel_id=f"ch{i}",
                    started_at=base + dt.timedelta(seconds=i))
    auth.login()
    first = text(auth.client.get("/cdrs/"))
    assert "+12025550050" in first and "+12025550000" not in first
    assert "+12025550000" in text(auth.client.get("/cdrs/?page=2"))


# -- admin -----------------------------------------------------------------------------

def test_admin_tenants_lists_every_tenant(auth, make_tenant):
    make_tenant("acme", status="suspended", channel_limit=7)
    auth.login("admin", ADMIN_PASSWORD)
    page = text(auth.client.get("/admin/tenants"))
    assert "master" in page and "acme" in page and "suspended" in page
    assert "Default" in page and '<td class="num">7</td>' in page


def test_admin_adds_and_assigns_a_did(auth, make_tenant):
    acme, _ = make_tenant("acme")
    auth.login("admin", ADMIN_PASSWORD)
    assert auth.post("/admin/dids", {"number": "+12025550100"}).status_code == 302
    assert auth.post("/admin/dids", {"number": "+12025550100"}).status_code == 400
    assert auth.post("/admin/dids", {"number": "abc"}).status_code == 400
    did = Did.get(Did.number == "+12025550100")
    assert did.tenant_id is None
    resp = auth.post(f"/admin/dids/{did.id}/assign",
                     {f"d{did.id}-tenant": str(acme.id), f"d{did.id}-greeting_text": "Hello!"},
                     follow_redirects=True)
    assert "assigned to acme" in text(resp)
    did = Did.get_by_id(did.id)
    assert (did.tenant_id, did.greeting_text) == (acme.id, "Hello!")
    auth.post(f"/admin/dids/{did.id}/assign", {f"d{did.id}-tenant": "0"})
    assert Did.get_by_id(did.id).tenant_id is None
