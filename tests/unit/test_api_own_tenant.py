"""A tenant's API key may not create rows for another tenant: a tenant_id other than its own
is refused (422, field tenant_id) on every create that takes one, its own is accepted; the
provider's key names any tenant (webui.api.own_tenant_only)."""
from __future__ import annotations

import base64

import pytest

from tests.integration.fax_support import make_pdf

from .api_support import Api, tenant_key  # noqa: F401  (fixtures)


def _bodies(tmp_path) -> dict[str, dict]:
    pdf = make_pdf(tmp_path / "one.pdf", 1).read_bytes()
    return {
        "/api/v1/groups": {"name": "Leads"},
        "/api/v1/email-dnc": {"address": "nobody@example.com"},
        "/api/v1/fax-documents": {"filename": "one.pdf",
                                  "content_base64": base64.b64encode(pdf).decode()},
    }


@pytest.mark.parametrize("path", ["/api/v1/groups", "/api/v1/email-dnc", "/api/v1/fax-documents"])
def test_given_a_tenant_key_when_it_names_another_tenant_then_the_create_is_refused(
        app, client, tenant_key, tmp_path, path):  # noqa: F811
    acme, secret = tenant_key("acme")
    other, _ = tenant_key("other")
    api = Api(client, secret)
    body = _bodies(tmp_path)[path]
    r = api.post(path, json={**body, "tenant_id": other.id})
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "validation" and "tenant_id" in r.json["error"]["fields"]
    r = api.post(path, json={**body, "tenant_id": acme.id})
    assert r.status_code == 201, r.json
    assert r.json["tenant_id"] == acme.id
