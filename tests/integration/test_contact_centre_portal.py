"""The contact centre set-up in Debian's Chromium: a tenant administrator adds pause reasons and
dispositions, builds a queue with two agents and their penalties and a fallback queue, sees an
agent logged in on "Agents now" appear and change state without reloading by hand, and logs
them out. No Asterisk is needed: these are the
portal's pages and the database they write. A failing step leaves a screenshot in artifacts/."""
from __future__ import annotations

import itertools

from playwright.sync_api import expect
from voxcast.accounts.passwords import hash_password

from models import Extension, Tenant, User
from models.entities import AgentDisposition, AgentSession, PauseReason, Queue, QueueMember
from voxcast.agents import sessions, states

from .conftest import wait_for

_ext = itertools.count(7701)


def _user(tenant, username, role, password="Portal-Pass-1"):
    user = User.create(tenant=tenant, username=username, role=role, first_name=username.title(),
                       password_hash=hash_password(password))
    if role == "agent":
        Extension.create(number=str(next(_ext)), secret=f"s-{username}", tenant=tenant, user=user)
    return user


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def test_given_a_tenant_admin_when_setting_up_the_contact_centre_then_it_is_saved(page, web):
    tenant = Tenant.create(name="CC Portal", slug="ccportal")
    _user(tenant, "cc-admin", "tenant")
    ann, ben = _user(tenant, "cc-ann", "agent"), _user(tenant, "cc-ben", "agent")
    base = web.tenant_url("ccportal")
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "cc-admin")
    page.fill("input[name=password]", "Portal-Pass-1")
    _submit(page, "form:has(input[name=password])")
    assert "/dashboard" in page.url

    # the nav leads there
    page.click("nav >> text=Queues")
    assert page.url.endswith("/queues/")

    page.click("text=Pause reasons")
    page.fill("#new-pause-reason input[name=name]", "Lunch")
    _submit(page, "#new-pause-reason")
    assert page.locator("#pause-reasons input[value=Lunch]").count() == 1
    assert PauseReason.get(PauseReason.tenant == tenant.id).name == "Lunch"

    page.click("text=Dispositions")
    page.fill("#new-disposition input[name=name]", "Call back")
    page.select_option("#new-disposition select[name=kind]", "callback")
    _submit(page, "#new-disposition")
    assert AgentDisposition.get(AgentDisposition.tenant == tenant.id).kind == "callback"

    # a fallback queue first, then the main queue with members and penalties
    page.goto(f"{base}/queues/new")
    page.fill("#queue-form input[name=name]", "Overflow")
    _submit(page, "#queue-form")
    page.goto(f"{base}/queues/new")
    page.fill("#queue-form input[name=name]", "Sales")
    page.fill("#queue-form input[name=number]", "600")
    page.select_option("#queue-form select[name=strategy]", "round_robin")
    page.fill("#queue-form input[name=ring_seconds]", "4")  # too short: refused, kept
    page.check(f"#member-{ann.id}")
    page.fill(f"input[name=penalty_{ann.id}]", "5")
    page.check(f"#member-{ben.id}")
    _submit(page, "#queue-form")
    assert page.locator("text=From 5 to 120 seconds.").count() == 1
    assert page.locator(f"#member-{ann.id}").is_checked()
    assert page.input_value(f"input[name=penalty_{ann.id}]") == "5"
    page.fill("#queue-form input[name=ring_seconds]", "20")
    page.select_option("#queue-form select[name=fallback]", "queue")
    page.select_option("#queue-form select[name=fallback_queue_id]", label="Overflow")
    _submit(page, "#queue-form")
    sales = wait_for(lambda: Queue.get_or_none(Queue.tenant == tenant.id, Queue.name == "Sales"), 5,
                     message="queue saved")
    assert (sales.number, sales.strategy, sales.ring_seconds, sales.fallback) == (
        "600", "round_robin", 20, "queue")
    assert Queue.get_by_id(sales.fallback_queue_id).name == "Overflow"
    assert sorted((m.user_id, m.penalty) for m in QueueMember.select().where(
        QueueMember.queue == sales.id)) == [(ann.id, 5), (ben.id, 0)]

    # the agent logs in (as the console would) while the supervisor's page is open: it shows
    # them without a reload by hand, follows their state, and the supervisor logs them out
    page.goto(f"{base}/agents/")
    assert page.locator("text=No agent is logged in.").count() == 1
    session = sessions.login(tenant.id, ann.id)
    row = page.locator('tr[data-user="cc-ann"]')
    row.wait_for(timeout=8000)
    assert "Ready" in row.locator("td.state").inner_text()
    states.set_state(session.id, "paused", pause_reason_id=PauseReason.get(
        PauseReason.tenant == tenant.id).id)
    expect(page.locator('tr[data-user="cc-ann"] td.state')).to_contain_text("Paused: Lunch",
                                                                          timeout=8000)
    row = page.locator('tr[data-user="cc-ann"]')
    row.locator("button.logout").click()
    page.wait_for_load_state("networkidle")
    assert AgentSession.get_by_id(session.id).end_reason == "supervisor"
    assert page.locator("text=No agent is logged in.").count() == 1
