"""The one way the suite runs a voxcast process (`voxcast <command>`) as `voxcast run` would:
its output appended to a log file kept with the artifacts, stopped politely, then killed."""
from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from voxcast import config
from voxcast.config import PROJECT_ROOT


class VoxcastProcess:
    def __init__(self, logfile: Path, env: Mapping[str, str] | None = None):
        self.logfile = logfile
        self.env = dict(env) if env is not None else None  # None: the test process's own
        self.proc: subprocess.Popen | None = None

    def spawn(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voxcast.cli", *args],
            stdout=open(self.logfile, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, cwd=PROJECT_ROOT)

    def kill(self) -> None:
        """As a crash: SIGKILL, nothing written on the way out."""
        self.proc.kill()
        self.proc.wait()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self) -> str:
        return self.logfile.read_text(errors="replace")[-4000:] if self.logfile.exists() else ""


def settings_in(env: Mapping[str, str], instance: str) -> config.Settings:
    """The settings a voxcast process started with `env` would load (a second node's)."""
    import os
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return config.load(instance)
    finally:
        os.environ.clear()
        os.environ.update(saved)
