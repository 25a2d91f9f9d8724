"""Property-based run of schemathesis against the in-process Flask app, from the published
OpenAPI document, with a tenant's key and the provider's key: no 5xx, every status code
documented, every response body fits its schema."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from models import Tenant, User
from voxcast.accounts import api_keys

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def keys(app, make_group):
    """Keys of both kinds, and some rows for the generated ids to hit."""
    master = Tenant.get(Tenant.slug == "master")
    make_group(master, "Seed", ["+14155550123"])
    _, tenant_secret = api_keys.create(tenant_id=master.id, user=User.get(User.username == "master"),
                                       name="schemathesis tenant")
    _, admin_secret = api_keys.create(tenant_id=None, user=User.get(User.username == "admin"),
                                      name="schemathesis admin")
    return {"tenant": tenant_secret, "admin": admin_secret}


EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def run_all(app, secret: str) -> list[str]:
    """Every operation of the document, each with generated requests; the failures found.
    (Operations are driven with hypothesis directly: schemathesis' pytest plugin does not
    run under pytest 9.)"""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, calls = [], []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(), existing=st.one_of(st.none(), st.integers(1, 4)))
        @EXAMPLES
        def check(case, existing):
            if existing is not None and "id" in (case.path_parameters or {}):
                case.path_parameters = {**case.path_parameters, "id": existing}  # rows that exist, half the time
            if case.path == "/tenants/{id}" and case.method.upper() == "DELETE":
                case.path_parameters = {"id": 2147483647}  # keep the tenant whose key is in use
            response = case.call_and_validate(headers={"Authorization": f"Bearer {secret}"},
                                              checks=CHECKS)
            calls.append((case.method.upper(), case.path, response.status_code))

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected and reported all together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    operations = {(m, p) for m, p, _ in calls}
    assert len(operations) >= 30, sorted(operations)  # every operation was exercised
    assert any(status < 300 for _, _, status in calls)  # and not only refused
    return failures


def test_api_with_a_tenant_key_conforms_to_its_openapi_document(app, keys):
    failures = run_all(app, keys["tenant"])
    assert not failures, "\n\n".join(failures)


def test_api_with_the_provider_key_conforms_to_its_openapi_document(app, keys):
    failures = run_all(app, keys["admin"])
    assert not failures, "\n\n".join(failures)
