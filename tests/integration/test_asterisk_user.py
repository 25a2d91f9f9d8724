"""Asterisk in the chroot runs as a uid of its own, which no host account shares (Debian's
package gives it 101, the host's `postgres` on Debian 12)."""
from __future__ import annotations

import pwd
from pathlib import Path

import pytest

from voxcast.runtime import asterisk

pytestmark = pytest.mark.integration


def _uids(pid: int) -> set[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return {int(x) for x in line.split()[1:]}
    raise AssertionError("no Uid line")


def test_given_running_asterisk_then_its_uid_is_the_voxcast_asterisk_host_user(runtime):
    if not asterisk.is_chroot(runtime):
        pytest.skip("a system Asterisk keeps the uid its package gave it")
    uids = _uids(asterisk.pid(runtime))
    assert len(uids) == 1, f"real, effective, saved and fs uids differ: {uids}"
    uid = uids.pop()
    host_user = pwd.getpwnam(asterisk.HOST_USER)
    assert uid == host_user.pw_uid
    sharing = [p.pw_name for p in pwd.getpwall() if p.pw_uid == uid]
    assert sharing == [asterisk.HOST_USER], f"host accounts with Asterisk's uid: {sharing}"
    # and the files Asterisk writes are its own
    etc = runtime.host_path(runtime.ast_etc)
    assert (etc / "pjsip.conf").stat().st_uid == uid
