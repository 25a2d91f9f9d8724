"""What the benchmarks share: an instance of their own, started fresh, and the Stasis app as
its own process."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def use_instance(name: str, ports: dict[str, str]) -> None:
    """Pick the benchmark's instance and ports; call before importing voxcast settings."""
    os.environ.setdefault("VOXCAST_INSTANCE", name)
    for key, value in ports.items():
        os.environ.setdefault(key, value)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def fresh_instance(settings):
    """Asterisk restarted and an empty database with the master tenant, unlimited channels."""
    from models import Tenant, bootstrap, init_database
    from voxcast.runtime import asterisk

    asterisk.provision(settings)
    asterisk.stop(settings)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{settings.db_path}{suffix}").unlink(missing_ok=True)
    asterisk.start(settings)
    init_database(settings.db_url)
    bootstrap()
    master = Tenant.get(Tenant.slug == "master")
    Tenant.update(channel_limit=100000).where(Tenant.id == master.id).execute()
    return Tenant.get_by_id(master.id)


def write_tone(path: Path, seconds: float) -> Path:
    """A prompt of `seconds` in the format our sounds use (8 kHz mono 16-bit WAV)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    str(path), "synth", str(seconds), "sine", "440", "vol", "0.3"], check=True)
    os.chmod(path, 0o644)
    return path


def start_app(settings, log: Path, env: dict | None = None) -> subprocess.Popen:
    """`voxcast ari-app` for the instance; returns once it reports ARI connected."""
    from models import SystemStatus

    SystemStatus.delete().execute()
    proc = subprocess.Popen([sys.executable, "-m", "voxcast.cli", "--instance", settings.instance,
                             "ari-app"], stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = SystemStatus.get_or_none(SystemStatus.key == "ari")
        if row and row.value == "connected":
            return proc
        time.sleep(0.2)
    raise SystemExit(f"the Stasis app did not connect; see {log}")


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def thread_cpu(pid: int) -> dict[int, tuple[float, float]]:
    """(user, system) CPU seconds per thread of a process: the Stasis app's event loop is the
    main thread (tid == pid), the database writer another."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = (int(fields[11]) / TICKS, int(fields[12]) / TICKS)
    return out


def thread_split(pid: int, before: dict, after: dict, calls: int) -> str:
    """'event loop 0.9 ms (user 0.7, system 0.2), other threads 0.8 ms ...' per call."""
    def ms(tids):
        user = sum(after[t][0] - before.get(t, (0, 0))[0] for t in tids)
        system = sum(after[t][1] - before.get(t, (0, 0))[1] for t in tids)
        return (f"{1000 * (user + system) / calls:.2f} ms (user {1000 * user / calls:.2f}, "
                f"system {1000 * system / calls:.2f})")
    others = [t for t in after if t != pid]
    return f"event loop thread {ms([pid])}; other threads {ms(others)} per call"


def asterisk_pid(settings) -> int:
    """The asterisk process of this instance (under the chroot wrapper, if any)."""
    marker = f"/etc/voxcast/{settings.instance}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if comm == "asterisk" and any(marker in part for part in cmd):
            return int(proc.name)
    raise SystemExit("asterisk of the bench instance not found")
