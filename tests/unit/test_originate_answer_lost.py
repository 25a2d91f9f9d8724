"""An originate whose answer was lost with the ARI socket (OutboundCall._settle_unanswered):
once ARI is back, Asterisk's channel record decides. Never created: NOT PLACED, the contact
queued again; created (recorded or still live): it was dialled, never dialled a second time.
Fakes stand in for ARI and the writer; the channel record is a real file read by
voxcast.runtime.channel_log."""
from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

from ari_app.client import AriError, AriUnavailable
from ari_app.outbound import OutboundCall
from voxcast.config import Settings
from voxcast.runtime import channel_log

AT = dt.datetime(2026, 12, 4, 2, 0, 0)


class FakeAri:
    def __init__(self, channel_live: bool, cel_running: bool = True):
        self.connected = asyncio.Event()
        self.channel_live = channel_live
        self.cel_running = cel_running
        self.asked = []

    async def get(self, path, **_params):
        self.asked.append(path)
        if path == "/asterisk/modules/cel_custom.so":
            return {"status": "Running" if self.cel_running else "Not Running"}
        if not self.connected.is_set():
            raise AriUnavailable("GET", path, "ARI event socket closed")
        if self.channel_live:
            return {"id": path.rsplit("/", 1)[1], "state": "Ringing"}
        raise AriError(404, "Channel not found", "GET", path)


class FakeWriter:
    def __init__(self):
        self.jobs = []

    async def run(self, fn, *args):
        self.jobs.append((fn.__name__, args))


def _call(tmp_path, ari) -> OutboundCall:
    settings = Settings(instance="t", runtime_dir=tmp_path, asterisk_root=tmp_path / "root")
    call = object.__new__(OutboundCall)  # only what _settle_unanswered uses
    call.ctx = SimpleNamespace(ari=ari, writer=FakeWriter(), settings=settings)
    call.channel_id, call.call_id, call.originated_at = "vx-42", 42, AT
    call.done, call.unplaced, call.rang, call.settling = False, False, False, False
    call.closed = []

    async def close(cause, text):
        call.closed.append(text)
        call.done = True
    call.close = close
    call.IN_FLIGHT_S, call.ANSWER_LOST_WAIT_S = 0.01, 2.0
    return call


def _record(settings, *channel_ids):
    path = channel_log.log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    t = AT.replace(tzinfo=dt.timezone.utc).timestamp()
    path.write_text("".join(f'"CHAN_START","{t + 1}","{c}","1",""\n' for c in channel_ids))


async def _settle(call, reconnect_after: float = 0.05):
    async def back():
        await asyncio.sleep(reconnect_after)
        call.ctx.ari.connected.set()
    asyncio.ensure_future(back())
    await call._settle_unanswered(AriUnavailable("POST", "/channels", "ARI event socket closed"))


def test_given_no_record_of_the_channel_then_it_was_never_dialled(tmp_path):
    call = _call(tmp_path, FakeAri(channel_live=False))
    _record(call.ctx.settings, "vx-other")
    asyncio.run(_settle(call))
    assert call.unplaced and call.closed[0].startswith("not placed:") and not call.rang
    assert not call.settling


def test_given_asterisk_recorded_the_channel_then_the_attempt_counts(tmp_path):
    call = _call(tmp_path, FakeAri(channel_live=False))
    _record(call.ctx.settings, "vx-42")
    asyncio.run(_settle(call))
    assert not call.unplaced and call.rang and call.closed[0].startswith("originate failed:")


def test_given_no_record_kept_then_the_attempt_counts(tmp_path):
    call = _call(tmp_path, FakeAri(channel_live=False, cel_running=False))
    asyncio.run(_settle(call))
    assert not call.unplaced and call.closed[0].startswith("originate failed:")


def test_given_the_channel_still_up_then_it_is_a_placed_call(tmp_path):
    call = _call(tmp_path, FakeAri(channel_live=True))
    asyncio.run(_settle(call))
    assert call.closed == [] and not call.unplaced
    name, args = call.ctx.writer.jobs[0]
    assert name == "mark_placed" and args[0] == [42]


def test_given_ari_not_back_in_time_then_the_attempt_counts(tmp_path):
    call = _call(tmp_path, FakeAri(channel_live=False))
    _record(call.ctx.settings)
    asyncio.run(_settle(call, reconnect_after=5.0))
    assert not call.unplaced and call.closed[0].startswith("originate failed:")
