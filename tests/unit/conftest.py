"""Fixtures for the web UI and service tests: a real SQLite file per test under tmp_path."""
from __future__ import annotations

import re
import subprocess

import pytest
from voxcast.accounts.passwords import hash_password

import models
from models import ContactGroup, Contact, Tenant, User
from voxcast.config import Settings

ADMIN_PASSWORD = "admin-secret-1"
MASTER_PASSWORD = "master-secret-1"
CSRF_RE = re.compile(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def settings(tmp_path):
    return Settings(instance="t", runtime_dir=tmp_path, asterisk_root=tmp_path / "root")


@pytest.fixture
def db(settings):
    """The database alone, for service tests that need no Flask app."""
    models.init_database(settings.db_url)
    models.bootstrap(admin_password=ADMIN_PASSWORD, master_password=MASTER_PASSWORD)
    yield models.database
    models.database.close()


@pytest.fixture
def app(settings):
    from webui import create_app
    app = create_app(settings, {"TESTING": True, "LIVE_STREAM_SECONDS": 0})  # streams: one event
    models.bootstrap(admin_password=ADMIN_PASSWORD, master_password=MASTER_PASSWORD)
    models.database.close()
    yield app
    models.database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_tenant():
    """make_tenant("acme") -> (tenant, user); the user's password is "pw-<username>"."""
    def make(name: str, role: str = "tenant", username: str | None = None, **tenant_fields):
        tenant = Tenant.get_or_none(Tenant.slug == name) or Tenant.create(
            name=name, slug=name, **tenant_fields)
        username = username or f"{name}-{role}"
        user = User.create(username=username, tenant=tenant, role=role,
                           password_hash=hash_password(f"pw-{username}"))
        return tenant, user
    return make


@pytest.fixture
def make_group():
    def make(tenant, name="Customers", phones=()):
        group = ContactGroup.create(tenant=tenant, name=name)
        for phone in phones:
            Contact.create(tenant=tenant, group=group, phone=phone)
        return group
    return make


@pytest.fixture
def wav(tmp_path):
    """A real 16 kHz stereo tone, so conversion has work to do."""
    path = tmp_path / "upload-tone.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "2", str(path), "synth", "0.5", "sine", "440"],
                   check=True)
    return path


class AuthActions:
    def __init__(self, client):
        self.client = client

    def token(self, page: str = "/") -> str:
        html = self.client.get(page, follow_redirects=True).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def login(self, username: str = "master", password: str = MASTER_PASSWORD,
              follow_redirects: bool = False):
        token = self.token("/login")
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token},
                                follow_redirects=follow_redirects)

    def logout(self):
        return self.post("/logout")

    def post(self, url: str, data: dict | None = None, follow_redirects: bool = False, **kw):
        """POST like the browser does, with the session's CSRF token."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.token())
        return self.client.post(url, data=data, follow_redirects=follow_redirects, **kw)


@pytest.fixture
def auth(client):
    return AuthActions(client)
