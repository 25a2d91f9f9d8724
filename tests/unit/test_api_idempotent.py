"""The Idempotency-Key hooks of /api/v1 (webui/api/idempotent.py) in the app: an answer
below 500 is stored and replayed, an exception or a 5xx answer frees the key, reads ignore
the header, and the key belongs to the API key that used it."""
from __future__ import annotations

import itertools

from flask import jsonify

from models.entities import IdempotencyKey

from .api_support import admin_api, tenant_key, Api  # noqa: F401


def _routes(app):
    """Two writes on the API blueprint (endpoint "api.*", so its hooks run): one that counts
    its runs, one that fails the first time."""
    runs = itertools.count(1)
    fails = {"left": 1}

    def counted():
        return jsonify(run=next(runs)), 201

    def flaky():
        if fails["left"]:
            fails["left"] -= 1
            raise RuntimeError("the database went away")
        return jsonify(ok=True)

    def unavailable():
        return jsonify(error="later"), 503

    app.add_url_rule("/api/v1/_counted", "api._counted", counted, methods=["POST", "GET"])
    app.add_url_rule("/api/v1/_flaky", "api._flaky", flaky, methods=["POST"])
    app.add_url_rule("/api/v1/_unavailable", "api._unavailable", unavailable, methods=["POST"])


def test_given_a_write_when_replayed_then_the_view_ran_once(app, admin_api):
    _routes(app)
    first = admin_api.post("/api/v1/_counted", json={"a": 1}, headers={"Idempotency-Key": "a"})
    again = admin_api.post("/api/v1/_counted", json={"a": 1}, headers={"Idempotency-Key": "a"})
    assert first.status_code == again.status_code == 201
    assert first.json == again.json == {"run": 1}
    assert again.headers["Idempotent-Replayed"] == "true"
    assert admin_api.post("/api/v1/_counted", json={"a": 1}).json == {"run": 2}  # no key


def test_given_a_read_with_a_key_then_the_key_plays_no_part(app, admin_api):
    _routes(app)
    for expected in (1, 2):
        r = admin_api.get("/api/v1/_counted", headers={"Idempotency-Key": "r"})
        assert r.json == {"run": expected}
    assert IdempotencyKey.select().count() == 0


def test_given_an_exception_when_the_same_key_comes_again_then_the_work_is_tried_again(
        app, admin_api):
    _routes(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    first = admin_api.post("/api/v1/_flaky", json={}, headers={"Idempotency-Key": "f"})
    assert first.status_code == 500
    assert IdempotencyKey.select().count() == 0  # released
    second = admin_api.post("/api/v1/_flaky", json={}, headers={"Idempotency-Key": "f"})
    assert second.status_code == 200 and "Idempotent-Replayed" not in second.headers


def test_given_a_5xx_answer_then_the_key_is_released(app, admin_api):
    _routes(app)
    r = admin_api.post("/api/v1/_unavailable", json={}, headers={"Idempotency-Key": "u"})
    assert r.status_code == 503 and IdempotencyKey.select().count() == 0


def test_given_a_4xx_answer_then_it_is_stored_and_replayed(app, admin_api):
    first = admin_api.post("/api/v1/packages", json={"name": ""},
                           headers={"Idempotency-Key": "bad"})
    again = admin_api.post("/api/v1/packages", json={"name": ""},
                           headers={"Idempotency-Key": "bad"})
    assert first.status_code == again.status_code == 422
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"


def test_given_one_key_string_when_two_api_keys_use_it_then_each_gets_its_own(
        app, client, admin_api, tenant_key):
    _routes(app)
    _, secret = tenant_key("acme")
    other = Api(client, secret)
    assert admin_api.post("/api/v1/_counted", json={}, headers={"Idempotency-Key": "s"}).json \
        == {"run": 1}
    r = other.post("/api/v1/_counted", json={}, headers={"Idempotency-Key": "s"})
    assert r.json == {"run": 2} and "Idempotent-Replayed" not in r.headers


def test_given_no_valid_api_key_then_401_and_nothing_claimed(app, client):
    r = client.post("/api/v1/packages", json={"name": "x"},
                    headers={"Idempotency-Key": "n", "Authorization": "Bearer vx_nope"})
    assert r.status_code == 401 and IdempotencyKey.select().count() == 0
