"""Issue 17 item 8 (the survey half): in Debian's Chromium against `voxcast web`, a survey
campaign is made with the creation wizard only (no JSON typed: questions added with the form's
own button), started from its page, and runs through the real Asterisk against a sipp called
party that answers the questions with RFC 4733 key presses; the answers then show on the
campaign's results page. Also at 375 px: the wizard's steps fit the screen."""
from __future__ import annotations

import json
import re

from models import Campaign, CampaignContact, Tenant
from models.entities import SurveyAnswer

from .conftest import MASTER_PASSWORD, wait_for
from .dtmf import uas
from .factories import make_group, reload, unique_phones


def _login(page, web) -> None:
    page.goto(f"{web.url}/login")
    page.fill("input[name=username]", "master")
    page.fill("input[name=password]", MASTER_PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state("load")
    assert "/login" not in page.url


def _next(page) -> None:
    page.click("#wizard-next")
    page.wait_for_load_state("load")


def _until(page, condition, what: str, timeout: float = 60) -> None:
    """Polls while Playwright runs (its events arrive only inside its calls)."""
    for _ in range(int(timeout * 5)):
        if condition():
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_given_the_wizard_when_a_survey_is_built_and_started_then_sipps_answers_show_on_its_page(
        page, web, stasis_app, settings, db, workdir):
    master = Tenant.get(Tenant.slug == "master")
    phones = unique_phones(1)
    group = make_group(master, phones)
    name = f"Wizard survey {phones[0]}"
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.set_viewport_size({"width": 375, "height": 740})
    _login(page, web)
    page.goto(f"{web.url}/campaigns/")
    page.click("a[href$='/campaigns/wizard/']")
    page.wait_for_load_state("load")

    # 1. type
    page.fill("input[name=name]", name)
    page.check("input[name=type][value=voice_survey]")
    _next(page)
    # 2. contacts
    page.check(f"input[name=group][value='{group.id}']")
    _next(page)
    # 3. the questions, with the form's own "Add a question"
    page.fill("#sv-q-0-text", "Question one. Press 1 or 2.")
    page.fill("#sv-q-0-digits", "12")
    page.click("#add-question")
    page.wait_for_load_state("load")
    page.fill("#sv-q-1-text", "Question two. Press 1, 2 or 3.")
    page.fill("#sv-q-1-digits", "123")
    page.fill("#sv-closing", "Thank you.")
    page.fill("#sv-timeout", "3")
    page.fill("#sv-retries", "2")
    _next(page)
    # 4. dialling
    page.fill("input[name=dial_timeout]", "5")
    page.fill("input[name=retry_busy]", "0")
    page.fill("input[name=retry_noanswer]", "0")
    _next(page)
    # 5. review
    assert "1 contacts in" in page.inner_text("#review-contacts")
    assert page.inner_text("#review-reach").strip() == "1"
    assert "covers the estimate" in page.inner_text("#review-balance")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.click("#wizard-create")
    page.wait_for_load_state("load")
    campaign = wait_for(lambda: Campaign.get_or_none(Campaign.tenant == master.id,
                                                     Campaign.name == name), 5,
                        message="campaign created")
    assert re.search(rf"/campaigns/{campaign.id}$", page.url), page.url
    assert json.loads(campaign.flow) == {
        "questions": [{"key": "q1", "text": "Question one. Press 1 or 2.", "digits": "12"},
                      {"key": "q2", "text": "Question two. Press 1, 2 or 3.", "digits": "123"}],
        "retries": 2, "timeout": 3, "closing": "Thank you."}

    # 9 is not allowed for q1 (asked again), then 2 for q1 and 3 for q2
    contact = uas(workdir, settings.trunk_port, "wizard-survey",
                  [(1.0, "9"), (2.2, "2"), (3.4, "3")])
    try:
        page.locator(f"form[action$='/campaigns/{campaign.id}/start'] button").click()
        page.wait_for_load_state("load")
        _until(page, lambda: reload(campaign).status == "completed", "campaign completed", 60)
        assert contact.wait(15) == 0, contact.diagnostics()
    finally:
        contact.stop()

    assert [(a.question, a.digit) for a in SurveyAnswer.select()
            .where(SurveyAnswer.campaign == campaign).order_by(SurveyAnswer.id)] == [
        ("q1", "2"), ("q2", "3")]
    assert CampaignContact.get(CampaignContact.campaign == campaign).result == "surveyed"
    page.goto(f"{web.url}/campaigns/{campaign.id}")
    tables = page.locator("table.survey")
    assert tables.count() == 2
    rows = [[c.strip() for c in tables.nth(i).locator("tr").all_inner_texts()]
            for i in range(2)]
    assert "1 answers" in tables.nth(0).locator("caption").inner_text()
    assert any(r.replace("\t", " ").split() == ["2", "1"] for r in rows[0]), rows
    assert any(r.replace("\t", " ").split() == ["3", "1"] for r in rows[1]), rows
    assert any(r.replace("\t", " ").split() == ["1", "0"] for r in rows[0]), rows
    assert not problems, problems
