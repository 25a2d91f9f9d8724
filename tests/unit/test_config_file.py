"""The configuration file (KEY=value, systemd's EnvironmentFile format): parsed strictly,
the environment winning over it, and `voxcast` reading it before any setting."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from voxcast import config
from voxcast.config import PROJECT_ROOT, ConfigError, apply_config_file, parse_env_file


def test_parse_env_file_lines():
    text = """# voxcast
; also a comment

DATABASE_URL=postgresql://vox:pw@localhost/voxcast
VOXCAST_BASE_URL = "https://voxcast.example.com"
VOXCAST_SMTP_FROM='noreply@example.com'
VOXCAST_TRUNK_ALLOW=192.0.2.1, 192.0.2.0/28
VOXCAST_SMTP_PASSWORD=a=b#c
EMPTY=
"""
    assert parse_env_file(text) == {
        "DATABASE_URL": "postgresql://vox:pw@localhost/voxcast",
        "VOXCAST_BASE_URL": "https://voxcast.example.com",
        "VOXCAST_SMTP_FROM": "noreply@example.com",
        "VOXCAST_TRUNK_ALLOW": "192.0.2.1, 192.0.2.0/28",
        "VOXCAST_SMTP_PASSWORD": "a=b#c",
        "EMPTY": "",
    }


@pytest.mark.parametrize("line", ["VOXCAST_WEB_PORT 8080", "export VOXCAST_HTTPS=1",
                                  "1BAD=x", "VOXCAST_BASE_URL=\"https://x"])
def test_a_bad_line_is_an_error_naming_it(line):
    with pytest.raises(ConfigError, match=r"voxcast.conf:2:"):
        parse_env_file("# ok\n" + line + "\n", "voxcast.conf")


def test_the_environment_wins_over_the_file(tmp_path):
    path = tmp_path / "voxcast.conf"
    path.write_text("VOXCAST_WEB_PORT=9000\nVOXCAST_HTTPS=1\n")
    environ = {"VOXCAST_WEB_PORT": "8181"}
    assert apply_config_file(path, environ) == ["VOXCAST_HTTPS"]
    assert environ == {"VOXCAST_WEB_PORT": "8181", "VOXCAST_HTTPS": "1"}


def test_missing_file_fine_by_default_an_error_when_named(tmp_path):
    assert config.config_file({}) == (config.CONFIG_FILE, False)
    assert config.config_file({"VOXCAST_CONFIG": "/x.conf"}) == (config.Path("/x.conf"), True)
    assert config.config_file({"VOXCAST_CONFIG": "/x.conf"}, "/y.conf")[0] == config.Path("/y.conf")
    assert apply_config_file(tmp_path / "none.conf", {}) == []
    with pytest.raises(ConfigError, match="no such configuration file"):
        apply_config_file(tmp_path / "none.conf", {}, required=True)


def _voxcast_status(tmp_path, env_extra, *args):
    """`voxcast status` for an instance with nothing running: prints the web port it read."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VOXCAST_") and k != "DATABASE_URL"}
    env.update(VOXCAST_RUNTIME=str(tmp_path / "rt"), VOXCAST_INSTANCE="cfgtest",
               VOXCAST_ASTERISK_ROOT=str(tmp_path / "root"), VOXCAST_ARI_PORT="1", **env_extra)
    return subprocess.run([sys.executable, "-m", "voxcast.cli", *args, "status"], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)


def test_voxcast_reads_the_file_and_the_environment_wins(tmp_path):
    conf = tmp_path / "voxcast.conf"
    conf.write_text("VOXCAST_WEB_PORT=18123\nVOXCAST_AGI_PORT=1\n")
    out = _voxcast_status(tmp_path, {"VOXCAST_CONFIG": str(conf)}).stdout
    assert "web UI: http://127.0.0.1:18123/" in out
    out = _voxcast_status(tmp_path, {"VOXCAST_WEB_PORT": "18124"}, "--config", str(conf)).stdout
    assert "web UI: http://127.0.0.1:18124/" in out
    conf.write_text("VOXCAST_WEB_PORT 18123\n")
    bad = _voxcast_status(tmp_path, {"VOXCAST_CONFIG": str(conf)})
    assert bad.returncode == 2 and "voxcast.conf:1: expected KEY=value" in bad.stderr
    missing = _voxcast_status(tmp_path, {}, "--config", str(tmp_path / "nope.conf"))
    assert missing.returncode == 2 and "no such configuration file" in missing.stderr
