"""Every page of the four portals (provider admin, tenant admin, supervisor, agent) passes
axe-core's WCAG 2.1 A/AA rules with no serious or critical violation, in Debian's Chromium,
at desktop width and at a 375-px-wide phone viewport, where the page body must not scroll
sideways either (a wide table scrolls inside its own wrapper). The pages are the real ones,
served by the real web process under its strict CSP: axe is injected by Playwright from the
vendored test asset (tests/integration/vendor/axe.min.js, `make vendor-js`) as an init
script of the browser context, which the page's CSP does not govern (an added <script> tag
would be refused by it); it is never served.

The URLs are every GET route without arguments in the app's url_map that answers HTML, plus
the detail pages of objects seeded here; each role walks them all in one browser context and
whatever it may not open (403, a redirect elsewhere) is simply not its page."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from voxcast.accounts.passwords import hash_password

from models import database
from models.entities import (Call, Campaign, Contact, ContactGroup, Did, EvaluationForm,
                             Extension, Ivr, Queue, RatePlan, Tenant, User)

from .conftest import ADMIN_PASSWORD

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PASSWORD = "Axe-Check-Pass-1"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
# not pages: downloads and feeds, and routes that change something or leave the session
SKIP_SUFFIXES = (".csv", ".json", ".wav", ".pdf", ".tif", ".txt", ".events")
SKIP_PREFIXES = ("/api/", "/static/", "/status/", "/sso/", "/u/", "/activate/")


def _plain_routes(settings) -> list[str]:
    """GET rules without arguments, read from the app the web process runs (built here only
    for its url_map; the database proxy is handed back to the session's connection)."""
    from webui import create_app
    saved = database.obj
    try:
        app = create_app(settings)
    finally:
        database.initialize(saved)
    rules = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if ("GET" not in rule.methods or rule.arguments or path.endswith(SKIP_SUFFIXES)
                or path.startswith(SKIP_PREFIXES) or path == "/login"):
            continue
        rules.append(path)
    return sorted(set(rules))


def _seed(settings):
    """A tenant with every feature, its tenant admin, supervisor and agent, and one of each
    object whose detail page is walked."""
    tenant = Tenant.create(name="Axe Check", slug="axecheck")
    users = {}
    for role in ("tenant", "supervisor", "agent"):
        users[role] = User.create(tenant=tenant, username=f"axe-{role}", role=role,
                                  first_name=role.title(), email=f"{role}@axe.test",
                                  password_hash=hash_password(PASSWORD))
    # a browser phone: the agent console shows its phone panel (issue 17 item 7)
    Extension.create(number="7951", secret="s-axe-agent", tenant=tenant, user=users["agent"],
                     browser_phone=True)
    group = ContactGroup.create(tenant=tenant, name="Customers")
    contact = Contact.create(tenant=tenant, group=group, phone="+12025550181",
                             first_name="Ada", last_name="Lovelace")
    campaign = Campaign.create(tenant=tenant, name="Reminder", group=group)
    # the IVR builder with a card of every node type, and an IVR in use (read-only view)
    ivr = Ivr.create(tenant=tenant, name="Main menu", tree=json.dumps({"start": "hi", "nodes": {
        "hi": {"type": "play", "text": "Hello {first_name}.", "next": "menu"},
        "menu": {"type": "menu", "text": "Press 1 or 2.", "options": {"1": "desk", "2": "pin"},
                 "no_input": "bye", "invalid": "bye"},
        "desk": {"type": "transfer", "target": {"kind": "agents", "value": ["7951"]},
                 "failed": "msg"},
        "pin": {"type": "get_digits", "text": "Your PIN?", "var": "pin", "next": "check"},
        "check": {"type": "branch", "var": "pin", "cases": {"1234": "ok"}, "default": "bye"},
        "ok": {"type": "set_result", "result": "vip", "next": "note"},
        "note": {"type": "set_field", "field": "custom1", "value": "{pin}", "next": "leave"},
        "leave": {"type": "opt_out", "next": "said"},
        "said": {"type": "say", "text": "Done.", "next": "msg"},
        "msg": {"type": "record", "max_seconds": 20, "next": "bye"},
        "bye": {"type": "hangup", "text": "Goodbye."}}}))
    used = Ivr.create(tenant=tenant, name="Front desk", tree=ivr.tree)
    Did.create(number="15557779051", tenant=tenant, route="ivr", ivr=used)
    queue = Queue.create(tenant=tenant, name="Sales", number="651")
    form = EvaluationForm.create(tenant=tenant, name="Quality", created_by=users["tenant"])
    call = Call.create(tenant=tenant, campaign=campaign, contact=contact, number=contact.phone,
                       channel_id="axe-call-1", disposition="ANSWER", duration=30, billsec=25,
                       agent=users["agent"])
    plan = RatePlan.select().first()
    tenant_pages = [f"/campaigns/{campaign.id}", f"/campaigns/{campaign.id}/edit",
                    f"/campaigns/{campaign.id}/contacts", f"/contacts/groups/{group.id}",
                    f"/contacts/{contact.id}/edit", f"/ivrs/{ivr.id}", f"/ivrs/{used.id}",
                    f"/queues/{queue.id}",
                    f"/evaluation/forms/{form.id}", f"/evaluation/calls/{call.id}/score",
                    f"/cdrs/{call.id}", f"/users/{users['agent'].id}/edit"]
    # the settings forms and the creation wizard's steps with each kind's form (issue 17)
    survey = Campaign.create(tenant=tenant, name="Survey", group=group, type="voice_survey",
                             flow='{"questions": [{"key": "q1", "text": "Happy?", '
                                  '"digits": "12"}, {"key": "q2", "text": "Again?", '
                                  '"digits": "12"}]}')
    tenant_pages += [f"/campaigns/{survey.id}/edit",
                     *(f"/campaigns/wizard/message?type={kind}" for kind in (
                         "voice_survey", "voice_interactive", "appointment_reminder")),
                     "/campaigns/wizard/contacts?type=voice_survey",
                     "/campaigns/wizard/review?type=voice_survey"]
    t = tenant.id
    admin_pages = [f"/admin/tenants/{t}/edit", f"/admin/tenants/{t}/features",
                   f"/admin/tenants/{t}/quotas", f"/admin/tenants/{t}/usage",
                   f"/admin/tenants/{t}/timeslots", f"/admin/tenants/{t}/users",
                   f"/admin/tenants/{t}/extensions", f"/admin/tenants/{t}/dids",
                   f"/admin/tenants/{t}/subscription/", f"/admin/billing/tenants/{t}/ledger",
                   f"/admin/billing/tenants/{t}/free-credit"]
    if plan is not None:
        admin_pages += [f"/admin/billing/plans/{plan.id}/rates",
                        f"/admin/billing/plans/{plan.id}/edit"]
    return tenant, users, tenant_pages, admin_pages


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state("load")
    assert "/login" not in page.url, f"{username} could not log in"


def _axe(page) -> list[dict]:
    """axe's serious and critical violations on the current page."""
    assert page.evaluate("typeof window.axe !== 'undefined'"), "axe was not injected"
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", TAGS)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _describe(url: str, width: int, violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:4])
        more = f" (+{len(v['nodes']) - 4} more)" if len(v["nodes"]) > 4 else ""
        lines.append(f"{url} @{width}px [{v['impact']}] {v['id']}: {v['help']} -> "
                     f"{targets}{more}")
    return lines


def _walk(browser, base: str, paths: list[str], login: tuple[str, str] | None,
          seen: set[str], problems: list[str], checked: list[str],
          color_scheme: str = "light") -> None:
    context = browser.new_context(viewport=DESKTOP, color_scheme=color_scheme)
    # an init script, as the page's CSP (script-src 'self') refuses an added <script> tag
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(15000)
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text)
            if "Content Security Policy" in m.text else None)
    try:
        if login is None:
            page.goto(f"{base}/login")
            pages = [("/login", page.url)]
        else:
            _login(page, base, *login)
            pages = []
        for path in pages or paths:
            if login is not None:
                # "commit": an event stream (text/event-stream) never finishes loading
                response = page.goto(f"{base}{path}", wait_until="commit")
                if response is None or response.status != 200:
                    continue
                if "text/html" not in response.headers.get("content-type", ""):
                    continue
                page.wait_for_load_state("load")
                final = page.url.split("?")[0]
                if "/login" in final or not page.evaluate("document.doctype !== null"):
                    continue  # a fragment (a live panel), or not this role's
                if "?" in path and page.url.endswith(path):
                    final = page.url  # a page asked for with its query (a wizard's kind)
            else:
                final = page.url
            key = f"{login[0] if login else 'anonymous'} {final.removeprefix(base)}"
            if key in seen:
                continue
            seen.add(key)
            checked.append(key)
            page.set_viewport_size(DESKTOP)
            problems += _describe(key, DESKTOP["width"], _axe(page))
            page.set_viewport_size(PHONE)
            # the page's media-query listeners run in the next rendering step
            page.evaluate("() => new Promise(r => requestAnimationFrame(() =>"
                          " requestAnimationFrame(r)))")
            problems += _describe(key, PHONE["width"], _axe(page))
            overflow = page.evaluate(
                "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                " - document.documentElement.clientWidth")
            if overflow > 1:
                wide = page.evaluate(
                    """() => { const w = document.documentElement.clientWidth; const out = [];
                    for (const el of document.body.querySelectorAll('*')) {
                      const r = el.getBoundingClientRect();
                      if (r.right > w + 1 && !el.closest('.table-wrap, .scroll-x')) {
                        out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                                 + (el.className && typeof el.className === 'string'
                                    ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
                      }
                      if (out.length >= 5) break;
                    } return out; }""")
                problems.append(f"{key} @375px: the page scrolls sideways by {overflow}px "
                                f"({', '.join(wide)})")
        problems += [f"{login[0] if login else 'anonymous'}: CSP violation: {m}" for m in csp]
    finally:
        context.close()


@pytest.fixture(scope="module")
def seeded(db, settings):
    """_seed's objects, once for both themes (the session's database outlives each test)."""
    return _seed(settings)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_portal_page_passes_axe_wcag21_aa_at_desktop_and_phone_width(
        browser, web, settings, seeded, theme):
    """Each theme (My Account: light / dark, the dark one also with the browser asking for
    dark, prefers-color-scheme) on every page: axe's colour-contrast rule is among them."""
    assert AXE.is_file(), "axe-core is not vendored: run `make vendor-js`"
    tenant, users, tenant_pages, admin_pages = seeded
    User.update(theme=theme).execute()  # every walking user, the provider's admin too
    routes = _plain_routes(settings)
    tenant_paths = [p for p in routes if not p.startswith("/admin")] + tenant_pages
    admin_paths = [p for p in routes if p.startswith("/admin") or p in ("/", "/account/")]
    admin_paths += admin_pages
    seen: set[str] = set()
    problems: list[str] = []
    checked: list[str] = []
    _walk(browser, web.url, [], None, seen, problems, checked, theme)
    _walk(browser, web.url, admin_paths, ("admin", ADMIN_PASSWORD), seen, problems, checked,
          theme)
    base = web.tenant_url(tenant.slug)
    for role in ("tenant", "supervisor", "agent"):
        _walk(browser, base, tenant_paths, (users[role].username, PASSWORD), seen, problems,
              checked, theme)
    for role in ("admin", "axe-tenant", "axe-supervisor", "axe-agent"):
        assert any(c.startswith(f"{role} ") for c in checked), f"{role} checked no page"
    assert len(checked) > 60, checked
    missed = [f"axe-tenant {p}" for p in tenant_pages if f"axe-tenant {p}" not in checked]
    missed += [f"admin {p}" for p in admin_pages if f"admin {p}" not in checked]
    assert not missed, f"seeded detail pages not checked (not 200 HTML?): {missed}"
    assert not problems, (f"{len(problems)} problems on {len(checked)} pages:\n"
                          + "\n".join(problems))
