"""The phone_out flow (ari_app/flows/phone_out.py) with fakes for its collaborators: the call
is checked again in Stasis (a refusal there plays its prompt as early media and hangs up
without dialling), counted and reserved
before the trunk leg is dialled with the caller ID, bridged on answer, and either side's end
ends the other with the far end's cause."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from ari_app.calls import ChannelCounter, Router
from ari_app.events import Event
from ari_app.flows.phone_out import PhoneOutCall
from ari_app.tasks import TaskSet
from voxcast.billing.call_time import NoCredit
from voxcast.phones.routing import Route


class FakeWriter:
    def __init__(self, route, limit=5):
        self.route, self.limit, self.ran = route, limit, []

    async def run(self, func, *args):
        self.ran.append(func.__name__)
        if func.__name__ == "prepare_pstn":
            return self.route, self.limit
        if func.__name__ == "open_call":
            return 77
        if func.__name__ == "finish_call":
            return "ANSWERED"
        raise AssertionError(func.__name__)

    def post(self, func, *args):
        self.ran.append(func.__name__)


class FakeAri:
    def __init__(self, endpoint_state="online"):
        self.calls = []
        self.endpoint_state = endpoint_state

    async def hangup(self, channel_id, reason="normal"):
        self.calls.append(("hangup", channel_id, reason))

    async def post(self, path, **kw):
        self.calls.append(("post", path, kw))

    async def delete(self, path, **kw):
        self.calls.append(("delete", path))

    async def play(self, channel_id, media, playback_id=None):
        self.calls.append(("play", channel_id, media, playback_id))

    async def get(self, path, **kw):
        self.calls.append(("get", path))
        return {"state": self.endpoint_state}

    async def answer(self, channel_id):
        self.calls.append(("answer", channel_id))

    async def originate(self, endpoint, channel_id, app_args, caller_id="", timeout=30, **kw):
        self.calls.append(("originate", endpoint, channel_id, caller_id))


class Meter:
    def __init__(self, refuse=False):
        self.refuse = refuse

    async def guard_leg(self, tenant_id, number, reference=""):
        if self.refuse:
            raise NoCredit("broke")
        return None  # not rated


def finish_call(*args):
    return "ANSWERED"


PSTN = Route("pstn", "+15551230001", tenant_id=3, caller_id="+15550001111")


def _ctx(route=PSTN, limit=5, refuse=False):
    ctx = SimpleNamespace(writer=FakeWriter(route, limit), ari=FakeAri(), channels=ChannelCounter(),
                          router=Router(), tasks=TaskSet(), credit=Meter(refuse),
                          cdrs=SimpleNamespace(finish_call=finish_call))
    ctx.router.ctx = ctx
    return ctx


def _start(ctx):
    call = PhoneOutCall(ctx, Event("StasisStart", "ph-1", args=("phone_out", "7101", "15551230001")))
    return call


def test_refused_in_stasis_with_its_prompt_as_early_media_without_dialling():
    async def go():
        out = []
        for ctx, why, prompt in (
                (_ctx(route=Route("refuse", reason="not_allowed", tenant_id=3)), "rejected",
                 "vx-not-allowed"),
                (_ctx(refuse=True), "rejected", "vx-no-credit"),
                (_ctx(limit=0), "congestion", "vx-not-allowed")):
            call = _start(ctx)
            await call.stasis_start(Event("StasisStart", "ph-1"))
            playing = list(ctx.ari.calls)
            done_before = call.done
            await call.playback_finished(Event("PlaybackFinished", "ph-1",
                                               playback_id="ph-1-refusal"))
            out.append((ctx, why, prompt, call, playing, done_before))
        return out
    for ctx, why, prompt, call, playing, done_before in asyncio.run(go()):
        assert playing == [("post", "/channels/ph-1/progress", {}),
                           ("play", "ph-1", f"sound:{prompt}", "ph-1-refusal")]
        assert not done_before  # still waiting for the prompt's end
        assert ctx.ari.calls[2:] == [("hangup", "ph-1", why)]  # never answered
        assert "open_call" not in ctx.writer.ran and ctx.channels.total == 0 and call.done


def test_dialled_with_the_caller_id_bridged_on_answer_and_ended_with_the_far_ends_busy():
    async def go():
        ctx = _ctx()
        call = _start(ctx)
        await call.stasis_start(Event("StasisStart", "ph-1"))
        placed = list(ctx.ari.calls)
        counted = ctx.channels.by_tenant[3]
        leg = call.leg
        await leg.channel_destroyed(Event("ChannelDestroyed", leg.channel_id, cause=17))
        await call.transfer_ended(Event("TransferEnded", "ph-1", target_channel_id=leg.channel_id))
        return ctx, placed, counted
    ctx, placed, counted = asyncio.run(go())
    assert placed == [("post", "/channels/ph-1/ring", {}),
                      ("originate", "PJSIP/+15551230001@pstn", "ph-1-pstn", "+15550001111")]
    assert counted == 1 and ctx.channels.total == 0  # the leg's slot, freed at its end
    assert ctx.ari.calls[-1] == ("hangup", "ph-1", "busy")
    assert ctx.writer.ran == ["prepare_pstn", "open_call", "finish_call"]


def test_answer_bridges_and_the_phone_hanging_up_ends_the_leg():
    async def go():
        ctx = _ctx()
        call = _start(ctx)
        await call.stasis_start(Event("StasisStart", "ph-1"))
        leg = call.leg
        await leg.stasis_start(Event("StasisStart", leg.channel_id))
        await call.transfer_answered(Event("TransferAnswered", "ph-1",
                                           target_channel_id=leg.channel_id))
        await call.stasis_end(Event("StasisEnd", "ph-1"))
        return ctx, call
    ctx, call = asyncio.run(go())
    calls = ctx.ari.calls[2:]
    assert calls[0] == ("answer", "ph-1")
    assert calls[1] == ("post", "/bridges", {"type": "mixing", "bridgeId": "ph-1-br"})
    assert calls[2] == ("post", "/bridges/ph-1-br/addChannel", {"channel": "ph-1,ph-1-pstn"})
    assert ("hangup", "ph-1-pstn", "normal") in calls and ("delete", "/bridges/ph-1-br") in calls
    assert call.done
