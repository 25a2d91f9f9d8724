"""The phones' settings set in Debian's Chromium and obeyed by the next call: the provider's
admin blocks a prefix on the tenant's form, the tenant's admin picks the DID an extension
shows; a registered sipp phone then finds the blocked number refused (the trunk never asked)
and another number sent out with that DID."""
from __future__ import annotations

from voxcast.accounts.passwords import hash_password

from models import Did, Extension, Tenant, User

from .conftest import ADMIN_PASSWORD, wait_for
from .phones import answers, dial, received_invites, tenant_with_phones
from .sipp import Sipp


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def test_given_settings_made_in_the_browser_when_the_phone_dials_then_they_apply(
        page, web, stasis_app, agi_server, settings, workdir):
    tenant, pw = tenant_with_phones(settings, ["8601"])
    Did.create(number="+15550600001", tenant=tenant)
    Did.create(number="+15550600002", tenant=tenant)
    User.create(tenant=tenant, username="phones-admin", role="tenant",
                password_hash=hash_password("Phones-Admin-Pass-1"))

    page.goto(f"{web.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    _submit(page, "form:has(input[name=password])")
    page.goto(f"{web.url}/admin/tenants/{tenant.id}/edit")
    page.fill("input[name=blocked_prefixes]", "1555999, 1900")
    _submit(page, "form:has(input[name=blocked_prefixes])")
    wait_for(lambda: Tenant.get_by_id(tenant.id).blocked_prefixes == "1555999 1900", 5,
             message="blocked prefixes saved")

    page.context.clear_cookies()
    page.goto(f"{web.tenant_url(tenant.slug)}/login")
    page.fill("input[name=username]", "phones-admin")
    page.fill("input[name=password]", "Phones-Admin-Pass-1")
    _submit(page, "form:has(input[name=password])")
    page.goto(f"{web.tenant_url(tenant.slug)}/extensions/")
    row = page.locator("tr", has_text="8601")
    row.locator("select[name=caller_id]").select_option("+15550600002")
    row.locator("form:has(select[name=caller_id]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    wait_for(lambda: Extension.get(Extension.number == "8601").caller_id == "+15550600002", 5,
             message="caller ID saved")
    assert "+15550600002" in page.content()

    trunk = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=30).start()
    try:
        blocked = dial(settings, workdir, "8601", pw["8601"], "15559990001",
                       settings.sip_port + 75)
        assert blocked.wait(30) == 0, blocked.diagnostics()
        allowed = dial(settings, workdir, "8601", pw["8601"], "15551230009",
                       settings.sip_port + 75, hold_ms=1000)
        assert allowed.wait(30) == 0, allowed.diagnostics()
        assert trunk.wait(20) == 0, trunk.diagnostics()
    finally:
        trunk.stop()
    assert answers(blocked)[-1] == "403" and answers(allowed)[-1] == "200"
    invites = received_invites(trunk)
    assert len(invites) == 1 and invites[0].startswith("INVITE sip:+15551230009@")
    from_line = next(l for l in invites[0].splitlines() if l.lower().startswith("from:"))
    assert "15550600002" in from_line, from_line
