"""At a 375-px-wide viewport (issue 17 item 5) the main menu folds behind a "Menu" button
(webui/static/nav.js, no inline script): several tenant pages load without scrolling
sideways, the menu is closed, opens from the keyboard (Tab to the button, Enter or Space),
its links are then reachable by Tab, Escape closes it with the focus back on the button, and
at desktop width there is no button and the menu shows. The DID page's greeting picker
(issue 17, the audio library) plays the prompt chosen in it. Real web process, Debian's
Chromium, the app's strict CSP (a violation fails the test)."""
from __future__ import annotations

from voxcast.accounts.passwords import hash_password

from models.entities import Did, Tenant, User
from voxcast.audio import library

PASSWORD = "Phone-Nav-Pass-1"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
PAGES = ["/dashboard/", "/campaigns/", "/contacts/", "/prompts/", "/dids/", "/ivrs/",
         "/users/", "/account/"]


def _seed(settings):
    tenant = Tenant.create(name="Phone Nav", slug="phonenav", language="en")
    User.create(tenant=tenant, username="nav-admin", role="tenant", email="nav@phone.test",
                password_hash=hash_password(PASSWORD))
    prompt = library.speak(tenant.id, "Welcome greeting", "Welcome to Phone Nav.", settings)
    did = Did.create(number="4930555000", tenant=tenant)
    return tenant, prompt, did


def _login(page, base):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "nav-admin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state("load")
    assert "/login" not in page.url


def _focused(page) -> str:
    return page.evaluate("document.activeElement ? (document.activeElement.className || "
                         "document.activeElement.tagName) : ''")


def _tab_to_menu_button(page) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(6):
        page.keyboard.press("Tab")
        if "nav-toggle" in _focused(page):
            return
    raise AssertionError(f"Tab never reached the Menu button (at {_focused(page)})")


def test_at_375_px_the_menu_folds_and_opens_from_the_keyboard(browser, web, settings):
    tenant, prompt, did = _seed(settings)
    base = web.tenant_url(tenant.slug)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text)
            if "Content Security Policy" in m.text else None)
    try:
        _login(page, base)
        toggle = page.locator("header.top .nav-toggle")
        first_link = page.locator("header.top nav a").first
        for path in PAGES:
            response = page.goto(f"{base}{path}")
            assert response.status == 200, path
            overflow = page.evaluate(
                "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                " - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at 375 px"
            assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
            assert not first_link.is_visible(), f"{path}: the menu is open before asked"
            _tab_to_menu_button(page)
            page.keyboard.press("Enter")
            assert toggle.get_attribute("aria-expanded") == "true"
            assert first_link.is_visible()
            page.keyboard.press("Tab")  # the first menu link comes next
            assert page.evaluate("document.activeElement.closest('header.top nav') !== null")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path}: the open menu scrolls sideways by {overflow}px"
            page.keyboard.press("Escape")
            assert toggle.get_attribute("aria-expanded") == "false"
            assert not first_link.is_visible() and "nav-toggle" in _focused(page)
            page.keyboard.press(" ")  # Space opens it too
            assert first_link.is_visible()
            page.keyboard.press(" ")
            assert not first_link.is_visible()

        page.set_viewport_size(DESKTOP)
        page.goto(f"{base}/dids/")
        assert not toggle.is_visible() and first_link.is_visible()

        # the DID's greeting from the audio library, heard before saving
        picker = page.locator(f"tr[data-id='{did.id}'] select[name=greeting_prompt]")
        audio = page.locator(f"#greeting-audio-{did.id}")
        assert audio.is_hidden()
        picker.select_option(str(prompt.id))
        assert audio.is_visible()
        assert audio.get_attribute("src").endswith(f"/prompts/{prompt.id}/audio")
        assert "Welcome greeting" in audio.get_attribute("aria-label")
        seconds = page.evaluate(
            """id => new Promise((resolve, reject) => { const a = document.getElementById(id);
                 a.addEventListener('loadedmetadata', () => resolve(a.duration));
                 a.addEventListener('error', () => reject(new Error('no audio')));
                 a.load(); })""", f"greeting-audio-{did.id}")
        assert seconds > 0.5
        page.locator(f"tr[data-id='{did.id}'] button[type=submit]").click()
        page.wait_for_load_state("load")
        assert Did.get_by_id(did.id).greeting_file == prompt.sound
        assert page.locator(f"#greeting-audio-{did.id}").is_visible()
        picker.select_option("")
        assert page.locator(f"#greeting-audio-{did.id}").is_hidden()
        assert not csp, csp
    finally:
        context.close()
