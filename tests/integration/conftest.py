"""The real Asterisk (started once per session), the Stasis app as its own process, a fresh
database, and helpers to wait for results with a bounded retry."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("VOXCAST_INSTANCE", "test")

from models import ALL_MODELS, SystemStatus, Tenant, bootstrap, database, init_database  # noqa: E402
from voxcast import config  # noqa: E402
from voxcast.runtime import asterisk

from .child_process import VoxcastProcess  # noqa: E402

MASTER_PASSWORD = "master-test-password"
ADMIN_PASSWORD = "admin-test-password"


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, message: str = ""):
    """Poll until predicate() is truthy; return its value or fail with a message."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {message or predicate}")
        time.sleep(interval)


class StasisApp(VoxcastProcess):
    """`voxcast ari-app` in its own process, as `make run` starts it."""

    def __init__(self, settings: config.Settings, logdir: Path, env: dict | None = None):
        super().__init__(logdir / "stasis-app.log", env)
        self.settings = settings

    def start(self) -> None:
        SystemStatus.delete().where(SystemStatus.key == "ari").execute()
        self.spawn("--instance", self.settings.instance, "ari-app")
        self.wait_ari("connected")

    def ari_state(self) -> str:
        row = SystemStatus.get_or_none(SystemStatus.key == "ari")
        return row.value if row else ""

    def wait_ari(self, state: str, timeout: float = 30) -> None:
        wait_for(lambda: self.ari_state() == state, timeout, message=f"Stasis app ARI {state}")


@pytest.fixture(scope="session")
def settings() -> config.Settings:
    return config.load()  # VOXCAST_INSTANCE, "test" unless set


@pytest.fixture(scope="session")
def artifacts(settings) -> Path:
    path = settings.state_dir / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def runtime(settings):
    """The real Asterisk for the whole session, restarted fresh."""
    asterisk.provision(settings)
    asterisk.stop(settings)
    asterisk.start(settings)
    yield settings
    asterisk.stop(settings)


@pytest.fixture(scope="session")
def db(settings):
    if not settings.database_url:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{settings.db_path}{suffix}").unlink(missing_ok=True)
    # recordings are named after CDR ids: a fresh database starts with no recordings either
    for old in settings.recordings_dir.glob("*.wav") if settings.recordings_dir.is_dir() else []:
        old.unlink()
    # and fax files are named after tenant ids (t<id>-...): no earlier database's faxes either
    for old in settings.faxes_dir.glob("t*-*") if settings.faxes_dir.is_dir() else []:
        old.unlink()
    init_database(settings.db_url)
    if settings.database_url:  # a server database: start from empty tables
        database.drop_tables(ALL_MODELS, safe=True, cascade=True)
    bootstrap(admin_password=ADMIN_PASSWORD, master_password=MASTER_PASSWORD)
    yield database
    database.close()


@pytest.fixture(scope="module", autouse=True)
def no_campaign_left_running(db):
    """The Stasis app lives for the whole session: a campaign an earlier module left running
    would go on dialling into this module's trunk peer and far ends."""
    from models import Campaign
    Campaign.update(status="stopped").where(Campaign.status.in_(("running", "paused"))).execute()
    yield


@pytest.fixture(scope="session")
def stasis_app(runtime, db, artifacts, smtp_peer):
    """The app mails (voicemail) to the session's SMTP peer."""
    app = StasisApp(runtime, artifacts, {
        **os.environ, "VOXCAST_SMTP_HOST": "127.0.0.1", "VOXCAST_SMTP_PORT": str(smtp_peer.port),
        "VOXCAST_SMTP_FROM": "noreply@voxcast.test"})
    app.start()
    yield app
    app.stop()


class AgiProcess(VoxcastProcess):
    """`voxcast agi` in its own process, as `voxcast run` starts it beside the Stasis app."""

    def __init__(self, settings: config.Settings, logdir: Path):
        super().__init__(logdir / "agi.log")
        self.settings = settings

    def start(self) -> None:
        import socket
        self.spawn("--instance", self.settings.instance, "agi")

        def listening():
            assert self.proc.poll() is None, self.log_tail()
            try:
                socket.create_connection(("127.0.0.1", self.settings.agi_port), 0.5).close()
                return True
            except OSError:
                return False
        wait_for(listening, 20, message="FastAGI server listening")


@pytest.fixture(scope="session")
def agi_server(runtime, db, artifacts):
    server = AgiProcess(runtime, artifacts)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_campaign_left_dialing():
    """A test that fails half-way must not leave its campaign dialing into the next test's
    sipp peers: after every test, whatever still runs is stopped."""
    yield
    if database.obj is not None:
        from models import Campaign
        Campaign.update(status="stopped").where(Campaign.status == "running").execute()


@pytest.fixture
def master(db) -> Tenant:
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def workdir(tmp_path) -> Path:
    return tmp_path


# -- the web UI in a real browser -------------------------------------------------------------

BASE_DOMAIN = "voxcast.test"


class WebServer(VoxcastProcess):
    """`voxcast web` as `make run` starts it, on the instance's web port."""

    def __init__(self, settings: config.Settings, logdir: Path, env: dict):
        super().__init__(logdir / "web.log", env)
        self.settings = settings

    @property
    def url(self) -> str:
        return f"http://{BASE_DOMAIN}:{self.settings.web_port}"

    def tenant_url(self, slug: str) -> str:
        return f"http://{slug}.{BASE_DOMAIN}:{self.settings.web_port}"

    def start(self) -> None:
        self.spawn("--instance", self.settings.instance, "web")
        import urllib.request

        def up():
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{self.settings.web_port}/status/health.json", timeout=1):
                    return True
            except OSError:
                return False
        wait_for(up, 30, message="web UI answering")


@pytest.fixture(scope="session")
def smtp_peer():
    """aiosmtpd as the real SMTP server the web UI sends its e-mails to."""
    from aiosmtpd.controller import Controller

    from tests.unit.smtp_peer import Inbox, free_port

    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture(scope="session")
def web(db, settings, artifacts, smtp_peer):
    env = {**os.environ, "VOXCAST_BASE_DOMAIN": BASE_DOMAIN,
           "VOXCAST_BASE_URL": f"http://{BASE_DOMAIN}:{settings.web_port}",
           "VOXCAST_SMTP_HOST": "127.0.0.1", "VOXCAST_SMTP_PORT": str(smtp_peer.port),
           "VOXCAST_SMTP_FROM": "noreply@voxcast.test"}
    server = WebServer(settings, artifacts, env)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright; no browser is ever downloaded. Per module:
    Playwright's sync API keeps an event loop marked running on the main thread while it is
    open, and every later test that starts a loop of its own (asyncio.run) would fail."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=os.environ.get("VOXCAST_CHROMIUM", "/usr/bin/chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--disable-quic",
                  # tenant sub-domains resolve to this machine without touching DNS
                  f"--host-resolver-rules=MAP {BASE_DOMAIN} 127.0.0.1, "
                  f"MAP *.{BASE_DOMAIN} 127.0.0.1"])
        yield chromium
        chromium.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(browser, artifacts, request):
    """A fresh browser context per test; on failure its screenshot is kept in artifacts/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shots = artifacts / "screenshots"
        shots.mkdir(exist_ok=True)
        path = shots / f"{request.node.name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot kept: {path}")
    context.close()
