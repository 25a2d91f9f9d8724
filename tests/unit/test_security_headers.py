"""Security headers on every response, and pages the strict CSP can render unchanged."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import webui
from webui.security import CSP

from . import route_walk as rw
from .conftest import ADMIN_PASSWORD

TEMPLATES = Path(webui.__file__).parent / "templates"


def assert_secure_headers(resp, where: str):
    h = resp.headers
    if re.fullmatch(r"/campaigns/\d+/email-preview/\d+/html", where) and resp.status_code == 200:
        # a tenant's e-mail HTML, framed by our preview page: its own CSP with no script
        # (webui/email_preview.py), checked in tests/unit/test_email_web.py
        csp = h.get("Content-Security-Policy", "")
        assert "default-src 'none'" in csp and "sandbox" in csp and "script" not in csp, where
        return
    csp = h.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert h.get("X-Frame-Options") == "DENY", where
    assert h.get("X-Content-Type-Options") == "nosniff", where
    # A page with a secret in its address (the activation/reset link) sends only the origin.
    policy = "strict-origin" if where.startswith(("/activate/", "/u/")) else "same-origin"
    assert h.get("Referrer-Policy") == policy, where


class InlineFinder(HTMLParser):
    """What a CSP without 'unsafe-inline' would block: inline scripts, styles, handlers."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {k.lower(): v for k, v in attrs}
        if tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in names.items():
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            elif name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            elif name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")


def inline_parts(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.fixture
def world(app):
    return rw.build_world()


@pytest.mark.parametrize("role", ["anonymous", "admin", "tenant", "agent"])
def test_every_page_has_the_headers_and_no_inline_code(app, world, role):
    a, _ = world
    client = app.test_client()
    if role == "admin":
        rw.login(client, "admin", ADMIN_PASSWORD)
    elif role != "anonymous":
        rw.login(client, a.users[role].username, a.passwords[role])
    problems, pages = [], 0
    for rule in rw.get_rules(app):
        for extra in rw.expansions(rule):
            url = rw.build_url(app, rule, rw.a_only(rule, a), extra)
            resp = client.get(url, headers={"Authorization": f"Bearer {a.api_secret}"}
                              if rw.is_api(rule) else {})
            assert_secure_headers(resp, url)
            if resp.mimetype == "text/html":
                pages += 1
                assert resp.headers.get("Cache-Control") == "no-store", url
                problems += [f"{url}: {p}" for p in inline_parts(resp.get_data(as_text=True))]
    assert pages > 0
    assert not problems, "the CSP would block these:\n" + "\n".join(problems)


def test_errors_static_files_and_posts_have_the_headers_too(client, auth):
    assert_secure_headers(client.get("/no/such/page"), "404")
    static = client.get("/static/style.css")
    assert_secure_headers(static, "static")
    assert static.headers.get("Cache-Control") != "no-store"  # static files may be cached
    assert_secure_headers(client.post("/login", data={}), "csrf refusal")
    assert_secure_headers(auth.login(), "login redirect")


def test_templates_hold_no_inline_script_or_style():
    problems = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for part in inline_parts(text):
            problems.append(f"{path.relative_to(TEMPLATES)}: {part}")
        if re.search(r"""\s(on[a-z]+|style)\s*=\s*["']""", text):
            problems.append(f"{path.relative_to(TEMPLATES)}: inline handler or style attribute")
    assert not problems, "\n".join(sorted(set(problems)))


def test_hsts_only_over_https(monkeypatch, settings, app):
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    monkeypatch.setenv("VOXCAST_HTTPS", "1")
    https_app = webui.create_app(settings, {"TESTING": True})
    resp = https_app.test_client().get("/login")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    assert https_app.config["SESSION_COOKIE_SECURE"] is True


def test_csp_is_what_the_app_sends(client):
    assert client.get("/login").headers["Content-Security-Policy"] == CSP
