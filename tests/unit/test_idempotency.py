"""voxcast.accounts.idempotency on the database (SQLite here, PostgreSQL in
test_idempotency_postgres.py): claims, replays, reuse with another request, work in
progress, release, stale claims, purge; and voxcast.accounts.sso (one use, expiry,
refusals)."""
from __future__ import annotations

import datetime as dt

import pytest

from models import Tenant, User
from models.entities import IdempotencyKey, LoginToken, utcnow
from voxcast.accounts import api_keys, idempotency, sso


@pytest.fixture
def key_id(db):
    admin = User.get(User.username == "admin")
    return api_keys.create(tenant_id=None, user=admin, name="provider")[0].id


@pytest.fixture
def other_key_id(db):
    admin = User.get(User.username == "admin")
    return api_keys.create(tenant_id=None, user=admin, name="other")[0].id


BODY = b'{"amount": "15.00", "reference": "TX1"}'


def claim(key_id, key="k-1", method="POST", path="/api/v1/tenants/2/payments", query=b"",
          body=BODY, now=None):
    return idempotency.claim(key_id, key, method, path, query, body, now=now)


def test_given_a_new_key_when_claimed_then_a_claim_id_and_an_open_row(key_id):
    claim_id = claim(key_id)
    assert isinstance(claim_id, int)
    row = IdempotencyKey.get_by_id(claim_id)
    assert row.status is None and row.method == "POST" and len(row.body_hash) == 64


def test_given_a_finished_claim_when_the_same_request_comes_again_then_its_answer(key_id):
    idempotency.finish(claim(key_id), 201, '{"id": 7}', "application/json")
    again = claim(key_id)
    assert again == idempotency.Stored(201, '{"id": 7}', "application/json")


def test_given_a_finished_claim_when_the_body_has_another_key_order_then_still_a_replay(key_id):
    idempotency.finish(claim(key_id), 201, "{}", "application/json")
    reordered = b'{"reference":"TX1",\n "amount":"15.00"}'
    assert isinstance(claim(key_id, body=reordered), idempotency.Stored)


@pytest.mark.parametrize("change", [
    {"body": b'{"amount": "16.00", "reference": "TX1"}'},
    {"path": "/api/v1/tenants/3/payments"},
    {"method": "PATCH"},
    {"query": b"x=1"},
])
def test_given_a_used_key_when_another_request_uses_it_then_refused(key_id, change):
    idempotency.finish(claim(key_id), 201, "{}", "application/json")
    with pytest.raises(idempotency.KeyReused) as exc:
        claim(key_id, **change)
    assert (exc.value.code, exc.value.status) == ("idempotency-key-reused", 422)


def test_given_a_request_in_progress_when_the_same_comes_then_409(key_id):
    claim(key_id)
    with pytest.raises(idempotency.InProgress) as exc:
        claim(key_id)
    assert (exc.value.code, exc.value.status) == ("idempotency-in-progress", 409)


def test_given_a_released_claim_when_the_request_comes_again_then_claimed_anew(key_id):
    first = claim(key_id)
    idempotency.release(first)
    second = claim(key_id)
    assert isinstance(second, int) and IdempotencyKey.select().count() == 1


def test_given_a_finished_claim_when_released_then_the_answer_stays(key_id):
    first = claim(key_id)
    idempotency.finish(first, 200, "{}", "application/json")
    idempotency.release(first)
    assert isinstance(claim(key_id), idempotency.Stored)


def test_given_a_claim_left_by_a_dead_process_when_stale_then_taken_over(key_id):
    old = utcnow() - idempotency.STALE_AFTER - dt.timedelta(seconds=5)
    first = claim(key_id, now=old)
    assert claim(key_id) == first  # the same row, claimed again
    with pytest.raises(idempotency.InProgress):
        claim(key_id)


def test_given_two_api_keys_when_both_use_one_key_then_each_has_its_own(key_id, other_key_id):
    idempotency.finish(claim(key_id), 201, '{"a": 1}', "application/json")
    assert isinstance(claim(other_key_id, body=b"{}"), int)


@pytest.mark.parametrize("bad", ["", "x" * 256, "has space", "ümlaut"])
def test_given_a_bad_key_when_claimed_then_400(key_id, bad):
    with pytest.raises(idempotency.InvalidKey) as exc:
        claim(key_id, key=bad)
    assert exc.value.status == 400


def test_a_key_of_255_characters_is_accepted(key_id):
    assert isinstance(claim(key_id, key="k" * 255), int)


def test_given_old_keys_when_purged_then_only_those_go(key_id):
    idempotency.finish(claim(key_id, key="old", now=utcnow() - dt.timedelta(days=8)), 200, "",
                       "application/json")
    claim(key_id, key="new")
    assert idempotency.purge() == 1
    assert [r.key for r in IdempotencyKey.select()] == ["new"]


def test_the_fingerprint_reads_a_non_json_body_as_bytes():
    a = idempotency.fingerprint("POST", "/p", b"", b"not json")
    assert a != idempotency.fingerprint("POST", "/p", b"", b"not json!")
    assert a == idempotency.fingerprint("post", "/p", "", b"not json")


# -- single sign-on links ------------------------------------------------------------------

@pytest.fixture
def tenant_admin(db):
    tenant = Tenant.create(name="Acme", slug="acme")
    return User.create(tenant=tenant, username="acme-admin", role="tenant", password_hash="x")


def test_given_an_sso_link_when_consumed_twice_then_the_second_is_refused(tenant_admin):
    token, expires_at = sso.issue(tenant_admin)
    assert LoginToken.get().token_hash != token  # only the hash is stored
    assert sso.consume(token).id == tenant_admin.id
    with pytest.raises(sso.SsoUsed) as exc:
        sso.consume(token)
    assert exc.value.status == 410


def test_given_an_expired_link_when_consumed_then_410(tenant_admin):
    token, expires_at = sso.issue(tenant_admin, ttl_s=60)
    with pytest.raises(sso.SsoUsed):
        sso.consume(token, now=expires_at + dt.timedelta(seconds=1))


def test_given_an_unknown_link_when_consumed_then_404(db):
    with pytest.raises(sso.SsoError) as exc:
        sso.consume("no-such-token")
    assert exc.value.status == 404


def test_given_a_suspended_tenant_then_no_link_and_an_issued_one_refused(tenant_admin):
    token, _ = sso.issue(tenant_admin)
    Tenant.update(status="suspended").where(Tenant.id == tenant_admin.tenant_id).execute()
    with pytest.raises(sso.SsoRefused):
        sso.consume(token)
    with pytest.raises(sso.SsoRefused):
        sso.issue(tenant_admin)


def test_given_a_disabled_user_when_a_link_is_asked_then_refused(tenant_admin):
    User.update(active=False).where(User.id == tenant_admin.id).execute()
    with pytest.raises(sso.SsoRefused):
        sso.issue(User.get_by_id(tenant_admin.id))
