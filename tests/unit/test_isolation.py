"""Tenant isolation across EVERY route of the app, the JSON API included.

Tenants A and B each own one row of every tenant-owned model (tests/unit/route_walk.py).
Logged in as A (and with A's API key for /api/v1), every rule of app.url_map that takes an
object id is requested with B's ids, with each method it allows, carrying valid CSRF tokens
and form data or JSON taken from A's own pages: every answer must be 403 or 404, no body may
contain B's markers, and B's rows must be byte-for-byte unchanged afterwards. A route whose
id argument the table in route_walk.py cannot map fails the test instead of being skipped."""
from __future__ import annotations

import itertools
from urllib.parse import urlencode, urlsplit

import pytest

from models import SystemStatus, Tenant
from models.entities import ALL_MODELS, Did, DncNumber
from models.tenancy import TENANT_FIELD, get_scoped, provider_rows, scoped, TenantScopeError

from . import route_walk as rw
from .conftest import CSRF_RE


@pytest.fixture
def world(app):
    return rw.build_world(app.config["VOXCAST_SETTINGS"])  # with the fax files


# -- the registry -------------------------------------------------------------------------

def test_every_model_with_a_tenant_field_is_registered():
    for model in ALL_MODELS:
        if "tenant" in model._meta.fields:
            assert model in TENANT_FIELD, f"{model.__name__} is missing in models.tenancy"
    for model, field in TENANT_FIELD.items():
        assert field.model is model and field.rel_model is Tenant


def test_unregistered_models_cannot_be_scoped():
    with pytest.raises(TypeError):
        scoped(SystemStatus, 1)


def test_nullable_tenant_rows_stay_with_their_owner(world):
    a, b = world
    pool = Did.create(number="15550000000")
    national = DncNumber.create(tenant=None, phone="+12025550100")
    assert list(scoped(Did, a.tenant.id)) == [a.rows[Did]]
    assert pool in provider_rows(Did) and a.rows[Did] not in provider_rows(Did)
    assert national not in scoped(DncNumber, a.tenant.id)
    with pytest.raises(TenantScopeError):
        get_scoped(Did, a.tenant.id, b.rows[Did].id)
    with pytest.raises(TenantScopeError):
        get_scoped(Did, a.tenant.id, pool.id)
    with pytest.raises(TenantScopeError):
        get_scoped(Did, a.tenant.id, "1 OR 1=1")


# -- the routes ---------------------------------------------------------------------------

def test_every_id_argument_of_every_route_is_mapped(app):
    problems = rw.unresolved_args(app.url_map.iter_rules())
    assert not problems, ("add these to ARG_MODELS / ENDPOINT_ARG_MODELS in "
                          "tests/unit/route_walk.py:\n" + "\n".join(problems))


class Walker:
    """A's browser session and A's API key, and what A's own pages look like."""

    def __init__(self, app, a: rw.Side, role: str):
        self.app, self.a = app, a
        self.ui = app.test_client()
        rw.login(self.ui, a.users[role].username, a.passwords[role])
        self.api = app.test_client()
        self.api_headers = {"Authorization": f"Bearer {a.api_secret}"}
        self.forms: dict[str, dict[str, str]] = {}
        self.json: dict[str, object] = {}
        self.token = None

    def get(self, rule, url):
        if rw.is_api(rule):
            return self.api.get(url, headers=self.api_headers)
        return self.ui.get(url)

    def harvest(self, rule, url, resp):
        """Remember A's own forms and JSON, to send as realistic bodies to B's URLs."""
        body = resp.get_data(as_text=True)
        if rw.is_api(rule):
            if resp.is_json:
                self.json[rule.rule] = resp.get_json()
            return
        for form in rw.read_forms(url, body):
            self.forms.setdefault(urlsplit(form.action).path, form.fields)
        if self.token is None and (match := CSRF_RE.search(body)):
            self.token = match.group(1)

    def send(self, rule, method, url, a_url):
        if rw.is_api(rule):
            kwargs = {"headers": self.api_headers}
            if method in ("POST", "PUT", "PATCH"):
                sample = self.json.get(rule.rule)
                kwargs["json"] = sample if isinstance(sample, dict) else {}
            return self.api.open(url, method=method, **kwargs)
        kwargs = {}
        if method != "GET":
            data = dict(self.forms.get(a_url, {}))
            data["csrf_token"] = self.token
            kwargs["data"] = data
        return self.ui.open(url, method=method, **kwargs)


