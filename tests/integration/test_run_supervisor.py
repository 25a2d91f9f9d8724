"""`voxcast run` keeps its children running: one killed (as a crash) is started again after a
short pause, the others untouched. A real `voxcast run` on an instance of its own (its own
Asterisk, ports and SQLite database), so it never meets the session's Stasis app."""
from __future__ import annotations

import dataclasses
import os
import signal
import socket
from pathlib import Path

from .child_process import VoxcastProcess
from .conftest import wait_for


def children(pid: int) -> dict[str, int]:
    """`voxcast <name>` processes whose parent is `pid`, by name."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"voxcast.cli" in argv:
            found[argv[-2].decode()] = int(entry.name)  # argv ends with the name and b""
    return found


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def test_a_killed_child_is_started_again(settings, artifacts):
    instance = f"{settings.instance}-sup"
    offset = int(os.environ.get("VOXCAST_PORT_OFFSET", 0)) + 50
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # its own SQLite file
    env.update(VOXCAST_INSTANCE=instance, VOXCAST_PORT_OFFSET=str(offset),
               VOXCAST_RESTART_BASE_S="0.5", VOXCAST_RESTART_STABLE_S="30")
    own = dataclasses.replace(settings, instance=instance)  # for its paths
    own_agi = 14573 + offset
    (artifacts / "voxcast-run.log").unlink(missing_ok=True)
    run = VoxcastProcess(artifacts / "voxcast-run.log", env)
    own.state_dir.mkdir(parents=True, exist_ok=True)
    run.spawn("run")
    try:
        wait_for(lambda: run.alive() and listening(own_agi) and listening(18080 + offset), 120,
                 message=f"voxcast run up (its FastAGI on {own_agi}, its web UI)")
        before = wait_for(lambda: (lambda c: c if len(c) == 5 else None)(children(run.proc.pid)),
                          30, message="five children")
        assert set(before) == {"ari-app", "agi", "messaging", "webhooks", "web"}

        os.kill(before["agi"], signal.SIGKILL)
        wait_for(lambda: children(run.proc.pid).get("agi", before["agi"]) != before["agi"]
                 and listening(own_agi), 30, message="FastAGI started again")
        assert run.alive(), run.log_tail()
        after = children(run.proc.pid)
        assert {k: v for k, v in after.items() if k != "agi"} == \
               {k: v for k, v in before.items() if k != "agi"}  # the others untouched
        log = run.log_tail()
        assert "agi (pid %d) exited with -9" % before["agi"] in log, log
        assert "starting agi again (restart 1)" in log, log
    finally:
        run.stop(timeout=60)
    assert not run.alive()
    assert not own.state_dir.joinpath("voxcast.pid").exists()


def test_asterisk_foreground_is_the_units_main_process(settings, artifacts):
    """What the voxcast-asterisk unit runs: the process becomes Asterisk (same pid, ARI
    answering), and SIGTERM ends it cleanly."""
    from voxcast.runtime import asterisk
    instance = f"{settings.instance}-sup"
    offset = int(os.environ.get("VOXCAST_PORT_OFFSET", 0)) + 50
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(VOXCAST_INSTANCE=instance, VOXCAST_PORT_OFFSET=str(offset))
    own = dataclasses.replace(settings, instance=instance, ari_port=18088 + offset)
    proc = VoxcastProcess(artifacts / "asterisk-foreground.log", env)
    proc.spawn("asterisk", "foreground")
    try:
        wait_for(lambda: proc.alive() and asterisk.ari_info(own), 60, message="ARI answering")
        assert asterisk.pid(own) == proc.proc.pid
        argv = Path(f"/proc/{proc.proc.pid}/cmdline").read_bytes().split(b"\0")
        assert argv[0].endswith(b"asterisk") and b"-f" in argv
    finally:
        proc.stop(signal.SIGTERM, timeout=30)
    assert proc.proc.returncode == 0
    assert asterisk.ari_info(own) is None
