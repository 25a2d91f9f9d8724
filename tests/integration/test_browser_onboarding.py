"""A tenant's first hour, in Debian's Chromium: the provider's admin creates the tenant, its
admin logs in on the tenant's sub-domain, creates an agent with an extension, imports a
contacts CSV and sees the contacts. A failing step leaves a screenshot in artifacts/."""
from __future__ import annotations

import re

from models import Contact, Extension, Tenant, User
from voxcast.runtime import asterisk

from .conftest import ADMIN_PASSWORD, wait_for

CSV = ("Phone;First name;Last name;Mail;Plan\n"
       "(202) 555-0141;Ada;Lovelace;ada@example.com;gold\n"
       "202-555-0142;Alan;Turing;alan@example.com;silver\n"
       "+1 202 555 0142;Alan;Duplicate;;silver\n"
       "not a number;Bad;Row;;\n")


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def test_given_new_tenant_when_its_admin_onboards_then_agent_extension_and_contacts_exist(
        page, web, runtime, smtp_peer, settings, tmp_path):
    # -- the provider's admin, on the bare domain
    page.goto(f"{web.url}/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    _submit(page, "form:has(input[name=password])")
    assert "/admin/tenants" in page.url

    page.goto(f"{web.url}/admin/extensions")
    page.fill("input[name=first]", "7201")
    page.fill("input[name=last]", "7202")
    _submit(page, "form:has(input[name=first])")
    # the pool is paged (the session's other tests add theirs): look the new ones up
    page.fill("input[name=q]", "720")
    _submit(page, "form.list-search")
    assert page.locator("text=7201").count() >= 1

    page.goto(f"{web.url}/admin/tenants/new")
    page.fill("input[name=name]", "Company A")
    page.fill("input[name=slug]", "companya")
    page.select_option("select[name=country]", "US")
    page.select_option("select[name=timezone]", "America/New_York")
    page.fill("input[name=channel_limit]", "5")
    page.fill("input[name=balance]", "25.00")
    page.fill("input[name=admin_username]", "alice")
    page.fill("input[name=admin_password]", "Alice-Strong-Pass-1")
    page.fill("input[name=admin_first_name]", "Alice")
    page.fill("input[name=admin_email]", "alice@companya.example")
    page.check("input[name=notify][value=credentials]")
    _submit(page, "form:has(input[name=admin_username])")
    tenant = wait_for(lambda: Tenant.get_or_none(Tenant.slug == "companya"), 15,
                      message="tenant created")
    mail = wait_for(lambda: next((m for m in smtp_peer.messages
                                  if m["To"] == "alice@companya.example"), None), 10,
                    message="welcome e-mail")
    assert "alice" in smtp_peer.body(mail)

    page.goto(f"{web.url}/admin/tenants/{tenant.id}/extensions")
    page.fill("input[name=count]", "1")
    _submit(page, "form:has(input[name=count])")
    ext = wait_for(lambda: Extension.get_or_none(Extension.tenant == tenant.id), 5,
                   message="extension allocated")
    # allocated means a real PJSIP endpoint in the running Asterisk, no restart
    wait_for(lambda: f"Endpoint:  {ext.number}" in asterisk.cli(runtime, f"pjsip show endpoint {ext.number}"),
             10, message="PJSIP endpoint exists")

    # -- the tenant's admin, on the tenant's own sub-domain
    page.context.clear_cookies()
    page.goto(f"{web.tenant_url('companya')}/login")
    assert "Company A" in page.content()  # the login page knows its tenant
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "Alice-Strong-Pass-1")
    _submit(page, "form:has(input[name=password])")
    assert "/dashboard" in page.url

    page.goto(f"{web.tenant_url('companya')}/users/new")
    page.fill("input[name=username]", "agent.smith")
    page.select_option("select[name=role]", "agent")
    page.fill("input[name=password]", "Agent-Pass-12345")
    page.fill("input[name=pin]", "4321")
    page.fill("input[name=first_name]", "John")
    page.fill("input[name=last_name]", "Smith")
    page.fill("input[name=email]", "smith@companya.example")
    _submit(page, "form:has(input[name=username])")
    agent = wait_for(lambda: User.get_or_none(User.username == "agent.smith"), 5,
                     message="agent created")
    assert agent.tenant_id == tenant.id and agent.role == "agent"

    page.goto(f"{web.tenant_url('companya')}/extensions/")
    row = page.locator("tr", has_text=ext.number)
    row.locator("select[name=user_id]").select_option(str(agent.id))
    row.locator("form:has(select[name=user_id]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    wait_for(lambda: Extension.get_by_id(ext.id).user_id == agent.id, 5,
             message="extension assigned to the agent")

    page.goto(f"{web.tenant_url('companya')}/contacts/")
    page.fill("input[name=name]", "Customers")
    _submit(page, "form:has(input[name=name])")
    assert re.search(r"/contacts/groups/\d+", page.url)
    csv_path = tmp_path / "customers.csv"
    csv_path.write_text(CSV)
    page.set_input_files("input[name=csv_file]", str(csv_path))
    _submit(page, "form:has(input[name=csv_file])")
    assert "map the columns" in page.content()
    _submit(page, "form:has(select[name=col_0])")  # the guessed mapping: phone, names, e-mail

    content = page.content()
    assert "Lovelace" in content and "Turing" in content
    assert "not a number" in content  # the bad row is reported with its value
    phones = sorted(c.phone for c in Contact.select().where(Contact.tenant == tenant.id))
    assert phones == ["+12025550141", "+12025550142"]  # duplicate skipped, bad row reported
