"""Webhooks in the tenant's portal, in Debian's Chromium: the tenant's admin follows the nav
link, adds an endpoint (the secret is shown once), queues a test event and sees it in the
recent deliveries, rotates the secret and deletes the endpoint."""
from __future__ import annotations

import os

from voxcast.accounts.passwords import hash_password

from models import Tenant, User
from models.entities import WebhookDelivery, WebhookEndpoint


def _submit(page, selector: str) -> None:
    page.locator(selector).first.click()
    page.wait_for_load_state("networkidle")


def test_given_the_portal_when_the_admin_adds_a_webhook_then_its_secret_shows_once_and_a_test_event_is_listed(
        page, web):
    slug = f"hookui{os.getpid()}"
    tenant = Tenant.create(name=f"Hook UI {os.getpid()}", slug=slug)
    User.create(tenant=tenant, username=f"hook-admin-{tenant.id}", role="tenant",
                password_hash=hash_password("Hook-Admin-Pass-1"))
    base = web.tenant_url(slug)
    try:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", f"hook-admin-{tenant.id}")
        page.fill("input[name=password]", "Hook-Admin-Pass-1")
        _submit(page, "form:has(input[name=password]) button[type=submit]")

        page.locator("nav a", has_text="Webhooks").click()
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/webhooks/")
        page.fill("input[name=url]", "https://crm.example.com/voxcast")
        page.uncheck("input[name=events][value='*']")
        page.check("input[name=events][value='campaign.*']")
        page.check("input[name=events][value='payment.received']")
        page.fill("input[name=description]", "CRM")
        _submit(page, "#webhook-form button[type=submit]")

        row = WebhookEndpoint.get(WebhookEndpoint.tenant == tenant.id)
        assert page.inner_text("#new-webhook-secret") == row.secret
        assert row.events == "campaign.* payment.received" and row.description == "CRM"
        assert "crm.example.com/voxcast" in page.inner_text("#webhooks")

        page.locator("#webhooks a", has_text="crm.example.com").click()
        page.wait_for_load_state("networkidle")
        assert row.secret not in page.content()  # shown once only
        _submit(page, "#webhook-test")
        assert page.locator("#webhook-deliveries tr[data-state]").count() == 1
        assert "webhook.test" in page.inner_text("#webhook-deliveries")
        assert WebhookDelivery.get(WebhookDelivery.endpoint == row.id).event == "webhook.test"

        _submit(page, "#webhook-rotate")
        rotated = WebhookEndpoint.get_by_id(row.id).secret
        assert rotated != row.secret and page.inner_text("#new-webhook-secret") == rotated

        _submit(page, "#webhook-delete")
        assert page.url.endswith("/webhooks/")
        assert "No webhooks yet." in page.inner_text("#webhooks")
        assert not WebhookEndpoint.select().where(WebhookEndpoint.tenant == tenant.id).exists()
    finally:
        Tenant.delete().where(Tenant.id == tenant.id).execute()
