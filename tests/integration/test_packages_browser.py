"""Packages and subscriptions in Debian's Chromium, as the provider's admin works them: a
usage-quota package made in the form (its included-usage section shows for that billing model
only), an existing tenant subscribed to it, renewed (free credit kept, included usage reset),
a downgrade to a smaller package refused for too many users with nothing changed, suspended
(its admin's login refused in a second browser) and unsuspended (the login works), and the
tenant's admin reading its own Subscription page. Every step is checked on the page and in
the database. A failing step leaves a screenshot in artifacts/."""
from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

from voxcast.accounts.passwords import hash_password

from models import Tenant, TenantLog, User
from models.entities import CreditBucket, LedgerEntry, Package, Rate, RatePlan, Subscription
from voxcast.packages import catalogue, subscriptions
from voxcast.packages.periods import add_period

from .conftest import ADMIN_PASSWORD

TENANT_PASSWORD = "Pkg-Tenant-Pass-1"


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def _day(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _usable(tenant_id: int, kind: str, now: dt.datetime) -> list[CreditBucket]:
    return list(CreditBucket.select().where(
        CreditBucket.tenant == tenant_id, CreditBucket.kind == kind,
        CreditBucket.expires_at.is_null() | (CreditBucket.expires_at > now))
        .order_by(CreditBucket.id))


def _actions(tenant_id: int) -> list[str]:
    return [r.action for r in TenantLog.select().where(TenantLog.tenant == tenant_id)
            .order_by(TenantLog.id)]


def _rows(page, table: str) -> list[list[str]]:
    """A table's body rows as their cells' text (text_content: no CSS text-transform)."""
    return page.eval_on_selector_all(
        f"{table} tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")


def _tenant_login(context, base: str, username: str):
    portal = context.new_page()
    portal.set_default_timeout(15000)
    portal.goto(f"{base}/login")
    portal.fill("input[name=username]", username)
    portal.fill("input[name=password]", TENANT_PASSWORD)
    _submit(portal, "form:has(input[name=password])")
    return portal


def test_given_a_tenant_when_the_provider_sells_renews_downgrades_and_suspends_its_package_then_page_and_database_agree(
        page, web, browser):
    tag = os.getpid()
    plan = RatePlan.create(name=f"Pkg UI plan {tag}", sms_price=Decimal("0.05"))
    Rate.create(plan=plan, prefix="1", description="North America",
                per_minute=Decimal("0.0200"))  # what the overage beyond the included units costs
    slug = f"pkgui{tag}"
    tenant = Tenant.create(name=f"Pkg UI {tag}", slug=slug, channel_limit=2, max_users=50)
    admin_name = f"pkg-admin-{tenant.id}"
    for username, role in ((admin_name, "tenant"), (f"pkg-sup-{tenant.id}", "supervisor"),
                           (f"pkg-user-{tenant.id}", "user")):  # 3 users: more than Starter's 2
        User.create(tenant=tenant, username=username, role=role,
                    password_hash=hash_password(TENANT_PASSWORD))
    big_name, small_name = f"Growth {tag}", f"Starter {tag}"
    tenant_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # -- the provider's admin logs in on the bare domain
        page.goto(f"{web.url}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        _submit(page, "form:has(input[name=password])")
        assert "/admin/tenants" in page.url

        # 1. a usage-quota package from the Packages list's "New package"
        page.goto(f"{web.url}/admin/packages/")
        page.locator("a.button", has_text="New package").click()
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/admin/packages/new")
        included = page.locator("input[name=included_minutes]")
        page.check("input[name=billing_model][value=subscription]")
        assert not included.is_visible() and page.locator("input[name=free_credit]").is_visible()
        assert not page.locator("input[name=topup_amount]").is_visible()
        page.check("input[name=billing_model][value=topup]")
        assert page.locator("input[name=topup_amount]").is_visible()
        assert not included.is_visible()
        assert not page.locator("input[name=free_credit]").is_visible()
        page.check("input[name=billing_model][value=usage]")
        for name in ("included_minutes", "included_messages", "included_pages",
                     "included_emails", "free_credit", "free_minutes"):
            assert page.locator(f"input[name={name}]").is_visible(), name
        assert not page.locator("input[name=topup_amount]").is_visible()

        page.fill("input[name=name]", big_name)
        page.fill("textarea[name=description]", "For growing teams")
        page.select_option("select[name=rate_plan]", label=plan.name)
        for name, value in (("channel_limit", "8"), ("max_users", "5"), ("max_agents", "3"),
                            ("max_campaigns", "10"), ("max_contacts", "5000"),
                            ("disk_quota_mb", "500")):
            page.fill(f"input[name={name}]", value)
        for box in page.locator("input[name=features]").all():
            box.uncheck()
        for feature in ("voice_message", "sms", "reports"):
            page.check(f"input[name=features][value={feature}]")
        page.select_option("select[name=period]", "monthly")
        for name, value in (("price", "49.00"), ("setup_fee", "15.00"), ("free_credit", "5.00"),
                            ("free_minutes", "30"), ("included_minutes", "100"),
                            ("included_messages", "200"), ("included_pages", "20"),
                            ("included_emails", "0")):
            page.fill(f"input[name={name}]", value)
        page.check("input[name=free_rollover][value=keep]")
        page.check("input[name=downgrade_policy][value=refuse]")
        _submit(page, "#package-form")
        assert page.url.endswith("/admin/packages/")
        assert f"Package '{big_name}' created." in page.inner_text("body")
        row = page.locator(f"#packages tr[data-package='{big_name}']").inner_text()
        assert "Usage quota" in row and "Monthly" in row and "49.00" in row and plan.name in row
        big = Package.get(Package.name == big_name)
        assert (big.billing_model, big.period, big.price, big.setup_fee) == (
            "usage", "monthly", Decimal("49.00"), Decimal("15.00"))
        assert big.rate_plan_id == plan.id and big.features == "voice_message sms reports"
        assert (big.channel_limit, big.max_users, big.max_agents, big.max_campaigns,
                big.max_contacts, big.disk_quota_mb) == (8, 5, 3, 10, 5000, 500)
        assert (big.free_credit, big.free_minutes, big.free_rollover) == (
            Decimal("5.00"), 30, "keep")
        assert (big.included_minutes, big.included_messages, big.included_pages,
                big.included_emails) == (100, 200, 20, 0)

        # 2. the smaller package (2 users), from the catalogue service
        small = catalogue.create_package(catalogue.PackageInput(
            name=small_name, billing_model="subscription", period="monthly", price="19.00",
            rate_plan_id=plan.id, channel_limit=2, max_users=2, max_agents=1,
            max_campaigns=5, max_contacts=1000, disk_quota_mb=200,
            features="voice_message sms", downgrade_policy="refuse"))
        page.reload()
        assert page.locator(f"#packages tr[data-package='{small_name}']").count() == 1

        # 3. subscribe the existing tenant from its Subscription page
        page.goto(f"{web.url}/admin/tenants/{tenant.id}/edit")
        page.locator("nav.subnav a", has_text="Subscription").click()
        page.wait_for_load_state("networkidle")
        assert page.url.endswith(f"/admin/tenants/{tenant.id}/subscription/")
        assert page.locator("#sub-none").is_visible()
        page.select_option("#subscribe-form select[name=sub-package]", str(big.id))
        page.fill("#subscribe-form input[name=sub-external_id]", f"whmcs-{tag}")
        _submit(page, "#subscribe-form")
        assert f"is now on the package '{big_name}'" in page.inner_text("body")
        sub = Subscription.get(Subscription.tenant == tenant.id)
        start, end = sub.period_start, sub.period_end
        assert (sub.package_id, sub.status, sub.external_id) == (big.id, "active", f"whmcs-{tag}")
        assert end == add_period(start, "monthly")
        assert page.inner_text("#sub-package") == big_name
        assert page.inner_text("#sub-status") == "active"
        # paid through `end`: the next renewal
        assert page.inner_text("#sub-period") == f"{_day(start)} – {_day(end)}"
        assert "Monthly" in page.locator("dt", has_text="Period").inner_text()
        assert "8 channels, 5 users, 3 agents, 10 campaigns, 5000 contacts, 500 MB disk" in \
            page.inner_text("#subscription")
        tenant = Tenant.get_by_id(tenant.id)
        assert (tenant.rate_plan_id, tenant.channel_limit, tenant.max_users,
                tenant.features) == (plan.id, 8, 5, "voice_message sms reports")
        entries = {e.kind: e for e in LedgerEntry.select().where(LedgerEntry.tenant == tenant.id)}
        assert entries["setup_fee"].amount == 0 and "15.00" in entries["setup_fee"].reference
        assert entries["subscription"].message_ref == subscriptions.period_ref(sub, start)
        first = entries["subscription"]
        assert first.amount == 0 and "First period" in first.reference
        assert {"free_credit", "free_minutes"} <= set(entries)
        now = dt.datetime.utcnow()
        (credit,) = _usable(tenant.id, "money", now)
        assert credit.amount == Decimal("5.00") and credit.expires_at is None  # keep: no expiry
        minutes = {b.source.endswith(":included"): b for b in _usable(tenant.id, "minutes", now)}
        assert minutes[False].seconds == 30 * 60 and minutes[False].expires_at is None
        assert minutes[True].seconds == 100 * 60 and minutes[True].expires_at == end
        assert [(b.units, b.expires_at) for b in _usable(tenant.id, "sms", now)] == [(200, end)]
        assert [(b.units, b.expires_at) for b in _usable(tenant.id, "fax", now)] == [(20, end)]
        assert not _usable(tenant.id, "email", now)  # 0 included e-mails grant nothing
        assert "subscription.create" in _actions(tenant.id)
        page.locator("nav.subnav a", has_text="Billing").click()
        page.wait_for_load_state("networkidle")
        ledger_text = page.inner_text("body")
        assert "First period" in ledger_text and "Set-up fee 15.00" in ledger_text
        page.locator("nav.subnav a", has_text="Log").click()
        page.wait_for_load_state("networkidle")
        assert f"package={big_name} model=usage" in page.inner_text("body")

        # 4. renew for one period from the panel
        page.goto(f"{web.url}/admin/tenants/{tenant.id}/subscription/")
        page.fill("#renew-form input[name=ren-reference]", f"INV-{tag}")
        _submit(page, "#renew-form")
        sub = Subscription.get_by_id(sub.id)
        assert sub.period_start == end and sub.period_end == add_period(end, "monthly", start.day)
        new_end = sub.period_end
        assert f"Subscription renewed: paid through {_day(new_end)}." in page.inner_text("body")
        assert page.inner_text("#sub-period") == f"{_day(end)} – {_day(new_end)}"
        renewal = LedgerEntry.get(LedgerEntry.tenant == tenant.id,
                                  LedgerEntry.message_ref == subscriptions.period_ref(sub, end))
        assert renewal.kind == "subscription" and renewal.amount == 0
        assert f"paid via front end: INV-{tag}" in renewal.reference
        now = dt.datetime.utcnow()
        credits = _usable(tenant.id, "money", now)  # keep: last period's credit stays, added to
        assert [(c.amount, c.expires_at) for c in credits] == [(Decimal("5.00"), None)] * 2
        included_minutes = sorted((b.expires_at, b.seconds)
                                  for b in _usable(tenant.id, "minutes", now)
                                  if b.source.endswith(":included"))
        # included usage is always reset: the old period's ends with it, the new one's is fresh
        assert included_minutes == [(end, 100 * 60), (new_end, 100 * 60)]
        assert sorted((b.expires_at, b.units) for b in _usable(tenant.id, "sms", now)) == [
            (end, 200), (new_end, 200)]
        assert [b.expires_at for b in _usable(tenant.id, "minutes", now)
                if not b.source.endswith(":included")] == [None, None]
        assert "subscription.renew" in _actions(tenant.id)
        page.locator("nav.subnav a", has_text="Billing").click()
        page.wait_for_load_state("networkidle")
        assert f"paid via front end: INV-{tag}" in page.inner_text("body")

        # 5. a downgrade below the tenant's usage is refused with the reason; nothing changes
        page.goto(f"{web.url}/admin/tenants/{tenant.id}/subscription/")
        ledger_rows = LedgerEntry.select().where(LedgerEntry.tenant == tenant.id).count()
        log_rows = len(_actions(tenant.id))
        page.select_option("#change-form select[name=chg-package]", str(small.id))
        _submit(page, "#change-form")
        refusal = page.inner_text("#downgrade-refused")
        assert f"The change to '{small_name}' was refused" in refusal
        assert f"Package {small_name} allows 2 users; the tenant has 3." in refusal
        assert "Nothing was changed." in refusal
        assert page.inner_text("#sub-package") == big_name
        sub = Subscription.get_by_id(sub.id)
        assert (sub.package_id, sub.pending_package_id, sub.period_end) == (big.id, None, new_end)
        tenant = Tenant.get_by_id(tenant.id)
        assert (tenant.max_users, tenant.channel_limit, tenant.features) == (
            5, 8, "voice_message sms reports")
        assert LedgerEntry.select().where(LedgerEntry.tenant == tenant.id).count() == ledger_rows
        assert len(_actions(tenant.id)) == log_rows

        # 6. suspend: the tenant's admin cannot log in (a second browser); unsuspend: they can
        page.goto(f"{web.url}/admin/tenants/{tenant.id}/subscription/")
        _submit(page, "#suspend-form")
        assert f"Tenant '{tenant.name}' suspended" in page.inner_text("body")
        assert page.inner_text("#sub-status") == "suspended"
        assert "by the provider" in page.locator("dd", has=page.locator("#sub-status")).inner_text()
        assert Tenant.get_by_id(tenant.id).status == "suspended"
        sub = Subscription.get_by_id(sub.id)
        assert (sub.status, sub.suspended_reason) == ("suspended", "provider")
        assert "subscription.suspend" in _actions(tenant.id)
        base = web.tenant_url(slug)
        portal = _tenant_login(tenant_context, base, admin_name)
        assert "/login" in portal.url
        assert "Your organisation's account is suspended." in portal.inner_text("body")
        portal.close()

        page.locator("#suspend-form button", has_text="Unsuspend").click()
        page.wait_for_load_state("networkidle")
        assert f"Tenant '{tenant.name}' unsuspended" in page.inner_text("body")
        assert page.inner_text("#sub-status") == "active"
        assert Tenant.get_by_id(tenant.id).status == "active"
        sub = Subscription.get_by_id(sub.id)
        assert (sub.status, sub.suspended_reason, sub.suspended_at) == ("active", "", None)
        assert "subscription.unsuspend" in _actions(tenant.id)
        portal = _tenant_login(tenant_context, base, admin_name)
        assert "/dashboard" in portal.url

        # 7. the tenant's admin reads its own Subscription page
        portal.locator("nav a", has_text="Subscription").click()
        portal.wait_for_load_state("networkidle")
        assert portal.url.endswith("/subscription/")
        assert portal.inner_text("#sub-package") == big_name
        assert portal.inner_text("#sub-model") == "Usage quota"
        # renewed ahead: the running period is still the first, paid through the second's end
        assert portal.inner_text("#sub-period") == f"{_day(start)} – {_day(end)}"
        assert portal.inner_text("#sub-paid-through") == _day(new_end)
        assert portal.inner_text("#sub-renewal") == _day(new_end)
        assert portal.locator("#sub-ahead").is_visible()
        assert _rows(portal, "#sub-limits") == [
            ["Channels", "8"], ["Users", "5"], ["Agents", "3"], ["Campaigns", "10"],
            ["Contacts", "5000"], ["Disk (MB)", "500"]]
        # included: each period's; left: both paid periods' (the running one ends at `end`),
        # and minutes left count free and included ones together (30 + 30 + 100 + 100)
        assert _rows(portal, "#sub-included") == [
            ["Minutes", "100", "260"], ["SMS messages", "200", "400"],
            ["Fax pages", "20", "40"], ["E-mails", "0", "0"]]
        # the free credit and free minutes are kept (no end date); this list shows the
        # included minutes too (named so, each until its period's end)
        assert sorted(_rows(portal, "#sub-free")) == sorted([
            ["Free credit", "5.00", ""], ["Free credit", "5.00", ""],
            ["Free minutes", "30", ""], ["Free minutes", "30", ""],
            ["Included minutes", "100", f"until {_day(end)}"],
            ["Included minutes", "100", f"until {_day(new_end)}"]])
        assert "what is left is kept at renewal" in portal.inner_text("body")
        usage = dict(r[:2] for r in _rows(portal, "#sub-usage"))
        assert (usage["Calls"], usage["SMS messages"], usage["Charged"]) == ("0", "0", "0.00")
    finally:
        tenant_context.close()
        Subscription.delete().where(Subscription.tenant == tenant.id).execute()
        Tenant.delete().where(Tenant.id == tenant.id).execute()
        Package.delete().where(Package.name.in_((big_name, small_name))).execute()
        RatePlan.delete().where(RatePlan.id == plan.id).execute()
