"""`voxcast web --workers 2`: two waitress processes on the one port (SO_REUSEPORT), both
serving; one killed is started again by the parent while the other goes on answering; SIGTERM
to the parent stops them all and frees the port. Real processes, the session's database."""
from __future__ import annotations

import os
import signal
import urllib.request
from pathlib import Path

from .child_process import VoxcastProcess
from .conftest import wait_for


def listeners(port: int) -> set[int]:
    """The pids whose sockets listen on 127.0.0.1:port."""
    want = f"0100007F:{port:04X}"
    inodes = {row.split()[9] for row in Path("/proc/net/tcp").read_text().splitlines()[1:]
              if row.split()[1] == want and row.split()[3] == "0A"}
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                    pids.add(int(proc.name))
        except OSError:
            continue
    return pids


def two(port: int) -> set[int] | None:
    pids = listeners(port)
    return pids if len(pids) == 2 else None


def answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as res:
        return res.status == 200


def test_given_two_workers_when_one_dies_then_the_port_keeps_answering_and_it_comes_back(
        db, settings, artifacts):
    port = settings.web_port + 7  # beside the session's own web UI
    web = VoxcastProcess(artifacts / "web-workers.log",
                         {**os.environ, "VOXCAST_WEB_PORT": str(port)})
    web.spawn("--instance", settings.instance, "web", "--workers", "2")
    try:
        first = wait_for(lambda: two(port), 60, message="two workers listening")
        assert web.proc.pid not in first  # the parent only supervises
        assert all(answers(port) for _ in range(20))
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in listeners(port), 10, message="the killed worker gone")
        assert all(answers(port) for _ in range(10))  # the other one serves meanwhile
        again = wait_for(lambda: two(port), 60, message="the worker started again")
        assert victim not in again and (first - {victim}) <= again
        assert answers(port)
    finally:
        web.stop()
    assert not listeners(port), "SIGTERM to the parent stopped every worker"
    assert "web worker" in web.log_tail() and "restart" in web.log_tail()
