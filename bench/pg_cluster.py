"""A PostgreSQL cluster of the bench's own (Debian's pg_createcluster), so that restarting
PostgreSQL as a fault never ends the sessions of a test suite running on `<version> main`.

The cluster listens on loopback only (localhost), on a port no other cluster and no listening socket
holds, is never started by the system (start.conf `manual`), and is reused when a run left it
behind; `drop()` removes it. Every command names the cluster: `main` is never touched."""
from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROLE = "voxcast_test"  # what tests.pg_support creates on `main` too, with the same password


def _run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def latest_version() -> str:
    return sorted(Path("/etc/postgresql").glob("*"), key=lambda p: float(p.name))[-1].name


def clusters() -> dict[tuple[str, str], int]:
    """Every cluster on the machine: (version, name) -> port."""
    out = _run(["pg_lsclusters", "--no-header"]).stdout
    found = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            found[(fields[0], fields[1])] = int(fields[2])
    return found


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port(start: int = 5440, stop: int = 5540) -> int:
    """A port below the kernel's ephemeral range that no cluster is set to and nothing
    listens on."""
    taken = set(clusters().values())
    for port in range(start, stop):
        if port not in taken and not _listening(port):
            return port
    raise RuntimeError(f"no free port for PostgreSQL in {start}-{stop - 1}")


@dataclass
class Cluster:
    name: str
    version: str
    port: int = 0

    @classmethod
    def ensure(cls, name: str, version: str | None = None) -> "Cluster":
        """The cluster `name`, created if missing (loopback only, SSL off like Debian's
        `main` here, never started at boot), then started."""
        if name == "main":
            raise ValueError("the bench never uses the shared `main` cluster")
        version = version or latest_version()
        existing = clusters()
        if (version, name) in existing:
            cluster = cls(name, version, existing[(version, name)])
        else:
            cluster = cls(name, version, free_port())
            out = _run(["pg_createcluster", version, name, "-p", str(cluster.port),
                        "--start-conf=manual", "-o", "listen_addresses=localhost",
                        "-o", "ssl=off", "-o", "max_connections=100",
                        # what a stall would be: lock waits and slow statements, logged
                        "-o", "log_lock_waits=on", "-o", "log_min_duration_statement=1000",
                        "-o", "log_checkpoints=on"], timeout=300)
            if out.returncode != 0:
                raise RuntimeError(f"pg_createcluster failed: {out.stderr.strip()}")
        cluster.start()
        return cluster

    def _ctl(self, action: str) -> subprocess.CompletedProcess:
        return _run(["pg_ctlcluster", self.version, self.name, action])

    def start(self) -> None:
        if self._ctl("status").returncode != 0:  # 0: running already (a reused cluster)
            out = self._ctl("start")
            if out.returncode != 0:
                raise RuntimeError(f"pg_ctlcluster start failed: {out.stderr.strip()}")
        self.wait_ready()

    def restart(self) -> subprocess.CompletedProcess:
        return self._ctl("restart")

    def stop(self) -> None:
        self._ctl("stop")

    def drop(self, keep_log: Path | None = None) -> None:
        """Stop and remove the cluster; its server log copied to `keep_log` first."""
        log = Path(f"/var/log/postgresql/postgresql-{self.version}-{self.name}.log")
        if keep_log is not None and log.exists():
            keep_log.write_bytes(log.read_bytes())
        _run(["pg_dropcluster", "--stop", self.version, self.name])

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)]).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL {self.version}/{self.name} not ready on {self.port}")

    def psql(self, sql: str) -> subprocess.CompletedProcess:
        """As the postgres superuser over the cluster's own Unix socket (peer auth)."""
        return _run(["su", "postgres", "-c",
                     f"psql -p {self.port} -v ON_ERROR_STOP=1 -tAc \"{sql}\""])

    def fresh_database(self, dbname: str) -> str:
        """An empty database `dbname` owned by the test role; its URL."""
        role = self.psql(f"SELECT 1 FROM pg_roles WHERE rolname='{ROLE}'")
        if role.returncode != 0:
            raise RuntimeError(f"psql failed: {role.stderr.strip()}")
        if "1" not in role.stdout:
            self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE}'")
        for sql in (f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)",
                    f"CREATE DATABASE {dbname} OWNER {ROLE}"):
            out = self.psql(sql)
            if out.returncode != 0:
                raise RuntimeError(f"{sql}: {out.stderr.strip()}")
        return f"postgresql://{ROLE}:{ROLE}@127.0.0.1:{self.port}/{dbname}"
