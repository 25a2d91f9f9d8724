"""A console call whose two channels die at once (the agent hangs up, the contact's BYE crosses
it, or ChannelDestroyed of the second leg arrives before the hang-up request's answer) must
still release the agent: wrap-up and the disposition form, never a session left on_call with
no call. The ConsoleCall is driven with fakes of its collaborators; no Asterisk here."""
from __future__ import annotations

import asyncio

from voxcast.agents import states
from voxcast.console import dialing, live

from ari_app.flows.manual_dial import ConsoleCall, ConsoleLeg, Phase
from ari_app.tasks import TaskSet


class FakeWriter:
    def __init__(self):
        self.jobs: list[tuple] = []

    async def run(self, func, *args, **kw):
        self.jobs.append((func, args, kw))
        await asyncio.sleep(0)  # a writer job takes a turn of the loop, at least
        return True

    def post(self, func, *args, **kw):
        self.jobs.append((func, args, kw))


class FakeAri:
    def __init__(self):
        self.hung_up: list[str] = []

    async def hangup(self, channel_id, reason="normal"):
        self.hung_up.append(channel_id)

    async def post(self, path, **kw):
        return {}

    async def delete(self, path, **kw):
        return {}


class FakeRouter:
    def register(self, handler):
        pass

    def forget(self, channel_id):
        pass


class FakeChannels:
    def add(self, tenant_id, campaign_id):
        pass

    def remove(self, tenant_id, campaign_id):
        pass


class FakeCdrs:
    def finish_call(self, *args):
        pass


class Ctx:
    def __init__(self):
        self.writer, self.ari, self.router = FakeWriter(), FakeAri(), FakeRouter()
        self.channels, self.cdrs, self.tasks = FakeChannels(), FakeCdrs(), TaskSet()


def _talking_call(ctx) -> ConsoleCall:
    plan = dialing.DialPlan(tenant_id=1, user_id=2, session_id=3, extension="7001",
                            number="+15550100", caller_id="+15550199", campaign_id=None,
                            contact_id=None, wrapup_seconds=30)
    call = ConsoleCall(ctx, plan, 1)
    call.agent = ConsoleLeg(ctx, call, "agent", "vxc-3-1-a1", 10, 1)
    call.customer = ConsoleLeg(ctx, call, "customer", "vxc-3-1-c2", 11, 1)
    call.phase, call.dialled, call.agent_on_call = Phase.TALKING, True, True
    for leg in (call.agent, call.customer):
        leg.up = True
    return call


def _ended(ctx) -> list:
    return [args for func, args, _ in ctx.writer.jobs if func is states.call_ended]


def _published(ctx) -> list[str]:
    return [args[1] for func, args, _ in ctx.writer.jobs if func is live.publish]


def test_given_both_channels_destroyed_at_once_then_the_agent_goes_to_wrapup():
    async def scenario():
        ctx = Ctx()
        call = _talking_call(ctx)
        ended = []
        call.on_end = ended.append
        await asyncio.gather(call.customer.close(16, "Normal Clearing"),
                             call.agent.close(16, "Normal Clearing"))
        for _ in range(20):
            await asyncio.sleep(0)
        return ctx, call, ended

    ctx, call, ended = asyncio.run(scenario())
    assert _ended(ctx) == [(3, 30)]  # wrap-up of 30 s for session 3, once
    assert "ended" in _published(ctx)
    assert call.phase is Phase.ENDED and ended == [call]


def test_given_the_contact_hangs_up_then_the_agent_leg_is_hung_up_and_released():
    async def scenario():
        ctx = Ctx()
        call = _talking_call(ctx)
        await call.customer.close(16, "Normal Clearing")
        for _ in range(10):
            await asyncio.sleep(0)
        assert ctx.ari.hung_up == ["vxc-3-1-a1"]
        assert not call.done  # the agent's LegDown is still to come
        await call.agent.close(16, "Normal Clearing")
        for _ in range(10):
            await asyncio.sleep(0)
        return ctx, call

    ctx, call = asyncio.run(scenario())
    assert _ended(ctx) == [(3, 30)]
    assert call.done
