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


def _as_if_crashed_before_finish(key: str) -> None:
    """What a process killed between the work and finish() leaves: the claim without an
    answer, old enough to be taken over."""
    import datetime as dt
    from models.entities import utcnow
    (IdempotencyKey.update(status=None, response="",
                           created_at=utcnow() - dt.timedelta(minutes=11))
     .where(IdempotencyKey.key == key).execute())


def test_given_a_payment_whose_answer_was_lost_in_a_crash_when_retried_then_it_is_booked_once(
        app, admin_api):
    from decimal import Decimal
    from models import Tenant
    from models.entities import LedgerEntry
    tenant = Tenant.create(name="Crash AG", slug="crashag")
    url = f"/api/v1/tenants/{tenant.id}/payments"
    pay = {"amount": "25.00", "reference": "invoice 4711"}
    first = admin_api.post(url, json=pay, headers={"Idempotency-Key": "pay-4711"})
    assert first.status_code == 201
    _as_if_crashed_before_finish("pay-4711")
    again = admin_api.post(url, json=pay, headers={"Idempotency-Key": "pay-4711"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers  # re-run
    assert again.json["id"] == first.json["id"]
    assert LedgerEntry.select().where(LedgerEntry.tenant == tenant.id).count() == 1
    assert Tenant.get_by_id(tenant.id).balance == Decimal("25.00")
    # another key is another payment
    third = admin_api.post(url, json=pay, headers={"Idempotency-Key": "pay-4711-b"})
    assert third.status_code == 201 and third.json["id"] != first.json["id"]
    assert Tenant.get_by_id(tenant.id).balance == Decimal("50.00")


def test_given_a_topup_whose_answer_was_lost_in_a_crash_when_retried_then_it_is_credited_and_logged_once(
        app, admin_api):
    from decimal import Decimal
    from models import Tenant
    from models.entities import LedgerEntry, TenantLog as AuditLog
    from voxcast.packages import catalogue
    from voxcast.packages.catalogue import PackageInput
    top = catalogue.create_package(PackageInput.from_dict({
        "name": "Top 50", "billing_model": "topup", "topup_amount": "50", "price": "50"}))
    tenant = Tenant.create(name="Crash KG", slug="crashkg")
    url = f"/api/v1/tenants/{tenant.id}/topups"
    first = admin_api.post(url, json={"package_id": top.id}, headers={"Idempotency-Key": "t-1"})
    assert first.status_code == 201, first.json
    _as_if_crashed_before_finish("t-1")
    again = admin_api.post(url, json={"package_id": top.id}, headers={"Idempotency-Key": "t-1"})
    assert again.status_code == 201 and again.json["id"] == first.json["id"]
    assert Tenant.get_by_id(tenant.id).balance == Decimal("50.00")
    assert LedgerEntry.select().where(LedgerEntry.tenant == tenant.id).count() == 1
    assert AuditLog.select().where(AuditLog.tenant == tenant.id,
                                   AuditLog.action == "subscription.topup").count() == 1
