"""The real Asterisk (started once per session), the Stasis app as its own process, a fresh
database, and helpers to wait for results with a bounded retry."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("VOXCAST_INSTANCE", "test")

from models import ALL_MODELS, SystemStatus, Tenant, bootstrap, database, init_database  # noqa: E402
from models.entities import utcnow  # noqa: E402
from voxcast import asterisk, config  # noqa: E402

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


class StasisApp:
    """`voxcast ari-app` in its own process, as `make run` starts it."""

    def __init__(self, settings: config.Settings, logdir: Path):
        self.settings = settings
        self.logfile = logdir / "stasis-app.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        SystemStatus.delete().where(SystemStatus.key == "ari").execute()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voxcast.cli", "--instance", self.settings.instance, "ari-app"],
            stdout=open(self.logfile, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.wait_ari("connected")

    def ari_state(self) -> str:
        row = SystemStatus.get_or_none(SystemStatus.key == "ari")
        return row.value if row else ""

    def wait_ari(self, state: str, timeout: float = 30) -> None:
        wait_for(lambda: self.ari_state() == state, timeout, message=f"Stasis app ARI {state}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self) -> str:
        return self.logfile.read_text(errors="replace")[-4000:] if self.logfile.exists() else ""


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
    init_database(settings.db_url)
    if settings.database_url:  # a server database: start from empty tables
        database.drop_tables(ALL_MODELS, safe=True, cascade=True)
    bootstrap(admin_password=ADMIN_PASSWORD, master_password=MASTER_PASSWORD)
    yield database
    database.close()


@pytest.fixture(scope="session")
def stasis_app(runtime, db, artifacts):
    app = StasisApp(runtime, artifacts)
    app.start()
    yield app
    app.stop()


@pytest.fixture
def master(db) -> Tenant:
    return Tenant.get(Tenant.slug == "master")


@pytest.fixture
def workdir(tmp_path) -> Path:
    return tmp_path
