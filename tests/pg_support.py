"""Debian's PostgreSQL for tests that must also run on the production backend."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import models

ROOT = Path(__file__).resolve().parents[1]


def _as_postgres(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["su", "postgres", "-c", command], capture_output=True, text=True,
                          timeout=120)


def postgres_url(dbname: str) -> str | None:
    """Start Debian's PostgreSQL (installing it like `make test` does, if missing) and create
    a fresh database `dbname`; None when that is impossible here."""
    if shutil.which("pg_ctlcluster") is None:
        subprocess.run(["bash", str(ROOT / "scripts/apt-install.sh"), "postgresql"],
                       capture_output=True, timeout=600)
    versions = sorted(Path("/etc/postgresql").glob("*"), key=lambda p: float(p.name)) \
        if Path("/etc/postgresql").is_dir() else []
    if not versions or shutil.which("su") is None:
        return None
    subprocess.run(["pg_ctlcluster", versions[-1].name, "main", "start"], capture_output=True)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0:
            break
        subprocess.run(["sleep", "0.5"])
    else:
        return None
    role = _as_postgres("psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='voxcast_test'\"")
    if role.returncode != 0:
        return None
    if "1" not in role.stdout:
        _as_postgres("psql -qc \"CREATE ROLE voxcast_test LOGIN PASSWORD 'voxcast_test'\"")
    _as_postgres(f"dropdb --if-exists {dbname}")
    if _as_postgres(f"createdb -O voxcast_test {dbname}").returncode != 0:
        return None
    return f"postgresql://voxcast_test:voxcast_test@127.0.0.1:5432/{dbname}"


def postgres_or_skip(dbname: str) -> str:
    """postgres_url, or the test is skipped (said why) where no server can be had."""
    url = postgres_url(dbname)
    if url is None:
        pytest.skip("PostgreSQL could not be started here")
    return url


def fresh_schema(url: str) -> None:
    """The models on `url`, every table dropped and made again, bootstrapped like a new
    install: each test starts from what a fresh database holds, whatever the last one left."""
    models.init_database(url)
    models.database.drop_tables(models.ALL_MODELS, safe=True, cascade=True)
    models.bootstrap(admin_password="x-admin-secret", master_password="x-master-secret")


def pg_fixtures(dbname: str, name: str = "db"):
    """The two fixtures of a test module that runs on PostgreSQL, in its own database
    `dbname` (so parallel suites never meet): `pg_url` (once a module: the server started and
    the database made anew, or the module skipped) and `name` (each test: a fresh schema in
    it, yielding models.database; `db` overrides conftest's SQLite one for imported tests).
    Use: `pg_url, db = pg_fixtures("voxcast_xyz")` at module level."""

    @pytest.fixture(scope="module", name="pg_url")
    def url_fixture():
        return postgres_or_skip(dbname)

    @pytest.fixture(name=name)
    def database_fixture(pg_url):
        fresh_schema(pg_url)
        yield models.database
        models.database.close()

    return url_fixture, database_fixture


def pg_settings_fixtures(dbname: str):
    """`pg_url` and `settings` for a module that reruns SQLite tests built on conftest's
    `settings` (its app and db fixtures follow it): a fresh schema in database `dbname` for
    every test. Use: `pg_url, settings = pg_settings_fixtures("voxcast_xyz")`."""
    from voxcast.config import Settings

    @pytest.fixture(scope="module", name="pg_url")
    def url_fixture():
        return postgres_or_skip(dbname)

    @pytest.fixture(name="settings")
    def settings_fixture(tmp_path, pg_url):
        fresh_schema(pg_url)
        return Settings(instance="t", runtime_dir=tmp_path, asterisk_root=tmp_path / "root",
                        database_url=pg_url)

    return url_fixture, settings_fixture
