"""Agent evaluation in Debian's Chromium against `voxcast web`: the tenant's admin builds a
form with the builder's HTML forms, opens an agent's recorded call from the call records,
plays its recording in the <audio> element beside the form, scores it, and reads the score in
the summary and its CSV; the agent then reads their own evaluation (and hears the call), and
nothing of the builder. No step may trip the strict CSP."""
from __future__ import annotations

import datetime as dt
import math
import struct
import wave

from voxcast.accounts.passwords import hash_password

from models import Call, Tenant, User
from models.entities import Evaluation, utcnow
from voxcast.reports.period import to_local, zone_of

from .conftest import MASTER_PASSWORD, wait_for


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def _tone(path, seconds: float = 2.0, rate: int = 8000) -> None:
    """A real WAV (440 Hz, 8 kHz mono), as Asterisk's MixMonitor leaves them."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                               for i in range(int(seconds * rate))))


def _recorded_call(settings, tenant: Tenant, agent: User) -> Call:
    call = Call.create(tenant=tenant, number="+12025550177", channel_id="eval-browser-1",
                       direction="inbound", started_at=utcnow() - dt.timedelta(minutes=5),
                       answered_at=utcnow() - dt.timedelta(minutes=5), duration=40, billsec=38,
                       disposition="ANSWERED", agent=agent)
    name = f"{tenant.id}-{call.id}.wav"
    settings.recordings_dir.mkdir(parents=True, exist_ok=True)
    _tone(settings.recordings_dir / name)
    Call.update(recording=name).where(Call.id == call.id).execute()
    return call


def _login(page, web, username: str, password: str) -> None:
    page.goto(f"{web.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    _submit(page, "form:has(input[name=password])")


def _add_question(page, section: str, text: str, kind: str, weight: str, scale_max: str = "5",
                  allow_na: bool = True) -> None:
    new = page.locator(f"section[data-section='{section}'] form.eval-new")
    new.locator("input[name=text]").fill(text)
    new.locator("select[name=kind]").select_option(kind)
    new.locator("input[name=scale_max]").fill(scale_max)
    new.locator("input[name=weight]").fill(weight)
    box = new.locator("input[name=allow_na]")
    box.check() if allow_na else box.uncheck()
    new.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f"li[data-question='{text}']").count() == 1


def test_given_a_recorded_agent_call_when_a_form_is_built_and_the_call_scored_then_the_summary_shows_it(
        page, web, db, settings):
    master = Tenant.get(Tenant.slug == "master")
    agent = User.create(tenant=master, username="eva.agent", role="agent", first_name="Eva",
                        last_name="Agent", password_hash=hash_password("Eva-Agent-Pass-1"))
    call = _recorded_call(settings, master, agent)
    csp = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)

    _login(page, web, "master", MASTER_PASSWORD)
    page.click("header nav >> text=Evaluation")
    page.click("nav.tabs >> text=Forms")
    page.fill("#new-form input[name=name]", "Call quality")
    _submit(page, "#new-form")
    assert "/evaluation/forms/" in page.url
    for title in ("Opening", "Compliance"):
        page.fill("#new-section input[name=title]", title)
        _submit(page, "#new-section")
    _add_question(page, "Opening", "Greeted the caller by name?", "yes_no", "2")
    _add_question(page, "Opening", "Tone of voice", "scale", "3", scale_max="5", allow_na=False)
    _add_question(page, "Compliance", "Read the recording disclosure?", "yes_no", "1",
                  allow_na=False)
    # Reorder: tone first in its section.
    page.locator("li[data-question='Tone of voice'] button[aria-label='Move question up']").click()
    page.wait_for_load_state("networkidle")
    opening = page.locator("section[data-section='Opening'] li[data-question]")
    assert [opening.nth(i).get_attribute("data-question") for i in range(opening.count())] == [
        "Tone of voice", "Greeted the caller by name?"]

    # The call records link to the scoring page; the recording plays beside the form.
    # Filtered by its number: the shared tenant holds other tests' newer calls (50 a page).
    page.goto(f"{web.url}/cdrs/?number=2025550177")
    page.locator(f"a.evaluate[href='/evaluation/calls/{call.id}/score']").click()
    page.wait_for_load_state("networkidle")
    audio = page.locator("#call-audio")
    assert audio.get_attribute("src") == f"/cdrs/{call.id}/recording"
    audio.evaluate("a => { a.muted = true; return a.play(); }")
    wait_for(lambda: audio.evaluate("a => a.currentTime") > 0.2, 10, message="recording playing")
    assert abs(audio.evaluate("a => a.duration") - 2.0) < 0.05  # the real file, decoded
    assert page.locator("#call-agent").inner_text() == "Eva Agent"
    assert page.locator("#call-panel").bounding_box()["x"] < \
        page.locator("#score-form").bounding_box()["x"]  # beside the form, not under it

    def answer(question: str, value: str):
        page.locator(f".eval-answer[data-question='{question}'] input[value='{value}']").check()
    answer("Tone of voice", "4")
    answer("Greeted the caller by name?", "yes")
    answer("Read the recording disclosure?", "no")
    page.fill("#score-form textarea[name=comment]", "Warm greeting; read the disclosure next time.")
    _submit(page, "#score-form")
    # 2 + 3 x 3/4 = 4.25 of 6 points
    assert page.locator("#evaluation-score").inner_text() == "70.83 %"
    assert page.locator(".section-score").all_inner_texts() == ["85.00 %", "0.00 %"]
    saved = Evaluation.get(Evaluation.call == call.id)
    assert (str(saved.points), saved.agent_id) in (("4.25", agent.id),)

    # The summary over the call's local day, filtered to the agent, and its CSV.
    day = to_local(call.started_at, zone_of(master.timezone)).date().isoformat()
    page.click("nav.tabs >> text=Summary")
    page.fill("#evaluation-filters input[name=start]", day)
    page.fill("#evaluation-filters input[name=end]", day)
    page.select_option("#evaluation-filters select[name=agent]", str(agent.id))
    _submit(page, "#evaluation-filters")
    row = page.locator("#summary-forms tr[data-agent='Eva Agent'][data-form='Call quality']")
    assert row.locator(".count").inner_text() == "1"
    assert row.locator(".average").inner_text() == "70.83 %"
    assert row.locator(".sections").inner_text() == "Opening: 85.00 % · Compliance: 0.00 %"
    with page.expect_download() as download:
        page.click("#summary-csv")
    csv = open(download.value.path(), encoding="utf-8").read()
    assert "Eva Agent,Call quality,,,1,1,70.83,70.83,70.83" in csv.splitlines()
    assert "(all agents),Call quality,Opening,Tone of voice,1,1,75.00,," in csv.splitlines()

    # The agent reads their own evaluation and hears the call; the builder is not theirs.
    page.context.clear_cookies()
    _login(page, web, "eva.agent", "Eva-Agent-Pass-1")
    page.click("header nav >> text=My evaluations")
    page.locator(f"tr[data-evaluation='{saved.id}'] a").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#evaluation-score").inner_text() == "70.83 %"
    assert "read the disclosure next time" in page.locator("#evaluation-comment").inner_text()
    assert page.locator("text=Re-score").count() == 0
    own_audio = page.locator("#call-audio")
    wait_for(lambda: own_audio.evaluate("a => a.readyState") >= 1, 10, message="agent's audio")
    assert page.goto(f"{web.url}/evaluation/forms").status == 403
    assert not csp, csp
