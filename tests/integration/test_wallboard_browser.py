"""The supervisor's wallboard in Debian's Chromium: it shows an agent's state change, a caller
entering a queue and the calls in progress without the page being reloaded, durations tick
between polls, and its buttons pause (with a reason) and log out an agent. No Asterisk is
needed: the rows the Stasis app would write are written here, the page is the real one, served
by the real web process, under its strict CSP (a violation fails the test)."""
from __future__ import annotations

import itertools

from playwright.sync_api import expect
from voxcast.accounts.passwords import hash_password

from models import Call, Extension, Tenant, User
from models.entities import AgentSession, PauseReason, Queue, QueueCall, utcnow
from voxcast.agents import sessions, states

from .conftest import wait_for

_ext = itertools.count(7801)
PASSWORD = "Wallboard-Pass-1"


def _user(tenant, username, role):
    user = User.create(tenant=tenant, username=username, role=role, first_name=username.title(),
                       password_hash=hash_password(PASSWORD))
    if role == "agent":
        Extension.create(number=str(next(_ext)), secret=f"s-{username}", tenant=tenant, user=user)
    return user


def test_given_a_supervisor_on_the_wallboard_when_agents_and_calls_change_then_it_shows_them_live(
        page, web):
    tenant = Tenant.create(name="WB Live", slug="wblive")
    _user(tenant, "wb-boss", "supervisor")
    ann, ben = _user(tenant, "wb-ann", "agent"), _user(tenant, "wb-ben", "agent")
    Queue.create(tenant=tenant, name="Sales", number="600")
    lunch = PauseReason.create(tenant=tenant, name="Lunch")
    PauseReason.create(tenant=tenant, name="Training")
    s_ann = sessions.login(tenant.id, ann.id)
    s_ben = sessions.login(tenant.id, ben.id)
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: violations.append(str(exc)))  # wallboard.js throwing

    base = web.tenant_url("wblive")
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "wb-boss")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    page.click("nav >> text=Wallboard")
    assert page.url.endswith("/supervisor/")
    ann_row = page.locator("#wb-agents tr[data-user='wb-ann']")
    expect(ann_row.locator("[data-k=state]")).to_have_text("Ready")
    expect(page.locator("#wb-totals [data-total=ready]")).to_have_text("2")
    page.evaluate("window.__notReloaded = true")

    # the agent pauses from their own console: the wallboard follows
    assert states.set_state(s_ann.id, "paused", pause_reason_id=lunch.id)
    expect(ann_row.locator("[data-k=state]")).to_have_text("Paused")
    expect(ann_row.locator("[data-k=pause_reason]")).to_have_text("Lunch")
    expect(page.locator("#wb-totals [data-total=paused]")).to_have_text("1")

    # a caller enters the queue: on the queue's row and in the calls in progress, ticking
    now = utcnow()
    caller = Call.create(tenant=tenant, direction="inbound", number="+12025550142",
                         channel_id="wb-caller-1", started_at=now, answered_at=now)
    QueueCall.create(tenant=tenant, queue=Queue.get(Queue.tenant == tenant.id), call=caller,
                     caller="+12025550142", entered_at=now)
    call_row = page.locator("#wb-calls tr", has_text="+12025550142")
    expect(call_row.locator("[data-k=state]")).to_have_text("Waiting in queue")
    expect(call_row.locator("[data-k=queue]")).to_have_text("Sales")
    expect(page.locator("#wb-queues tr", has_text="Sales").locator("[data-k=waiting]")
           ).to_have_text("1")
    first = call_row.locator("[data-tick=duration]").inner_text()
    wait_for(lambda: call_row.locator("[data-tick=duration]").inner_text() != first, timeout=5,
             message="the call's duration does not tick")

    # ben takes it: his row shows the call, the call shows him talking
    assert states.offer_started(s_ben.id, caller.id)
    assert states.offer_answered(s_ben.id, caller.id)
    QueueCall.update(answered_at=utcnow(), agent=ben.id, outcome="answered").where(
        QueueCall.call == caller.id).execute()
    ben_row = page.locator("#wb-agents tr[data-user='wb-ben']")
    expect(ben_row.locator("[data-k=state]")).to_have_text("On a call")
    expect(ben_row.locator("[data-k=call_number]")).to_contain_text("+12025550142")
    expect(call_row.locator("[data-k=state]")).to_have_text("Talking")
    expect(call_row.locator("[data-k=agent]")).to_have_text("wb-ben")
    expect(ben_row.locator("form.wb-pause")).to_be_hidden()  # no pause during a call
    assert page.evaluate("window.__notReloaded") is True

    # forced moves: ann gets another reason, ben is logged out
    ann_row.locator("form.wb-pause select").select_option(label="Training")
    ann_row.locator("form.wb-pause button").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".flash.success")).to_contain_text("wb-ann is paused.")
    assert AgentSession.get_by_id(s_ann.id).pause_reason.name == "Training"
    ben_row.locator("form.wb-logout button").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".flash.success")).to_contain_text("wb-ben is logged out.")
    row = AgentSession.get_by_id(s_ben.id)
    assert (row.state, row.end_reason) == ("logged_out", "supervisor")
    expect(page.locator("#wb-agents tr[data-user='wb-ben']")).to_have_count(0)
    expect(page.locator("#wb-agents tr[data-user='wb-ann'] [data-k=pause_reason]")
           ).to_have_text("Training")
    assert not violations, violations
