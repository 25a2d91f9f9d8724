"""Serve the web UI with waitress on localhost: one process, or `--workers N` processes
sharing the port (SO_REUSEPORT: the kernel spreads new connections over them)."""
from __future__ import annotations

import os
import signal
import socket
import sys
import time

from waitress import serve as waitress_serve

from models import database
from models.migrations import require_current
from voxcast.config import Settings

from . import create_app
from .live_stream import max_streams

REQUEST_THREADS = 8  # for ordinary requests; each live stream (webui.live_stream) holds one more


def waitress_options() -> dict:
    """What `voxcast web` gives waitress; bench/web.py serves its bare Flask app with the same."""
    return {"threads": REQUEST_THREADS + max_streams()}


def _shared_socket(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:port that other worker processes bind as well."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _die_with_parent() -> None:
    """A worker gets SIGTERM when its parent dies, however (even SIGKILL), so no worker is
    left serving the port on its own (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent was gone before the prctl
        os.kill(os.getpid(), signal.SIGTERM)


def serve(settings: Settings, workers: int = 1, worker: bool = False) -> None:
    if workers > 1 and not worker:
        return supervise(settings, workers)
    app = create_app(settings)
    require_current()  # an old schema is `voxcast initdb`'s to migrate, not the UI's
    database.close()
    if worker:
        _die_with_parent()
        waitress_serve(app, sockets=[_shared_socket(settings.web_port)], **waitress_options())
        return None
    print(f"voxcast web UI: http://127.0.0.1:{settings.web_port}/", flush=True)
    waitress_serve(app, host="127.0.0.1", port=settings.web_port, **waitress_options())
    return None


def supervise(settings: Settings, workers: int) -> None:
    """`workers` processes of `voxcast web --worker` on the one port, each started again
    (with backoff) when it exits, all stopped on SIGTERM / Ctrl-C."""
    from voxcast.runtime import supervisor

    create_app(settings)
    require_current()  # refuse before starting anything, as one process does
    database.close()
    probe = _shared_socket(settings.web_port)  # fails here when another program has the port
    probe.close()
    argv = [sys.executable, "-m", "voxcast.cli", "--instance", settings.instance, "web",
            "--worker"]
    sup = supervisor.Supervisor([supervisor.Child(f"web worker {i + 1}", argv)
                                 for i in range(workers)])
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, _stop)  # before any worker exists
    signal.signal(signal.SIGINT, _stop)
    sup.start(time.monotonic())
    print(f"voxcast web UI: http://127.0.0.1:{settings.web_port}/ ({workers} processes, "
          f"pids {' '.join(str(c.proc.pid) for c in sup.children)})", flush=True)
    try:
        while not stopping:
            sup.check(time.monotonic())
            time.sleep(0.5)
    finally:
        sup.stop()
