"""Fixtures for the JSON API tests: keys made through voxcast.accounts.api_keys, like the UI does."""
from __future__ import annotations

import pytest

from models import Tenant, User
from voxcast.accounts import api_keys


class Api:
    """The Flask test client with one API key in the Authorization header."""

    def __init__(self, client, secret: str | None):
        self.client, self.secret = client, secret

    def _headers(self, headers):
        out = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        out.update(headers or {})
        return out

    def get(self, url, headers=None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url, json=None, headers=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(headers), **kw)

    def patch(self, url, json=None, headers=None, **kw):
        return self.client.patch(url, json=json, headers=self._headers(headers), **kw)

    def delete(self, url, headers=None, **kw):
        return self.client.delete(url, headers=self._headers(headers), **kw)


@pytest.fixture
def admin_api(app, client):
    _, secret = api_keys.create(tenant_id=None, user=User.get(User.username == "admin"),
                                name="provider")
    return Api(client, secret)


@pytest.fixture
def tenant_key(app, make_tenant):
    """tenant_key("acme") -> (tenant, secret) for a new tenant's admin."""
    def make(slug: str):
        tenant, user = make_tenant(slug)
        _, secret = api_keys.create(tenant_id=tenant.id, user=user, name=f"{slug} key")
        return tenant, secret
    return make


@pytest.fixture
def master_api(app, client):
    tenant = Tenant.get(Tenant.slug == "master")
    _, secret = api_keys.create(tenant_id=tenant.id, user=User.get(User.username == "master"),
                                name="master")
    return Api(client, secret)
