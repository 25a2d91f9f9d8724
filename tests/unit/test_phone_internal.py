"""The phone_internal flow (ari_app/flows/phone_internal.py) with fakes for its collaborators:
a call to another extension of the tenant is checked again, counted in the tenant's channel
limit and recorded on the called leg's CDR; an unregistered phone is not dialled (480 to the
caller), a busy one's cause is passed on, and a refusal plays its prompt first."""
from __future__ import annotations

import asyncio

from ari_app.events import Event
from ari_app.flows.phone_internal import PhoneInternalCall
from voxcast.phones.routing import Route

from .test_phone_out import _ctx

INTERNAL = Route("internal", "8102", tenant_id=3)


class Writer:
    def __init__(self, route=INTERNAL, limit=5):
        self.route, self.limit, self.ran = route, limit, []

    async def run(self, func, *args):
        self.ran.append((func.__name__, args))
        if func.__name__ == "prepare_pstn":
            return self.route, self.limit
        if func.__name__ == "open_internal_call":
            return 91
        if func.__name__ == "finish_call":
            return "BUSY"
        raise AssertionError(func.__name__)

    def post(self, func, *args):
        self.ran.append((func.__name__, args))


def _internal(route=INTERNAL, limit=5, state="online"):
    ctx = _ctx()
    ctx.writer = Writer(route, limit)
    ctx.ari.endpoint_state = state
    call = PhoneInternalCall(ctx, Event("StasisStart", "ph-1",
                                        args=("phone_internal", "8101", "8102")))
    return ctx, call


def test_the_called_extension_rings_counted_and_recorded_and_its_busy_reaches_the_caller():
    async def go():
        ctx, call = _internal()
        await call.stasis_start(Event("StasisStart", "ph-1"))
        placed, counted, leg = list(ctx.ari.calls), ctx.channels.by_tenant[3], call.leg
        await leg.channel_destroyed(Event("ChannelDestroyed", leg.channel_id, cause=17))
        await call.transfer_ended(Event("TransferEnded", "ph-1", target_channel_id=leg.channel_id))
        return ctx, placed, counted
    ctx, placed, counted = asyncio.run(go())
    assert placed == [("get", "/endpoints/PJSIP/8102"), ("post", "/channels/ph-1/ring", {}),
                      ("originate", "PJSIP/8102", "ph-1-ext", "8101")]
    assert ("open_internal_call", (3, "8101", "8102", "ph-1-ext")) in ctx.writer.ran
    assert counted == 1 and ctx.channels.total == 0
    assert ctx.ari.calls[-1] == ("hangup", "ph-1", "busy")
    assert [name for name, _ in ctx.writer.ran] == ["prepare_pstn", "open_internal_call",
                                                    "finish_call"]


def test_an_unregistered_phone_is_not_dialled_and_the_caller_gets_subscriber_absent():
    async def go():
        ctx, call = _internal(state="offline")
        await call.stasis_start(Event("StasisStart", "ph-1"))
        await call.transfer_ended(Event("TransferEnded", "ph-1",
                                        target_channel_id="ph-1-ext"))
        return ctx
    ctx = asyncio.run(go())
    assert not [c for c in ctx.ari.calls if c[0] == "originate"]
    finish = [args for name, args in ctx.writer.ran if name == "finish_call"]
    assert finish and finish[0][3] == 20 and finish[0][4] == "not registered"
    assert ctx.ari.calls[-1] == ("delete", "/channels/ph-1") and ctx.channels.total == 0


def test_over_the_channel_limit_or_not_internal_any_more_refused_with_the_prompt():
    async def go():
        out = []
        for route, limit, why in ((INTERNAL, 1, "congestion"),
                                  (Route("refuse", reason="not_allowed", tenant_id=3), 5,
                                   "rejected")):
            ctx, call = _internal(route, limit)
            ctx.channels.add(3)  # a call of the tenant already up
            await call.stasis_start(Event("StasisStart", "ph-1"))
            await call.playback_finished(Event("PlaybackFinished", "ph-1",
                                               playback_id="ph-1-refusal"))
            out.append((ctx, why))
        return out
    for ctx, why in asyncio.run(go()):
        assert ctx.ari.calls == [("post", "/channels/ph-1/progress", {}),
                                 ("play", "ph-1", "sound:vx-not-allowed", "ph-1-refusal"),
                                 ("hangup", "ph-1", why)]
        assert [name for name, _ in ctx.writer.ran] == ["prepare_pstn"]
