"""Security issue 10, finding 9: numbers beyond the database's integer range in a URL, the query
string or a form are a 404 or a normal page, never an HTTP 500 (SQLite's driver raised
OverflowError on /cdrs/?page=99999999999999999999 and /cdrs/?campaign=<huge>).

Walks every UI rule of app.url_map (the JSON API has its own test of query_int) as a tenant and
as the provider's admin: GET with every known int parameter huge, GET with each id in the path
huge, and every form of every page submitted with each numeric field made huge."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from webui.params import MAX_INT, arg_int, parse_id

from . import route_walk as rw
from .conftest import ADMIN_PASSWORD, CSRF_RE

HUGE = ["99999999999999999999", "9223372036854775808", str(MAX_INT + 1), "-9223372036854775809",
        "1" * 5000]
QUERY_INTS = sorted({"page", "campaign", "tenant", "group", "user", "ivr", "did", "contact",
                     "target"} | set(rw.ARG_MODELS) | {a.removesuffix("_id") for a in rw.ARG_MODELS})
PLACEHOLDER = 987654321


@pytest.fixture
def world(app):
    return rw.build_world()


def _client(app, world, who):
    client = app.test_client()
    if who == "admin":
        rw.login(client, "admin", ADMIN_PASSWORD)
    else:
        a, _b = world
        rw.login(client, a.users[who].username, a.passwords[who])
    return client


def _ui_rules(app, who):
    for rule in rw.get_rules(app):
        if rw.is_api(rule):
            continue
        if who == "admin" and not rule.rule.startswith("/admin"):
            continue
        yield rule


@pytest.mark.parametrize("who", ["tenant", "admin"])
@pytest.mark.parametrize("huge", HUGE[:3])
def test_given_huge_query_ints_then_no_server_error(app, world, who, huge):
    a, _b = world
    client = _client(app, world, who)
    query = urlencode({name: huge for name in QUERY_INTS})
    problems, walked = [], 0
    for rule in _ui_rules(app, who):
        for extra in rw.expansions(rule):
            url = rw.build_url(app, rule, rw.a_only(rule, a), extra) + "?" + query
            status = client.get(url).status_code
            walked += 1
            if status >= 500:
                problems.append(f"GET {url[:120]} -> {status}")
    assert walked > 20 and not problems, "\n".join(problems)


@pytest.mark.parametrize("who", ["tenant", "admin"])
def test_given_huge_id_in_the_path_then_not_found(app, world, who):
    a, _b = world
    client = _client(app, world, who)
    problems, walked = [], 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rw.is_api(rule) or not rw.object_args(rule):
            continue
        if who == "admin" and not rule.rule.startswith("/admin"):
            continue
        for arg in rw.object_args(rule):
            values = {**rw.expansions(rule)[0]}
            for other in rw.object_args(rule):
                values[other] = a.rows[rw.arg_model(rule, other)].id
            values[arg] = PLACEHOLDER
            url = rule.build(values, append_unknown=False)[1]
            for huge in (HUGE[0], str(MAX_INT + 1)):
                bad = url.replace(str(PLACEHOLDER), huge)
                for method in sorted(rule.methods & {"GET", "POST"}):
                    status = client.open(bad, method=method).status_code
                    walked += 1
                    if status not in (302, 400, 403, 404, 405):
                        problems.append(f"{method} {bad} -> {status}")
    assert walked > 20 and not problems, "\n".join(problems)


@pytest.mark.parametrize("who", ["tenant", "admin"])
def test_given_huge_numbers_in_every_form_then_no_server_error(app, world, who):
    a, _b = world
    client = _client(app, world, who)
    forms, token = {}, None
    for rule in _ui_rules(app, who):
        for extra in rw.expansions(rule):
            url = rw.build_url(app, rule, rw.a_only(rule, a), extra)
            body = client.get(url).get_data(as_text=True)
            token = token or (m.group(1) if (m := CSRF_RE.search(body)) else None)
            for form in rw.read_forms(url, body):
                if form.method == "post" and "logout" not in form.action:
                    forms.setdefault(form.action, form.fields)
    assert forms and token
    problems = []
    for action, fields in forms.items():
        numeric = [k for k, v in fields.items() if k != "csrf_token" and (
            v.lstrip("+-").isdigit() or k.endswith(("_id", "id", "ids")) or k in QUERY_INTS)]
        for name in numeric:
            data = {**fields, name: HUGE[0], "csrf_token": token}
            status = client.post(action, data=data).status_code
            if status >= 500:
                problems.append(f"POST {action} {name}={HUGE[0]} -> {status}")
    assert not problems, "\n".join(problems)


def test_the_helpers_clamp_and_refuse(app):
    with app.test_request_context("/?page=99999999999999999999&neg=-5&junk=1e3&ok=7"):
        assert arg_int("page", 1) == MAX_INT
        assert arg_int("neg", 1) == 1 and arg_int("junk", 1) == 1 and arg_int("ok", 1) == 7
        assert arg_int("missing", 3) == 3
    assert parse_id("12") == 12 and parse_id(" 12 ") == 12
    for raw in ("", None, "0", "-1", str(MAX_INT + 1), "1" * 5000, "١٢", "1.5", "abc"):
        assert parse_id(raw) is None, raw
