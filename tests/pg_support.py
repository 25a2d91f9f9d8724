"""Debian's PostgreSQL for tests that must also run on the production backend."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
