"""Structured logs: VOXCAST_LOG_FORMAT=json gives one JSON object per line."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from voxcast.config import PROJECT_ROOT
from voxcast.logs import JsonFormatter


def test_a_record_as_json():
    logger = logging.getLogger("voxcast.test")
    record = logger.makeRecord("voxcast.test", logging.WARNING, __file__, 1,
                               "call %s to %s failed", (7, "+4930"), None,
                               extra={"tenant_id": 3, "obj": object()})
    out = json.loads(JsonFormatter("ari-app").format(record))
    assert out["msg"] == "call 7 to +4930 failed" and out["level"] == "WARNING"
    assert out["logger"] == "voxcast.test" and out["service"] == "ari-app"
    assert out["tenant_id"] == 3 and out["obj"].startswith("<object object")
    assert out["ts"].endswith("Z") and out["pid"] == os.getpid()
    assert "exc" not in out


def test_an_exception_keeps_its_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed",
                                                   (), sys.exc_info())
    out = json.loads(JsonFormatter().format(record))
    assert "RuntimeError: boom" in out["exc"] and "\n" not in JsonFormatter().format(record)


def _initdb(tmp_path, fmt):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VOXCAST_") and k != "DATABASE_URL"}
    env.update(VOXCAST_RUNTIME=str(tmp_path), VOXCAST_INSTANCE="logtest",
               VOXCAST_ASTERISK_ROOT=str(tmp_path / "root"), VOXCAST_LOG_FORMAT=fmt)
    return subprocess.run([sys.executable, "-m", "voxcast.cli", "initdb"], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_voxcast_logs_json_lines_when_asked(tmp_path):
    done = _initdb(tmp_path, "json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines and all(line["service"] == "initdb" for line in lines)
    assert any(line["logger"] == "voxcast.migrations" for line in lines)


def test_an_unknown_log_format_is_refused(tmp_path):
    done = _initdb(tmp_path, "xml")
    assert done.returncode == 2 and "VOXCAST_LOG_FORMAT must be text or json" in done.stderr
