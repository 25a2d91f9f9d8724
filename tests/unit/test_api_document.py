"""The OpenAPI document and the server agree: every /api/v1 route is documented with its
methods and every documented operation is served; request bodies are validated by a real
OpenAPI 3.0 validator over the published schemas, with a worded reason for every keyword
those schemas use."""
from __future__ import annotations

import re

import pytest
from openapi_schema_validator import OAS30Validator

from webui.api import spec, validation

# The document itself and its HTML page: served under /api/v1 but not operations of the API.
NOT_OPERATIONS = {"/openapi.json", "/docs"}
METHODS = {"get", "post", "put", "patch", "delete"}


def _shape(path: str) -> str:
    """/groups/<int(...):group_id>/contacts and /groups/{id}/contacts both -> /groups/{}/contacts."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def served(app) -> set[tuple[str, str]]:
    prefix = "/api/v1"
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix + "/"):
            continue
        path = rule.rule[len(prefix):]
        if path in NOT_OPERATIONS:
            continue
        out |= {(m.lower(), _shape(path)) for m in rule.methods if m.lower() in METHODS}
    return out


def documented() -> set[tuple[str, str]]:
    return {(method, _shape(path)) for path, item in spec.DOCUMENT["paths"].items()
            for method in item if method in METHODS}


def test_every_api_route_is_documented_and_every_documented_operation_is_served(app):
    assert spec.DOCUMENT["servers"] == [{"url": "/api/v1"}]
    routes, doc = served(app), documented()
    assert len(routes) >= 30
    assert routes - doc == set(), "served but not in the OpenAPI document"
    assert doc - routes == set(), "in the OpenAPI document but not served"


def test_the_comparison_sees_a_missing_route(app):
    """The check above can fail: a route added without its documentation is found."""
    app.add_url_rule("/api/v1/undocumented/<int:thing_id>", "api_undocumented",
                     lambda thing_id: "", methods=["PUT"])
    assert ("put", "/undocumented/{}") in served(app) - documented()


def request_schemas() -> list[tuple[str, dict]]:
    out = []
    for path, item in spec.DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:  # not an upload's body
                schema = content["application/json"]["schema"]
                out.append((f"{method.upper()} {path}", schema))
    return out


@pytest.mark.parametrize("name,schema", request_schemas(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_request_schema_is_a_valid_openapi_30_schema(name, schema):
    OAS30Validator.check_schema(schema)


def _keywords(schema, found: set) -> set:
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    _keywords(sub, found)
            elif key in ("items", "additionalProperties", "not"):
                _keywords(value, found)
            elif key in ("oneOf", "anyOf", "allOf"):
                for sub in value:
                    _keywords(sub, found)
    return found


# Keywords that never refuse a value (annotations), and those _reason words.
ANNOTATIONS = {"description", "example", "default", "nullable", "x-pattern-message", "title",
               "properties", "items", "additionalProperties", "required"}
WORDED = {"type", "enum", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
          "minProperties", "maxProperties", "minItems", "maxItems", "uniqueItems", "multipleOf",
          "oneOf", "anyOf"}


def test_every_keyword_the_request_schemas_use_has_a_worded_reason():
    used = set()
    for _, schema in request_schemas():
        _keywords(schema, used)
    assert used - ANNOTATIONS - WORDED == set()


@pytest.mark.parametrize("schema,value,fields", [
    # Keywords the hand-written validator ignored, and so accepted these values.
    ({"type": "integer", "multipleOf": 5}, 7, {"body": "must be a multiple of 5"}),
    ({"type": "array", "uniqueItems": True}, [1, 1], {"body": "must not repeat an item"}),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, [],
     {"body": "does not fit any of the allowed forms"}),
    ({"type": "integer", "maximum": 10, "exclusiveMaximum": True}, 10,
     {"body": "must be less than 10"}),
    ({"type": "object", "maxProperties": 1}, {"a": 1, "b": 2}, {"body": "must have at most 1 fields"}),
])
def test_keywords_the_old_validator_ignored_are_enforced(schema, value, fields):
    assert validation.check(schema, value) == fields


def test_field_reasons_keep_their_wording_and_names():
    assert validation.check(spec.TENANT_CREATE, {"name": "", "slug": "Bad Slug", "extra": 1,
                                                 "channel_limit": 0, "email": "a@b"}) == {
        "name": "is required",
        "slug": "lower-case letters, digits and - (not at either end)",
        "extra": "is not a known field",
        "channel_limit": "must be at least 1",
        "email": "is not an e-mail address",
        "admin_username": "is required", "admin_password": "is required",
        "admin_email": "is required"}
    assert validation.check(spec.USER_UPDATE, {}) == {"body": "give at least one field to change"}
    assert validation.check(spec.USER_UPDATE, {"role": "tenant", "active": None, "pin": 1234,
                                               "password": "x" * 501}) == {
        "role": "must be one of: user, supervisor, agent", "active": "must not be null",
        "pin": "must be a string", "password": "must be at most 500 characters"}
    assert validation.check(spec.CONTACT_BULK, [{"phone": "1"}, {"phone": 1}, {}]) == {
        "[1].phone": "must be a string", "[2].phone": "is required"}
    assert validation.check({**spec.CONTACT_BULK, "maxItems": 1}, [{}, {}]) == {
        "body": "must have at most 1 items", "[0].phone": "is required",
        "[1].phone": "is required"}


def test_nullable_is_openapi_30_nullable():
    assert validation.check(spec.ASSIGN_USER, {"user_id": None}) == {}
    assert validation.check(spec.DID_CREATE, {"number": None}) == {"number": "must not be null"}


def test_integers_are_json_integers_not_floats_or_booleans():
    """1.0 would reach the database as a float; true is not a count."""
    for value in (1.0, True, "1"):
        assert validation.check(spec.EXTENSION_ALLOCATE, {"tenant_id": 1, "count": value}) == {
            "count": "must be an integer"}, value


def test_an_empty_email_means_none_and_a_bad_one_is_refused():
    assert validation.check(spec.TENANT_UPDATE, {"email": ""}) == {}
    for bad in ("ann@example..com", "<ann@example.com>", "ann@localhost", "ann@-x.example"):
        assert validation.check(spec.TENANT_UPDATE, {"email": bad}) == {
            "email": "is not an e-mail address"}, bad


def test_the_api_refuses_an_address_the_old_regex_let_through(master_api):
    r = master_api.post("/api/v1/users", json={"username": "carol", "password": "carol-pass-1",
                                               "pin": "1234", "email": "carol@example..com"})
    assert r.status_code == 422
    assert r.json["error"] == {"code": "validation", "message": "Some fields are not valid.",
                               "fields": {"email": "is not an e-mail address"}}


from .api_support import master_api  # noqa: E402,F401
