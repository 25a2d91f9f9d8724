"""The provider's package pages, the subscription panel of a tenant and the tenant's own
Subscription page, through the Flask test client against a real SQLite database."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from models import Tenant, User
from models.entities import FEATURES, LedgerEntry, Package, RatePlan, Subscription
from voxcast.packages import subscriptions

from .conftest import ADMIN_PASSWORD

FORM = {"name": "Basic", "description": "For small teams", "rate_plan": "0",
        "channel_limit": "4", "max_users": "3", "max_agents": "1", "max_campaigns": "5",
        "max_contacts": "1000", "disk_quota_mb": "200", "features": ["voice_message", "sms"],
        "billing_model": "usage", "period": "monthly", "price": "29.00", "setup_fee": "10",
        "free_credit": "2.50", "free_minutes": "30", "free_rollover": "keep",
        "included_minutes": "100", "included_messages": "50", "included_pages": "10",
        "included_emails": "500", "topup_amount": "0", "grace_days": "7",
        "terminate_days": "30", "downgrade_policy": "refuse"}


@pytest.fixture
def admin(auth):
    auth.login("admin", ADMIN_PASSWORD)
    return auth


def _package(name="Pro", **fields) -> Package:
    values = {"billing_model": "subscription", "price": "49.00", "channel_limit": 20,
              "max_users": 50, "features": " ".join(FEATURES), **fields}
    return Package.create(name=name, **values)


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def test_given_the_form_when_the_provider_creates_a_package_then_every_field_is_saved(admin,
                                                                                       client):
    page = _text(client.get("/admin/packages/new"))
    for legend in ("Resources and limits", "Features: the tenant may use", "Billing model",
                   "Included each period (usage quota)", "Non-payment", "Downgrades"):
        assert legend in page
    assert "rate plan prices the overage" in page
    resp = admin.post("/admin/packages/new", FORM)
    assert resp.status_code == 302, _text(resp)
    p = Package.get(Package.name == "Basic")
    assert (p.billing_model, p.period, p.price, p.setup_fee) == ("usage", "monthly",
                                                                 Decimal("29.00"), Decimal("10"))
    assert (p.channel_limit, p.max_users, p.max_agents, p.disk_quota_mb) == (4, 3, 1, 200)
    assert p.features == "voice_message sms" and p.free_rollover == "keep"
    assert (p.free_credit, p.free_minutes, p.included_messages) == (Decimal("2.5"), 30, 50)
    listing = _text(client.get("/admin/packages/"))
    row = re.search(r'<tr data-package="Basic">.*?</tr>', listing, re.S).group(0)
    assert "Usage quota" in row and "29.00" in row and "Delete" in row


def test_given_bad_values_when_saved_then_the_reasons_show_by_the_fields_and_nothing_is_saved(
        admin):
    resp = admin.post("/admin/packages/new", {**FORM, "grace_days": "10", "terminate_days": "5",
                                             "price": "lots"})
    assert resp.status_code == 400
    page = _text(resp)
    assert "Terminate no sooner than the grace days end" in page
    assert "Enter an amount such as 29.00." in page
    assert Package.select().count() == 0


def test_given_a_package_when_edited_then_the_form_shows_its_values_and_saves_changes(admin,
                                                                                      client):
    p = _package(features="voice_message fax")
    page = _text(client.get(f"/admin/packages/{p.id}/edit"))
    assert re.search(r'value="fax"[^>]*checked|checked[^>]*value="fax"', page)
    assert not re.search(r'value="sms"[^>]*checked|checked[^>]*value="sms"', page)
    resp = admin.post(f"/admin/packages/{p.id}/edit", {**FORM, "name": "Pro",
                                                       "billing_model": "subscription",
                                                       "price": "59"})
    assert resp.status_code == 302, _text(resp)
    assert Package.get_by_id(p.id).price == Decimal("59")


def test_given_a_subscribed_package_then_it_cannot_be_deleted_but_can_be_deactivated(
        admin, client, make_tenant):
    p = _package()
    tenant, _user = make_tenant("acme")
    subscriptions.subscribe(tenant, p.id)
    listing = _text(client.get("/admin/packages/"))
    assert f"/admin/packages/{p.id}/delete" not in listing  # no button while in use
    resp = admin.post(f"/admin/packages/{p.id}/delete", follow_redirects=True)
    assert "deactivate it instead" in _text(resp) and Package.get_or_none(Package.id == p.id)
    admin.post(f"/admin/packages/{p.id}/deactivate")
    assert Package.get_by_id(p.id).active is False
    admin.post(f"/admin/packages/{p.id}/activate")
    assert Package.get_by_id(p.id).active is True
    unused = _package("Spare")
    admin.post(f"/admin/packages/{unused.id}/delete")
    assert Package.get_or_none(Package.id == unused.id) is None


def test_given_a_tenant_without_package_when_subscribed_from_its_edit_page_then_limits_apply(
        admin, client, make_tenant):
    plan = RatePlan.create(name="Gold")
    p = _package("Small", rate_plan=plan, channel_limit=3, max_users=4, features="sms")
    tenant, _user = make_tenant("acme")
    page = _text(client.get(f"/admin/tenants/{tenant.id}/edit"))
    assert 'id="subscribe-form"' in page and "Small" in page
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/subscribe",
                      {"sub-package": str(p.id), "sub-external_id": "whmcs-7", "back": "edit"})
    assert resp.status_code == 302 and resp.location.endswith(f"/admin/tenants/{tenant.id}/edit")
    t = Tenant.get_by_id(tenant.id)
    assert (t.rate_plan_id, t.channel_limit, t.max_users, t.features) == (plan.id, 3, 4, "sms")
    sub = Subscription.get(Subscription.tenant == tenant.id)
    assert sub.package_id == p.id and sub.external_id == "whmcs-7"
    page = _text(client.get(f"/admin/tenants/{tenant.id}/edit"))
    assert 'id="sub-package">Small<' in page and 'id="renew-form"' in page


def test_given_a_subscription_when_renewed_charging_the_balance_then_the_price_is_charged(
        admin, client, make_tenant):
    p = _package(price="20.00")
    tenant, _user = make_tenant("acme")
    sub = subscriptions.subscribe(tenant, p.id)
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/renew",
                      {"ren-charge_balance": "y"}, follow_redirects=True)
    assert "Insufficient" in _text(resp) or "not enough" in _text(resp).lower() \
        or "balance" in _text(resp).lower()
    assert Subscription.get_by_id(sub.id).period_end == sub.period_end  # refused: unchanged
    from voxcast.billing import ledger
    ledger.credit(tenant.id, "50", "payment")
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/renew",
                      {"ren-charge_balance": "y", "ren-reference": "INV-1"})
    assert resp.status_code == 302
    assert Subscription.get_by_id(sub.id).period_end > sub.period_end
    assert Tenant.get_by_id(tenant.id).balance == Decimal("30")
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/renew",
                      {"ren-reference": "INV-2"}, follow_redirects=True)
    assert "Subscription renewed: paid through" in _text(resp)
    row = LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                     LedgerEntry.kind == "subscription") \
        .order_by(LedgerEntry.id.desc()).first()
    assert row.amount == 0 and "INV-2" in row.reference


def test_given_usage_above_a_package_when_changed_to_it_then_each_reason_is_shown(
        admin, client, make_tenant):
    big = _package("Big", max_users=50)
    small = _package("Tiny", max_users=1, downgrade_policy="refuse")
    tenant, _user = make_tenant("acme")
    make_tenant("acme", username="second")
    make_tenant("acme", username="third")
    subscriptions.subscribe(tenant, big.id)
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/package",
                      {"chg-package": str(small.id), "chg-when": ""})
    assert resp.status_code == 409
    page = _text(resp)
    assert 'id="downgrade-refused"' in page and "Tiny" in page
    assert "allows 1 users; the tenant has 3" in page
    assert Subscription.get(Subscription.tenant == tenant.id).package_id == big.id
    up = _package("Huge", max_users=500)
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/package",
                      {"chg-package": str(up.id)}, follow_redirects=True)
    assert "Package changed to &#39;Huge&#39;" in _text(resp)
    assert Tenant.get_by_id(tenant.id).max_users == 500


def test_given_a_next_renewal_policy_then_the_change_is_pending_and_shown(admin, client,
                                                                          make_tenant):
    big = _package("Big", max_users=50)
    later = _package("Later", max_users=1, downgrade_policy="next_renewal")
    tenant, _user = make_tenant("acme")
    make_tenant("acme", username="second")
    subscriptions.subscribe(tenant, big.id)
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/package",
                      {"chg-package": str(later.id)}, follow_redirects=True)
    page = _text(resp)
    assert "takes effect at the next renewal" in page and 'id="sub-pending">Later<' in page


def test_given_the_panel_then_suspend_unsuspend_and_top_up_work(admin, client, make_tenant):
    tenant, _user = make_tenant("acme")
    top = _package("Ten", billing_model="topup", topup_amount="10.00", price="10.00")
    admin.post(f"/admin/tenants/{tenant.id}/subscription/suspend")
    assert Tenant.get_by_id(tenant.id).status == "suspended"
    assert "Unsuspend" in _text(client.get(f"/admin/tenants/{tenant.id}/subscription/"))
    admin.post(f"/admin/tenants/{tenant.id}/subscription/unsuspend")
    assert Tenant.get_by_id(tenant.id).status == "active"
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/topup",
                      {"top-package": str(top.id), "top-reference": "PAY-9"},
                      follow_redirects=True)
    assert "10.00 credited" in _text(resp)
    assert Tenant.get_by_id(tenant.id).balance == Decimal("10")


def test_given_a_top_up_package_then_it_is_not_offered_to_subscribe(admin, client, make_tenant):
    tenant, _user = make_tenant("acme")
    top = _package("Ten", billing_model="topup", topup_amount="10.00")
    resp = admin.post(f"/admin/tenants/{tenant.id}/subscription/subscribe",
                      {"sub-package": str(top.id)}, follow_redirects=True)
    assert "Choose a package from the list." in _text(resp)
    assert Subscription.select().count() == 0


def test_given_a_package_when_the_provider_creates_a_client_then_it_is_provisioned_on_it(
        admin, client, monkeypatch):
    monkeypatch.setenv("VOXCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VOXCAST_SMTP_PORT", "9")  # nothing listens: the mail fails, the tenant stays
    p = _package("Start", channel_limit=2, max_agents=3, features="voice_message")
    assert "Start" in _text(client.get("/admin/tenants/new"))
    resp = admin.post("/admin/tenants/new", {
        "name": "Newco", "slug": "newco", "country": "US", "timezone": "UTC",
        "language": "en", "rate_plan": "0", "channel_limit": "10", "balance": "5.00",
        "admin_username": "newboss", "admin_password": "Newco-Strong-Pass-1",
        "admin_email": "boss@newco.example", "notify": "credentials", "package": str(p.id)},
        follow_redirects=True)
    page = _text(resp)
    assert "created on the package" in page, page
    t = Tenant.get(Tenant.slug == "newco")
    assert (t.channel_limit, t.max_agents, t.features) == (2, 3, "voice_message")
    assert Subscription.get(Subscription.tenant == t.id).package_id == p.id
    assert t.balance == Decimal("5")
    assert User.get(User.username == "newboss").tenant_id == t.id


@pytest.mark.parametrize("role, allowed", [("tenant", True), ("supervisor", True),
                                           ("user", False), ("agent", False)])
def test_given_a_role_then_the_subscription_page_and_its_nav_link_follow_it(
        make_tenant, auth, client, role, allowed):
    tenant, user = make_tenant("acme", role=role)
    auth.login(user.username, f"pw-{user.username}")
    home = _text(client.get("/", follow_redirects=True))
    nav = home[home.index("<nav"):home.index("</nav>")]
    assert ('href="/subscription/"' in nav) is allowed
    assert client.get("/subscription/").status_code == (200 if allowed else 403)


def test_given_a_usage_package_then_the_tenant_sees_its_period_included_units_and_usage(
        make_tenant, auth, client):
    p = _package("Quota", billing_model="usage", included_minutes=100, included_messages=50,
                 free_credit="3.00", free_rollover="reset")
    tenant, user = make_tenant("acme")
    sub = subscriptions.subscribe(tenant, p.id)
    auth.login(user.username, f"pw-{user.username}")
    page = _text(client.get("/subscription/"))
    assert 'id="sub-package">Quota<' in page and "Usage quota" in page
    assert f'id="sub-renewal">{sub.period_end:%Y-%m-%d}<' in page
    included = re.search(r'<table id="sub-included">.*?</table>', page, re.S).group(0)
    assert re.search(r"SMS messages</th><td class=\"num\">50</td><td class=\"num\">50<",
                     included), included
    assert "Free credit" in page and "3.00" in page
    assert 'id="sub-usage"' in page


def test_given_no_subscription_then_the_tenant_page_says_so(make_tenant, auth, client):
    _tenant, user = make_tenant("acme")
    auth.login(user.username, f"pw-{user.username}")
    assert 'id="sub-none"' in _text(client.get("/subscription/"))


def test_the_provider_nav_links_the_packages(admin, client):
    home = _text(client.get("/", follow_redirects=True))
    nav = home[home.index("<nav"):home.index("</nav>")]
    assert 'href="/admin/packages/"' in nav
    resp = client.get("/admin/packages", follow_redirects=True)
    assert resp.status_code == 200 and resp.request.path == "/admin/packages/"


def test_given_a_tenant_user_then_the_provider_pages_are_refused(make_tenant, auth, client):
    p = _package()
    tenant, user = make_tenant("acme")
    auth.login(user.username, f"pw-{user.username}")
    for url in ("/admin/packages/", f"/admin/packages/{p.id}/edit",
                f"/admin/tenants/{tenant.id}/subscription/"):
        assert client.get(url).status_code == 403
    assert auth.post(f"/admin/tenants/{tenant.id}/subscription/subscribe",
                     {"sub-package": str(p.id)}).status_code == 403
    assert Subscription.select().count() == 0
