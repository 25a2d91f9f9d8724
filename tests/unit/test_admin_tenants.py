"""Provider client management through the UI: list, create (with real e-mail via aiosmtpd),
activation links, edit, suspend/enable, force delete."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from models import (Call, Campaign, CampaignContact, Contact, ContactGroup, Did, Extension,
                    RatePlan, Tenant, TenantLog, User)
from voxcast.tenants import services as tenant_service

from .conftest import ADMIN_PASSWORD, CSRF_RE
from .smtp_peer import free_port, smtp  # noqa: F401  (fixture)


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def admin(auth):
    auth.login("admin", ADMIN_PASSWORD)
    return auth


def new_tenant_form(**over):
    plan = RatePlan.get(RatePlan.name == "Default")
    data = {"name": "Acme Corp", "company_size": "11-50", "country": "DE", "email": "",
            "timezone": "Europe/Berlin", "language": "de", "rate_plan": str(plan.id),
            "channel_limit": "12", "balance": "25.50", "slug": "acme",
            "admin_username": "acme-admin", "admin_password": "Sup3r-secret",
            "admin_first_name": "Ada", "admin_email": "ada@acme.example",
            "notify": "credentials"}
    data.update(over)
    return data


def test_list_shows_master_with_columns_and_operations(admin):
    page = text(admin.client.get("/admin/tenants"))
    master = Tenant.get(Tenant.slug == "master")
    assert "master" in page and "Default" in page and ">50<" in page and "active" in page
    for url in (f"/admin/tenants/{master.id}/edit", f"/admin/tenants/{master.id}/users",
                f"/admin/tenants/{master.id}/users?role=agent",
                f"/admin/tenants/{master.id}/extensions", f"/admin/tenants/{master.id}/dids",
                f"/admin/tenants/{master.id}/features", f"/admin/log?tenant={master.id}",
                f"/admin/tenants/{master.id}/usage", f"/admin/tenants/{master.id}/suspend"):
        assert url in page
        if not url.endswith("suspend"):
            assert admin.client.get(url).status_code == 200, url
    assert f"/admin/tenants/{master.id}/delete" not in page  # master cannot be deleted


def test_create_with_credentials_mails_login_and_admin_can_log_in(admin, smtp):
    resp = admin.post("/admin/tenants/new", new_tenant_form())
    assert resp.status_code == 302, text(resp)
    tenant = Tenant.get(Tenant.slug == "acme")
    assert (tenant.name, tenant.country, tenant.timezone, tenant.language, tenant.channel_limit,
            tenant.balance, tenant.company_size, tenant.rate_plan.name) == (
        "Acme Corp", "DE", "Europe/Berlin", "de", 12, Decimal("25.50"), "11-50", "Default")
    user = User.get(User.username == "acme-admin")
    assert user.role == "tenant" and user.tenant_id == tenant.id and user.active
    assert user.first_name == "Ada" and user.password_hash != "Sup3r-secret"
    log = TenantLog.get(TenantLog.action == "tenant.create")
    assert log.tenant_id == tenant.id and log.username == "admin"

    msg = smtp.wait(1)
    assert msg["To"] == "ada@acme.example" and msg["From"] == "noc@provider.test"
    body = smtp.body(msg)
    assert "acme-admin" in body and "Sup3r-secret" in body
    assert "http://acme.voxcast.test/login" in body
    assert "E-mail sent to ada@acme.example" in text(admin.client.get("/admin/tenants"))

    admin.logout()
    resp = admin.login("acme-admin", "Sup3r-secret")
    assert resp.status_code == 302


def test_create_with_activation_link_then_set_password_and_log_in(admin, smtp, client):
    resp = admin.post("/admin/tenants/new", new_tenant_form(notify="activation",
                                                            admin_password=""))
    assert resp.status_code == 302, text(resp)
    user = User.get(User.username == "acme-admin")
    assert not user.active and user.activation_token and user.activation_expires_at
    link = smtp.link(smtp.wait(1))
    parts = urlsplit(link)
    assert parts.netloc == "acme.voxcast.test"
    token = parts.path.rsplit("/", 1)[1]
    assert user.activation_token != token  # only a hash is stored
    admin.logout()

    base = f"{parts.scheme}://{parts.netloc}"
    # an inactive account cannot log in before activation
    assert admin.login("acme-admin", "whatever-1").status_code in (401, 403)
    page = client.get(parts.path, base_url=base)
    assert page.status_code == 200 and "acme-admin" in text(page)
    csrf = CSRF_RE.search(text(page)).group(1)
    resp = client.post(parts.path, base_url=base, data={
        "csrf_token": csrf, "password": "N3w-password!", "confirm": "N3w-password!"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    user = User.get_by_id(user.id)
    assert user.active and user.activation_token is None and user.activation_expires_at is None
    assert TenantLog.select().where(TenantLog.action == "user.activate").count() == 1
    # the link works once
    assert client.get(parts.path, base_url=base).status_code == 404
    # log in on the tenant's own sub-domain
    page = client.get("/login", base_url=base)
    assert "Acme Corp" in text(page)
    csrf = CSRF_RE.search(text(page)).group(1)
    resp = client.post("/login", base_url=base, data={
        "csrf_token": csrf, "username": "acme-admin", "password": "N3w-password!"})
    assert resp.status_code == 302


def test_activation_link_expires_after_72_hours(admin, smtp, client):
    admin.post("/admin/tenants/new", new_tenant_form(notify="activation", admin_password=""))
    link = urlsplit(smtp.link(smtp.wait(1)))
    User.update(activation_expires_at=dt.datetime.utcnow() - dt.timedelta(minutes=1)).where(
        User.username == "acme-admin").execute()
    resp = client.get(link.path)
    assert resp.status_code == 404 and "expired" in text(resp)
    assert not User.get(User.username == "acme-admin").active


def test_admin_resends_a_link_from_manage_users(admin, smtp):
    admin.post("/admin/tenants/new", new_tenant_form(notify="activation", admin_password=""))
    first = smtp.link(smtp.wait(1))
    tenant = Tenant.get(Tenant.slug == "acme")
    user = User.get(User.username == "acme-admin")
    page = text(admin.client.get(f"/admin/tenants/{tenant.id}/users"))
    assert "waiting for activation" in page
    admin.post(f"/admin/tenants/{tenant.id}/users/{user.id}/send-link")
    second = smtp.link(smtp.wait(2))
    assert first != second
    assert admin.client.get(urlsplit(first).path).status_code == 404  # the old one is void
    assert admin.client.get(urlsplit(second).path).status_code == 200


def test_mail_failure_is_reported_and_tenant_stays(admin, monkeypatch):
    monkeypatch.setenv("VOXCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VOXCAST_SMTP_PORT", str(free_port()))  # nobody listens
    resp = admin.post("/admin/tenants/new", new_tenant_form(), follow_redirects=True)
    page = text(resp)
    assert "the e-mail could not be sent" in page and "ConnectionRefusedError" in page
    assert Tenant.get_or_none(Tenant.slug == "acme") is not None


@pytest.mark.parametrize("over, field_msg", [
    ({"slug": "master"}, "already taken"),
    ({"admin_username": "master"}, "already taken"),
    ({"name": "master"}, "already exists"),
    ({"slug": "Bad Slug"}, "lowercase letters"),
    ({"slug": "www"}, "reserved"),
    ({"balance": "-5"}, "Enter an amount"),
    ({"admin_email": "not-an-address"}, "valid e-mail"),
    ({"admin_password": "short"}, "At least 8"),
    ({"channel_limit": "0"}, "Number must be between"),
    ({"timezone": "Mars/Base"}, "Not a valid choice"),
])
def test_bad_input_re_renders_and_creates_nothing(admin, over, field_msg):
    before = (Tenant.select().count(), User.select().count(), TenantLog.select().count())
    resp = admin.post("/admin/tenants/new", new_tenant_form(**over))
    assert resp.status_code == 400
    assert field_msg in text(resp)
    assert (Tenant.select().count(), User.select().count(), TenantLog.select().count()) == before


def test_master_is_editable(admin):
    master = Tenant.get(Tenant.slug == "master")
    resp = admin.post(f"/admin/tenants/{master.id}/edit", {
        "name": "master", "slug": "master", "company_size": "", "country": "GB",
        "email": "ops@provider.example", "timezone": "Europe/London", "language": "en",
        "rate_plan": "0", "channel_limit": "60"})
    assert resp.status_code == 302, text(resp)
    master = Tenant.get_by_id(master.id)
    assert (master.country, master.channel_limit, master.rate_plan_id) == ("GB", 60, None)
    assert TenantLog.get(TenantLog.action == "tenant.update").tenant_id == master.id
    resp = admin.post(f"/admin/tenants/{master.id}/edit", {
        "name": "master", "slug": "other", "country": "GB", "timezone": "UTC",
        "language": "en", "rate_plan": "0", "channel_limit": "60"})
    assert resp.status_code == 400 and "keeps its sub-domain" in text(resp)


def test_suspend_pauses_campaigns_ends_sessions_and_enable_restores(admin, make_tenant,
                                                                    make_group, client, app):
    tenant, user = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550111"])
    running = Campaign.create(tenant=tenant, name="Running", group=group, status="running")
    draft = Campaign.create(tenant=tenant, name="Draft", group=group)
    version = user.session_version

    tenant_client = app.test_client()
    from .conftest import AuthActions
    tenant_auth = AuthActions(tenant_client)
    assert tenant_auth.login("acme-tenant", "pw-acme-tenant").status_code == 302

    assert admin.post(f"/admin/tenants/{tenant.id}/suspend").status_code == 302
    assert Tenant.get_by_id(tenant.id).status == "suspended"
    running = Campaign.get_by_id(running.id)
    assert (running.status, running.status_reason) == ("paused", "Account suspended")
    assert Campaign.get_by_id(draft.id).status == "draft"
    assert User.get_by_id(user.id).session_version == version + 1
    assert tenant_client.get("/campaigns/").status_code == 302  # session ended
    resp = tenant_auth.login("acme-tenant", "pw-acme-tenant")
    assert resp.status_code == 403 and "suspended" in text(resp)

    assert admin.post(f"/admin/tenants/{tenant.id}/enable").status_code == 302
    assert Tenant.get_by_id(tenant.id).status == "active"
    assert Campaign.get_by_id(running.id).status == "paused"  # the tenant resumes it
    assert tenant_auth.login("acme-tenant", "pw-acme-tenant").status_code == 302
    actions = [r.action for r in TenantLog.select().where(TenantLog.tenant == tenant.id)]
    assert "tenant.suspend" in actions and "tenant.enable" in actions


def test_force_delete_needs_the_name_removes_data_and_returns_numbers(admin, make_tenant,
                                                                      make_group, settings):
    tenant, user = make_tenant("acme")
    group = make_group(tenant, phones=["+12025550111", "+12025550112"])
    campaign = Campaign.create(tenant=tenant, name="C", group=group, message_file="x")
    entry = CampaignContact.create(tenant=tenant, campaign=campaign,
                                   contact=Contact.select().first(), phone="+12025550111")
    Call.create(tenant=tenant, campaign=campaign, entry=entry, number="+12025550111",
                channel_id="c-1")
    ext = Extension.create(number="1000", secret="s", tenant=tenant, user=user)
    did = Did.create(number="+4930123", tenant=tenant, user=user, campaign=campaign)
    settings.sounds_dir.mkdir(parents=True, exist_ok=True)
    sound = settings.sounds_dir / f"campaign-{campaign.id}.wav"
    sound.write_bytes(b"RIFF....")
    other = settings.sounds_dir / "campaign-99999.wav"
    other.write_bytes(b"keep")

    resp = admin.post(f"/admin/tenants/{tenant.id}/delete", {"confirm": "wrong"})
    assert resp.status_code == 400 and "to confirm" in text(resp)
    assert Tenant.get_or_none(Tenant.id == tenant.id) is not None

    resp = admin.post(f"/admin/tenants/{tenant.id}/delete", {"confirm": "acme"})
    assert resp.status_code == 302
    assert Tenant.get_or_none(Tenant.id == tenant.id) is None
    for model in (User, ContactGroup, Contact, Campaign, CampaignContact, Call):
        assert model.select().where(model.tenant == tenant.id).count() == 0, model
    ext, did = Extension.get_by_id(ext.id), Did.get_by_id(did.id)
    assert (ext.tenant_id, ext.user_id) == (None, None)
    assert (did.tenant_id, did.user_id, did.campaign_id) == (None, None, None)
    assert not sound.exists() and other.exists()
    assert TenantLog.get(TenantLog.action == "tenant.delete").tenant_id is None


def test_master_cannot_be_deleted(admin):
    master = Tenant.get(Tenant.slug == "master")
    resp = admin.post(f"/admin/tenants/{master.id}/delete", {"confirm": "master"})
    assert resp.status_code == 400 and "cannot be deleted" in text(resp)
    assert Tenant.get_or_none(Tenant.slug == "master") is not None


def test_tenant_users_cannot_reach_admin_pages(auth):
    auth.login()
    master = Tenant.get(Tenant.slug == "master")
    for url in ("/admin/tenants/new", f"/admin/tenants/{master.id}/edit",
                f"/admin/tenants/{master.id}/features", "/admin/log", "/admin/extensions"):
        assert auth.client.get(url).status_code == 403, url


def test_service_create_is_one_transaction(db):
    """A clash found only by the database (race) leaves nothing behind."""
    profile = tenant_service.TenantProfile(name="Beta", slug="beta")
    admin_ = tenant_service.NewAdmin("beta-admin", "password-1", "B", "b@beta.example")
    tenant_service.create_tenant(profile, admin_, "0", languages={"en": "English"})
    with pytest.raises(tenant_service.TenantError):
        tenant_service.create_tenant(
            tenant_service.TenantProfile(name="Gamma", slug="gamma"),
            tenant_service.NewAdmin("beta-admin", "password-1", "G", "g@x.example"),
            "0", languages={"en": "English"})
    assert Tenant.get_or_none(Tenant.slug == "gamma") is None
