"""One call-leg lifecycle (ari_app.leg.CallLeg) for every kind of leg, built with fakes for
its collaborators: the close frees the channel slot, stops the meter (a cut says so on the
CDR), closes the CDR once, and the background tasks it starts are kept and their failures
logged."""
from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from ari_app.calls import ChannelCounter, Router
from voxcast.dialing.campaign_plans import CampaignPlan
from voxcast.dialing.claims import Claim
from ari_app.events import Event
from ari_app.flows.inbound import InboundCall
from ari_app.flows.interactive import InteractiveCall
from ari_app.flows.ivr_runner import TransferLeg
from ari_app.flows.voice_message import VoiceMessageCall
from ari_app.main import OrphanCall
from ari_app.tasks import TaskSet
from voxcast.billing.call_time import CUT_CAUSE

from .test_writer_and_meter import _run

PLAN = CampaignPlan(7, 3, "voice_message", "c", 5, 10, "m", "", 30)
CLAIM = Claim(41, "vx-1", 9, 7, 3, "+12025550101")


class FakeWriter:
    def __init__(self, log):
        self.log = log

    def post(self, func, *args):
        self.log.append(("post", func.__name__, args))

    async def run(self, func, *args):
        self.log.append(("run", func.__name__, args))


class FakeCdrs:
    def finish_call(self, *args):  # the fake writer only records that it was asked to run
        raise AssertionError("runs on the writer")


class FakeCredit:
    def __init__(self, cut=False):
        self.cut, self.stopped = cut, False

    def stop(self):
        self.stopped = True


def _ctx(log, credit=None):
    meter = SimpleNamespace(for_call=lambda tenant_id, call_id: credit)
    ctx = SimpleNamespace(writer=FakeWriter(log), cdrs=FakeCdrs(), channels=ChannelCounter(),
                          router=Router(), tasks=TaskSet(), credit=meter, ari=None)
    ctx.router.ctx = ctx
    return ctx


def test_an_outbound_call_frees_its_slot_stops_its_meter_and_is_closed_once():
    async def go():
        log, credit = [], FakeCredit(cut=True)
        ctx = _ctx(log, credit)
        call = VoiceMessageCall(ctx, CLAIM, PLAN)
        call.take_slot()
        call.take_slot()  # one slot, however often asked
        counted = (ctx.channels.by_campaign[7], ctx.channels.by_tenant[3], ctx.channels.total)
        call.amd_result = "HUMAN"
        call.rang = True
        await call.channel_destroyed(Event("ChannelDestroyed", "vx-1", cause=16))
        await call.close(16, "again")  # replayed: nothing more
        return counted, ctx.channels, credit, log

    counted, channels, credit, log = _run("asyncio", go())
    assert counted == (1, 1, 1)
    assert (channels.by_campaign[7], channels.by_tenant[3], channels.total) == (0, 0, 0)
    assert credit.stopped
    ((how, func, args),) = log
    assert (how, func) == ("post", "finish_call")
    call_id, answered_at, _ended, cause, cause_txt, rang, machine, policy = args
    assert (call_id, answered_at, cause, rang, machine) == (41, None, 16, True, False)
    assert cause_txt == f"AMD HUMAN; {CUT_CAUSE}"
    assert policy == PLAN.retry_settings


def test_an_interactive_call_cleans_up_its_runner_before_the_cdr_closes():
    async def go():
        log = []
        call = InteractiveCall(_ctx(log), CLAIM, PLAN)

        class Runner:
            async def cleanup(self):
                log.append(("cleanup",))
        call.runner = Runner()
        await call.close(16, "Normal Clearing")
        return log

    log = _run("asyncio", go())
    assert [entry[0] for entry in log] == ["cleanup", "post"]


def test_a_transfer_leg_tells_its_caller_only_after_its_cdr_is_closed():
    async def go():
        log = []
        ctx = _ctx(log)
        parent = SimpleNamespace(channel_id="caller",
                                 enqueue=lambda event: log.append(("event", event.type)))
        leg = TransferLeg(ctx, parent, "caller-x1", 55, 3)
        leg.take_slot()
        await leg.channel_destroyed(Event("ChannelDestroyed", "caller-x1", channel_state="Ringing",
                                          cause=17, cause_txt="busy"))
        return log, ctx.channels

    log, channels = _run("asyncio", go())
    assert [(e[0], e[1]) for e in log] == [("run", "finish_call"), ("event", "TransferEnded")]
    assert log[0][2][0] == 55 and log[0][2][3:] == (17, "busy", True)  # it rang
    assert channels.total == 0 and channels.by_tenant[3] == 0


def test_an_inbound_call_refused_before_its_cdr_closes_nothing_and_one_with_a_cdr_closes_it():
    async def go():
        log = []
        ctx = _ctx(log)
        refused = InboundCall(ctx, Event("StasisStart", "in-1", args=("inbound", "1555")))
        await refused.stasis_end(Event("StasisEnd", "in-1"))
        taken = InboundCall(ctx, Event("StasisStart", "in-2", args=("inbound", "1555")))
        taken.tenant_id, taken.call_id = 3, 77
        taken.take_slot()
        await taken.channel_hangup_request(Event("ChannelHangupRequest", "in-2", cause=17,
                                                 cause_txt="User busy"))
        await taken.stasis_end(Event("StasisEnd", "in-2"))
        return log, ctx.channels

    log, channels = _run("asyncio", go())
    ((how, func, args),) = log
    assert (how, func, args[0], args[3:]) == ("post", "finish_call", 77, (17, "User busy", True))
    assert channels.total == 0


