"""`voxcast install-service` writes one systemd unit per process (and voxcast.target), each
restarted on failure, run as the right user, reading the one configuration file; checked by
`systemd-analyze verify` where it exists, and parsed here in any case. Nothing is enabled."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voxcast.config import PROJECT_ROOT, Settings
from voxcast.runtime import service

SERVICES = {"voxcast-asterisk": ("asterisk", "foreground"), "voxcast-ari-app": ("ari-app",),
            "voxcast-agi": ("agi",), "voxcast-messaging": ("messaging",),
            "voxcast-webhooks": ("webhooks",), "voxcast-web": ("web",)}


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, line
        current.setdefault(key, []).append(value)
    return sections


def install(tmp_path, *args) -> Path:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VOXCAST_") and k != "DATABASE_URL"}
    env.update(VOXCAST_RUNTIME=str(tmp_path / "rt"), VOXCAST_INSTANCE="svc",
               VOXCAST_ASTERISK_ROOT=str(tmp_path / "sid"))
    out = tmp_path / "units"
    done = subprocess.run([sys.executable, "-m", "voxcast.cli", *args, "install-service",
                           "--dir", str(out)], env=env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return out


def test_one_unit_per_process(tmp_path):
    conf = tmp_path / "voxcast.conf"
    conf.write_text("VOXCAST_WEB_PORT=8080\n")
    out = install(tmp_path, "--config", str(conf))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{name}.service" for name in SERVICES] + ["voxcast.target", "voxcast-kamailio.service"])
    kam = parse_unit((out / "voxcast-kamailio.service").read_text())
    assert kam["Service"]["ExecStart"] == [" ".join([sys.executable, "-m", "voxcast.cli",
                                                     "--instance", "svc", "kamailio",
                                                     "foreground"])]
    assert kam["Service"]["Restart"] == ["on-failure"]
    # on the host that runs it only: enabled by itself, not wanted by voxcast.target
    assert kam["Install"]["WantedBy"] == ["multi-user.target"] and "PartOf" not in kam["Unit"]
    target = parse_unit((out / "voxcast.target").read_text())
    assert target["Install"]["WantedBy"] == ["multi-user.target"]
    assert set(target["Unit"]["Wants"][0].split()) == {f"{n}.service" for n in SERVICES}
    for name, cmd in SERVICES.items():
        unit = parse_unit((out / f"{name}.service").read_text())
        svc = unit["Service"]
        assert svc["Restart"] == ["on-failure"] and svc["Type"] == ["simple"]
        assert svc["EnvironmentFile"] == [str(conf)]
        # chroot runtime: the CLI's `chroot` needs root; Asterisk drops to its user itself
        assert svc["User"] == ["root"]
        assert svc["ExecStart"] == [" ".join([sys.executable, "-m", "voxcast.cli",
                                              "--instance", "svc", *cmd])]
        assert svc["WorkingDirectory"] == [str(PROJECT_ROOT)]
        assert unit["Install"]["WantedBy"] == ["voxcast.target"]
        assert unit["Unit"]["PartOf"] == ["voxcast.target"]


def test_a_system_asterisk_runs_the_processes_as_voxcast():
    settings = Settings(instance="run", asterisk_root=Path("/"))
    assert service.default_user(settings) == "voxcast"
    units = service.units(settings, service.ServiceOptions(user="voxcast"))
    web = parse_unit(units["voxcast-web.service"])["Service"]
    assert web["User"] == ["voxcast"] and web["SupplementaryGroups"] == ["asterisk"]
    assert web["EnvironmentFile"] == ["/etc/voxcast/voxcast.conf"]
    assert parse_unit(units["voxcast-asterisk.service"])["Service"]["User"] == ["root"]
    assert service.default_user(Settings(asterisk_root=Path("/x/sid"))) == "root"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_accepts_them(tmp_path):
    conf = tmp_path / "voxcast.conf"
    conf.write_text("")
    out = install(tmp_path, "--config", str(conf))
    units = sorted(str(p) for p in out.iterdir())
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *units],
                          capture_output=True, text=True, timeout=60)
    ours = [line for line in done.stderr.splitlines() if str(out) in line or "voxcast" in line]
    assert done.returncode == 0 and not ours, done.stderr
