"""The audio library in Debian's Chromium (fake microphone): the tenant uploads a file (a broken
one refused on the form), has a text spoken, records with the microphone (MediaRecorder, the
WAV posted by fetch with the CSRF token), and every prompt plays in the page: its <audio>
element loads the tenant-scoped audio route and knows the prompt's length. No CSP violation on
the way (the recorder's preview plays from a blob: URL)."""
from __future__ import annotations

import os
import subprocess

import pytest
from playwright.sync_api import expect
from voxcast.accounts.passwords import hash_password

from models import Tenant, User
from models.entities import Prompt

from .conftest import BASE_DOMAIN
from .test_accessibility_browser import AXE, PHONE, _axe, _describe

SLUG = "audiolib"
PASSWORD = "Audio-Lib-Pass-1"


@pytest.fixture(scope="module")
def browser(settings):
    """Chromium with a fake microphone that needs no permission prompt; the tenant's
    sub-domain is treated as a secure origin (getUserMedia wants HTTPS, which the test web
    server does not have)."""
    from playwright.sync_api import sync_playwright
    origin = f"http://{SLUG}.{BASE_DOMAIN}:{settings.web_port}"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=os.environ.get("VOXCAST_CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--disable-quic", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream",
                  "--autoplay-policy=no-user-gesture-required",
                  f"--unsafely-treat-insecure-origin-as-secure={origin}",
                  f"--host-resolver-rules=MAP {BASE_DOMAIN} 127.0.0.1, "
                  f"MAP *.{BASE_DOMAIN} 127.0.0.1"])
        yield chromium
        chromium.close()


def _submit(page, form_selector: str) -> None:
    page.locator(form_selector).locator("button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def _playable(page, prompt: Prompt) -> float:
    """Load the row's <audio> and play it; its duration as the browser decoded it."""
    selector = f"tr[data-id='{prompt.id}'] audio"
    return page.eval_on_selector(selector, """async (el) => {
        if (el.readyState < 1) {
          await new Promise((ok, fail) => {
            setTimeout(() => fail(new Error("audio did not load")), 5000);
            el.addEventListener("loadedmetadata", ok, {once: true});
            el.addEventListener("error", () => fail(new Error("audio error " +
                                                               (el.error && el.error.code))),
                                {once: true});
            el.load();
          });
        }
        await el.play();
        el.pause();
        return el.duration;
    }""")


def test_given_the_portal_when_prompts_are_uploaded_spoken_and_recorded_then_each_plays(
        page, web, settings, workdir):
    tenant = Tenant.get_or_none(Tenant.slug == SLUG) or Tenant.create(
        name="Audio Library Ltd", slug=SLUG, disk_quota_mb=50)
    User.create(tenant=tenant, username=f"audio-{tenant.id}", role="tenant",
                password_hash=hash_password(PASSWORD))
    violations = []
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text else None)
    tone = workdir / "welcome.flac"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(tone), "synth", "2.5", "sine",
                    "300-900"], check=True)
    broken = workdir / "broken.mp3"
    broken.write_bytes(b"ID3 this is not an mp3 at all" * 20)

    base = web.tenant_url(SLUG)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", f"audio-{tenant.id}")
    page.fill("input[name=password]", PASSWORD)
    _submit(page, "form:has(input[name=password])")

    page.goto(f"{base}/prompts/")
    assert "No prompts yet" in page.content()
    # a broken file: refused on the form, nothing stored
    page.set_input_files("#prompt-upload input[name=audio]", str(broken))
    _submit(page, "#prompt-upload")
    assert "This is not an audio file we can read" in page.content()
    assert Prompt.select().where(Prompt.tenant == tenant.id).count() == 0

    # an upload
    page.fill("#prompt-upload input[name=name]", "Welcome tone")
    page.set_input_files("#prompt-upload input[name=audio]", str(tone))
    _submit(page, "#prompt-upload")
    uploaded = Prompt.get(Prompt.tenant == tenant.id, Prompt.name == "Welcome tone")
    assert page.locator(f"tr[data-id='{uploaded.id}']").is_visible()
    assert abs(_playable(page, uploaded) - 2.5) < 0.1

    # text to speech
    page.fill("#prompt-speak input[name=name]", "Opening hours")
    page.fill("#prompt-speak textarea[name=text]", "We are open from nine to five.")
    _submit(page, "#prompt-speak")
    spoken = Prompt.get(Prompt.tenant == tenant.id, Prompt.name == "Opening hours")
    assert spoken.source == "tts" and spoken.language == "en"
    assert abs(_playable(page, spoken) - float(spoken.seconds)) < 0.1

    # the microphone: record about two seconds, listen to the preview, save
    recorder = page.locator("#prompt-recorder")
    assert recorder.is_visible()
    page.fill("#record-name", "My recording")
    page.click("#record-start")
    expect(page.locator("#record-stop")).to_be_enabled()  # (no wait_for_function: CSP, no eval)
    page.wait_for_timeout(2000)
    page.click("#record-stop")
    expect(page.locator("#record-save")).to_be_enabled()
    preview = page.eval_on_selector("#record-preview", """async (el) => {
        if (el.readyState < 1) {
          await Promise.race([  // a preview the CSP refused never loads
            new Promise((ok) => el.addEventListener("loadedmetadata", ok, {once: true})),
            new Promise((ok) => setTimeout(ok, 5000))]);
        }
        return [el.src.slice(0, 5), el.duration];
    }""")
    assert preview[0] == "blob:" and preview[1] > 1.0, preview
    with page.expect_navigation():
        page.click("#record-save")
    page.wait_for_load_state("networkidle")
    recorded = Prompt.get(Prompt.tenant == tenant.id, Prompt.name == "My recording")
    assert recorded.source == "recording" and float(recorded.seconds) > 1.0
    assert "My recording added" in page.content()
    assert abs(_playable(page, recorded) - float(recorded.seconds)) < 0.1

    # the page with its prompts passes axe (WCAG 2.1 AA) at desktop and phone width, and at
    # 375 px the page itself never scrolls sideways (the table scrolls inside itself)
    page.context.add_init_script(path=str(AXE))
    page.goto(f"{base}/prompts/")
    problems = _describe("/prompts/", 1280, _axe(page))
    page.set_viewport_size(PHONE)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    problems += _describe("/prompts/", 375, _axe(page))
    overflow = page.evaluate("Math.max(document.documentElement.scrollWidth, "
                             "document.body.scrollWidth) - document.documentElement.clientWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px at 375 px"
    assert not problems, "\n".join(problems)
    assert violations == []
