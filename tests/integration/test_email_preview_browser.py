"""The e-mail preview in Debian's Chromium: the tenant's admin picks a contact of the
campaign's group and sees its mail; the HTML part is shown in the sandboxed frame, and a
script the template carries does not run (neither inline nor as a handler)."""
from __future__ import annotations

import secrets

from voxcast.accounts.passwords import hash_password

from models import Campaign, Contact, ContactGroup, Tenant, User


def test_given_an_email_campaign_when_previewed_for_a_contact_then_its_mail_shows_and_no_script_runs(
        page, web):
    slug = f"mailp{secrets.token_hex(2)}"
    tenant = Tenant.create(name=slug, slug=slug)
    User.create(tenant=tenant, username=f"{slug}-admin", role="tenant",
                password_hash=hash_password("Mail-Admin-Pass-1"))
    group = ContactGroup.create(tenant=tenant, name="news")
    Contact.create(tenant=tenant, group=group, phone="+15550171", first_name="Ann",
                   email="ann@example.com")
    bob = Contact.create(tenant=tenant, group=group, phone="+15550172", first_name="Bob",
                         last_name="<i>Stone</i>", email="bob@example.com", custom2="B-42")
    campaign = Campaign.create(
        tenant=tenant, name="Spring", type="email", group=group,
        email_subject="Spring offer for {{ first_name }}",
        email_html="<html><body><h1 style='color:#c00'>Hello {{ first_name }} {{ last_name }}"
                   "</h1><p id='code'>Code {{ custom2 }}</p>"
                   "<script>document.body.insertAdjacentHTML('beforeend','<p id=ran>ran</p>')"
                   "</script><img src='x' onerror=\"document.body.insertAdjacentHTML("
                   "'beforeend','<p id=ran2>ran</p>')\"></body></html>",
        email_text="")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{web.tenant_url(slug)}/login")
    page.fill("input[name=username]", f"{slug}-admin")
    page.fill("input[name=password]", "Mail-Admin-Pass-1")
    page.locator("form:has(input[name=password]) button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    page.goto(f"{web.tenant_url(slug)}/campaigns/{campaign.id}/email-preview")
    page.select_option("select[name=contact]", str(bob.id))
    page.locator("form.inline-form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".email-subject").inner_text() == "Spring offer for Bob"
    assert "Code B-42" in page.locator("pre.email-text").inner_text()
    assert page.locator("iframe.email-preview").get_attribute("sandbox") == ""
    frame = page.frame_locator("iframe.email-preview")
    assert frame.locator("h1").inner_text() == "Hello Bob <i>Stone</i>"  # escaped, not markup
    assert frame.locator("#code").inner_text() == "Code B-42"
    assert frame.locator("a", has_text="Unsubscribe").count() == 1
    page.wait_for_timeout(500)
    assert frame.locator("#ran").count() == 0 and frame.locator("#ran2").count() == 0