def walk_own_pages(app, walker: Walker) -> list[str]:
    """GET every page and API resource as A, with A's ids (campaign routes with A's campaign
    of each type they serve): B never shows up, and those campaign routes answer A."""
    leaks = []
    for rule in rw.get_rules(app):
        for extra in rw.expansions(rule):
            url = rw.build_url(app, rule, rw.a_only(rule, walker.a), extra)
            resp = walker.get(rule, url)
            if found := rw.leaked(resp.get_data(as_text=True)):
                leaks.append(f"GET {url} -> {resp.status_code} shows {found}")
            if rw.campaign_kinds(rule) and resp.status_code == 404:
                leaks.append(f"GET {url} ({rule.endpoint}, {extra}) -> 404 for A's own")
            walker.harvest(rule, url, resp)
    assert walker.token, "no page of A carried a CSRF token"
    return leaks


@pytest.mark.parametrize("role", ["tenant", "agent"])
def test_other_tenants_ids_are_refused_on_every_route(app, world, role):
    a, b = world
    before = rw.snapshot(b.tenant.id)
    walker = Walker(app, a, role)
    problems = walk_own_pages(app, walker)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for sides, extra in itertools.product(rw.variants(rule, a, b), rw.expansions(rule)):
            a_url = rw.build_url(app, rule, rw.a_only(rule, a), extra)
            url = rw.build_url(app, rule, sides, extra)
            methods = (["GET"] if "GET" in rule.methods else []) + rw.write_methods(rule)
            for method in methods:
                resp = walker.send(rule, method, url, a_url)
                checked += 1
                body = resp.get_data(as_text=True)
                if resp.status_code not in (403, 404):
                    problems.append(f"{method} {url} ({rule.endpoint}) -> {resp.status_code}")
                if found := rw.leaked(body):
                    problems.append(f"{method} {url} ({rule.endpoint}) shows {found}")
    # Still A's session: a refusal must not come from having been logged out on the way.
    assert walker.ui.get("/login").status_code == 302
    assert checked > 0
    assert not problems, "tenant isolation broken:\n" + "\n".join(problems)
    assert rw.snapshot(b.tenant.id) == before, "a request of A changed B's rows"


def test_lists_with_other_tenants_ids_in_the_query_show_nothing_of_b(app, world):
    """Filters such as /cdrs/?campaign=<B's id> must 404 or ignore B's ids, never show B."""
    a, b = world
    walker = Walker(app, a, "tenant")
    problems = walk_own_pages(app, walker)
    query = {}
    for arg, model in rw.ARG_MODELS.items():
        query[arg] = b.rows[model].id
        query[arg.removesuffix("_id")] = b.rows[model].id
    for rule in rw.get_rules(app):
        url = rw.build_url(app, rule, rw.a_only(rule, a)) + "?" + urlencode(query)
        resp = walker.get(rule, url)
        if found := rw.leaked(resp.get_data(as_text=True)):
            problems.append(f"GET {url} -> {resp.status_code} shows {found}")
    assert not problems, "\n".join(problems)


def test_the_walk_sees_b_when_b_asks(app, world):
    """The markers are real: B's own pages show them, so their absence above means something."""
    a, b = world
    walker = Walker(app, b, "tenant")
    seen = set()
    for rule in rw.get_rules(app):
        for extra in rw.expansions(rule):
            url = rw.build_url(app, rule, rw.a_only(rule, b), extra)
            seen.update(rw.leaked(walker.get(rule, url).get_data(as_text=True)))
    assert {"B-secret", "Zebediah"} <= seen


def test_provider_pages_refuse_a_child_under_the_wrong_tenant(app, world):
    """/admin/tenants/<A>/.../<B's object>: the provider sees every tenant, but a child
    addressed under another tenant's URL is not found and never changed. Some provider
    actions answer such a refusal with a redirect and an error message instead of 404, so
    the proof here is B's rows, compared before and after."""
    from .conftest import ADMIN_PASSWORD
    a, b = world
    before = rw.snapshot(b.tenant.id)
    client = app.test_client()
    rw.login(client, "admin", ADMIN_PASSWORD)
    token = CSRF_RE.search(client.get("/admin/tenants").get_data(as_text=True)).group(1)
    problems, checked = [], 0
    for rule in app.url_map.iter_rules():
        others = [x for x in rw.object_args(rule) if x != "tenant_id"]
        if "tenant_id" not in rule.arguments or not others or rw.is_api(rule):
            continue
        for extra in rw.expansions(rule):
            sides = {arg: (a if arg == "tenant_id" else b) for arg in rule.arguments}
            url = rw.build_url(app, rule, sides, extra)
            for method in (["GET"] if "GET" in rule.methods else []) + rw.write_methods(rule):
                resp = client.open(url, method=method, data={"csrf_token": token})
                checked += 1
                if resp.status_code not in (302, 403, 404):
                    problems.append(f"{method} {url} ({rule.endpoint}) -> {resp.status_code}")
    assert checked > 0
    assert not problems, "\n".join(problems)
    assert rw.snapshot(b.tenant.id) == before, "a provider action changed B's row under A"
