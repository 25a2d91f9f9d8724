"""`voxcast messaging` as the SMS and e-mail integration tests start it: its own process, as
`voxcast run` starts it beside the Stasis app (like StasisApp and AgiProcess in conftest.py)."""
from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path

from .child_process import VoxcastProcess
from .conftest import wait_for


class MessagingProcess(VoxcastProcess):
    """`voxcast messaging` with environment `env` (the test's database, SMTP peer, ...),
    started with --instance `instance` when given (else the environment's), its output in
    logdir/messaging.log. With `ready_port` start() returns once the process listens there
    (the e-mail bounce listener)."""

    def __init__(self, logdir: Path, env: Mapping[str, str], *, instance: str | None = None,
                 ready_port: int | None = None):
        super().__init__(logdir / "messaging.log", env)
        self.instance = instance
        self.ready_port = ready_port

    def start(self) -> None:
        instance = ["--instance", self.instance] if self.instance else []
        self.spawn(*instance, "messaging")
        if self.ready_port is None:
            return

        def listening():
            assert self.proc.poll() is None, self.log_tail()
            try:
                socket.create_connection(("127.0.0.1", self.ready_port), 0.5).close()
                return True
            except OSError:
                return False
        wait_for(listening, 30, message="voxcast messaging's bounce listener")