def test_a_call_adopted_without_its_flow_is_closed_with_why():
    async def go():
        log = []
        orphan = OrphanCall(_ctx(log), 88, "old-1", None)
        await orphan.channel_destroyed(Event("ChannelDestroyed", "old-1", cause=16))
        return log

    ((how, func, args),) = _run("asyncio", go())
    assert (how, func, args[0]) == ("run", "finish_call", 88)
    assert args[4] == "ended while voxcast restarted"


def test_a_background_task_is_kept_until_it_ends_and_its_failure_is_logged(caplog):
    async def go():
        tasks = TaskSet()

        async def boom():
            raise RuntimeError("lost")

        tasks.spawn(boom(), "boom")
        kept = len(tasks)
        await asyncio.sleep(0.01)
        return kept, len(tasks)

    with caplog.at_level(logging.ERROR, logger="voxcast.tasks"):
        kept, after = _run("asyncio", go())
    assert (kept, after) == (1, 0)
    assert "task boom failed" in caplog.text and "lost" in caplog.text


def test_no_module_of_the_stasis_app_keeps_mutable_state():
    """Behaviour comes from objects built in ari_app.main.build(), never from a module-level
    list, dict or set that something registers into or a test would have to reset."""
    import importlib
    import pkgutil

    import ari_app

    names = [m.name for m in pkgutil.walk_packages(ari_app.__path__, "ari_app.")
             if m.name not in ("ari_app.client", "ari_app.event_socket")]  # not this cut's
    names += ["voxcast.billing.call_credit", "voxcast.billing.call_time"]
    found = []
    for name in names:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if attr.startswith("__") or getattr(value, "__module__", name) != name:
                continue
            if isinstance(value, (list, dict, set, bytearray)):
                found.append(f"{name}.{attr}")
    assert found == []


class FakeAri:
    """Records what the flows ask of Asterisk."""
    app = "voxcast"

    def __init__(self):
        self.calls = []

    async def play(self, channel_id, media, playback_id=None):
        self.calls.append(("play", channel_id))

    async def hangup(self, channel_id, *args, **kwargs):
        self.calls.append(("hangup", channel_id))

    async def post(self, path, **params):
        self.calls.append(("post", path, params.get("eventSource")))


def _held_ctx(log):
    ctx = _ctx(log)
    ctx.ari = FakeAri()
    ctx.settings = SimpleNamespace(sound_uri=lambda name: f"sound:{name}")
    return ctx


def test_a_held_call_entering_stasis_before_adoption_gets_its_flow_and_a_stranger_is_refused():
    """The app back, a call answered meanwhile enters Stasis from [voxcast-outbound] before
    reconcile() listed the channels: its open CDR gives it its flow handler (slot, placed,
    answered, message played); a StasisStart `outbound` no open CDR knows is hung up."""
    from voxcast.cdr.records import OpenCall
    from ari_app.main import Adoptions

    async def go():
        log = []
        ctx = _held_ctx(log)
        adoptions = Adoptions([OpenCall(41, "vx-1", None, CLAIM, PLAN)])
        ctx.router.route_stasis("outbound", adoptions.take_over)
        ctx.router.dispatch(Event("StasisStart", "vx-1", args=("outbound", "41")))
        ctx.router.dispatch(Event("StasisStart", "vx-9", args=("outbound", "99")))
        for _ in range(5):
            await asyncio.sleep(0)
        handler = {h.channel_id: h for h in ctx.router.handlers()}.get("vx-1")
        await ctx.tasks.cancel_all()  # its queue's reader
        return log, ctx, handler, adoptions

    log, ctx, handler, adoptions = _run("asyncio", go())
    assert isinstance(handler, VoiceMessageCall) and not handler.holding
    assert adoptions.pending == {} and ctx.channels.total == 1
    assert ("play", "vx-1") in ctx.ari.calls and ("hangup", "vx-9") in ctx.ari.calls
    assert ("hangup", "vx-1") not in ctx.ari.calls
    assert [f for _, f, _ in log] == ["mark_placed", "mark_answered"]


def test_adoption_keeps_a_call_held_in_dialplan_and_hangs_up_one_whose_flow_is_lost():
    """Up in [voxcast-outbound] but not in Stasis: held until the app is back, so it is kept
    for its StasisStart. Up in Stasis with its answer recorded: the earlier run's flow is lost
    with the crash, so it is hung up (as before the hold)."""
    import datetime as dt

    from voxcast.cdr.records import OpenCall
    from ari_app.main import adopt

    async def go(channel, answered_at):
        log = []
        ctx = _held_ctx(log)
        await adopt(ctx, OpenCall(41, "vx-1", answered_at, CLAIM, PLAN), {"vx-1": channel})
        handler = {h.channel_id: h for h in ctx.router.handlers()}.get("vx-1")
        await ctx.tasks.cancel_all()  # the watchdog of the held call
        return ctx, handler

    held = {"state": "Up", "dialplan": {"context": "voxcast-outbound", "app_name": "Wait"}}
    ctx, handler = _run("asyncio", go(held, None))
    assert handler.holding and ("hangup", "vx-1") not in ctx.ari.calls
    lost = {"state": "Up", "dialplan": {"context": "voxcast-outbound", "app_name": "Stasis"}}
    ctx, handler = _run("asyncio", go(lost, dt.datetime(2026, 1, 1)))
    assert not handler.holding and ("hangup", "vx-1") in ctx.ari.calls
