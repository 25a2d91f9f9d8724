"""CSRF on every form of every page, for every role; the JSON API never trusts the cookie."""
from __future__ import annotations

import pytest

from . import route_walk as rw
from .conftest import ADMIN_PASSWORD

CSRF_MESSAGE = "The form expired or was not sent by this site"


@pytest.fixture
def world(app):
    return rw.build_world()


def ui_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static" and not rw.is_api(r)]


def logged_in(app, a: rw.Side, role: str):
    client = app.test_client()
    if role == "admin":
        rw.login(client, "admin", ADMIN_PASSWORD)
    else:
        rw.login(client, a.users[role].username, a.passwords[role])
    return client


def own_pages(app, client, a: rw.Side):
    """(url, html) of every GET-able page as this user, with A's ids."""
    for rule in ui_rules(app):
        if "GET" not in rule.methods:
            continue
        for extra in rw.expansions(rule):
            url = rw.build_url(app, rule, rw.a_only(rule, a), extra)
            resp = client.get(url)
            if resp.mimetype == "text/html":
                yield url, resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ["anonymous", "admin", *rw.ROLES])
def test_every_post_form_carries_a_csrf_token(app, world, role):
    a, _ = world
    client = app.test_client() if role == "anonymous" else logged_in(app, a, role)
    missing, posts = [], 0
    for url, html in own_pages(app, client, a):
        for form in rw.read_forms(url, html):
            if form.method != "post":
                continue
            posts += 1
            # Prefixed forms (several on one page) name it "<prefix>-csrf_token".
            if not any(name.endswith("csrf_token") for name in form.hidden):
                missing.append(f"{url}: form posting to {form.action}")
    assert posts > 0  # at least the logout (or login) form
    assert not missing, "forms without a csrf_token:\n" + "\n".join(missing)


@pytest.mark.parametrize("role", ["tenant", "admin"])
def test_post_without_token_is_refused_on_every_form_route(app, world, role):
    a, b = world
    client = logged_in(app, a, role)
    forms = {}
    for url, html in own_pages(app, client, a):
        for form in rw.read_forms(url, html):
            forms.setdefault(form.action.split("?")[0], form.fields)
    before = (rw.snapshot(a.tenant.id), rw.snapshot(b.tenant.id))
    problems, checked = [], 0
    for rule in ui_rules(app):
        for extra in rw.expansions(rule):
            url = rw.build_url(app, rule, rw.a_only(rule, a), extra)
            for method in rw.write_methods(rule):
                data = {k: v for k, v in forms.get(url, {}).items() if not k.endswith("csrf_token")}
                resp = client.open(url, method=method, data=data)
                checked += 1
                if resp.status_code != 400 or CSRF_MESSAGE not in resp.get_data(as_text=True):
                    problems.append(f"{method} {url} ({rule.endpoint}) -> {resp.status_code}")
    assert checked > 5
    assert not problems, "accepted without a CSRF token:\n" + "\n".join(problems)
    assert (rw.snapshot(a.tenant.id), rw.snapshot(b.tenant.id)) == before
    assert client.get("/login").status_code == 302  # still logged in: logout refused too


def test_json_api_ignores_the_browser_session(app, world):
    """The API is CSRF-exempt, so a session cookie alone must never authenticate it."""
    a, _ = world
    client = logged_in(app, a, "tenant")
    problems, checked = [], 0
    for rule in app.url_map.iter_rules():
        if not rw.is_api(rule) or rule.endpoint in ("api.openapi", "api.docs"):
            continue
        url = rw.build_url(app, rule, rw.a_only(rule, a))
        for method in (["GET"] if "GET" in rule.methods else []) + rw.write_methods(rule):
            resp = client.open(url, method=method, json={})
            checked += 1
            if resp.status_code != 401:
                problems.append(f"{method} {url} -> {resp.status_code}")
    assert checked > 0
    assert not problems, "API answered a cookie-only request:\n" + "\n".join(problems)
