"""The AgentPool's call control (ari_app.agent_pool) on a real database and writer thread,
with a fake ARI that records the requests and lets the test play Asterisk's events: an agent
answering, a phone not answering, a caller giving up."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from models import Call, Tenant
from models.entities import AgentSession, Queue, QueueMember
from voxcast.acd import store
from voxcast.agents import sessions
from voxcast.cdr.records import Cdrs
from voxcast.dialing.admission import Admission

from ari_app.agent_pool import AgentPool
from ari_app.calls import ChannelCounter, Router
from ari_app.events import Event
from ari_app.tasks import TaskSet
from ari_app.writer import Writer

from .agents_support import extension_number, make_agent
from .test_writer_and_meter import _run


class FakeAri:
    def __init__(self):
        self.requests: list[tuple] = []
        self.originated: asyncio.Queue = asyncio.Queue()
        self.connected = asyncio.Event()
        self.gate: asyncio.Event | None = None  # set: originates wait for it

    async def originate(self, endpoint, channel_id, app_args, caller_id="", timeout=30,
                        variables=None):
        self.originated.put_nowait((endpoint, channel_id))
        if self.gate is not None:
            await self.gate.wait()
        self.requests.append(("originate", endpoint, channel_id))

    async def post(self, path, **params):
        self.requests.append(("POST", path, params))

    async def delete(self, path, **params):
        self.requests.append(("DELETE", path))

    async def hangup(self, channel_id, reason="normal"):
        self.requests.append(("hangup", channel_id))


class Customer:
    def __init__(self, call_id):
        self.channel_id, self.call_id, self.tenant_id = "cust-1", call_id, None


def _world(db):
    tenant = Tenant.create(name="pool", slug="pool", agent_max_missed=3)
    a, b = make_agent(tenant, "pool-a"), make_agent(tenant, "pool-b")
    queue = Queue.create(tenant=tenant, name="q", ring_seconds=5)
    for user in (a, b):
        QueueMember.create(tenant=tenant, queue=queue, user=user)
    sa = sessions.login(tenant.id, a.id)
    sb = sessions.login(tenant.id, b.id)
    customer = Call.create(tenant=tenant, direction="inbound", number="+4930555",
                           channel_id="cust-1")
    tenant_id = tenant.id
    plan = store.enter_queue(tenant_id, queue.id, customer.id, "+4930555").plan
    return tenant_id, plan, customer.id, (a, sa), (b, sb)


def _pool(usable):
    ari = FakeAri()
    ctx = SimpleNamespace(writer=Writer(), cdrs=Cdrs(Admission([])), channels=ChannelCounter(),
                          router=Router(), tasks=TaskSet(), ari=ari)
    ctx.router.ctx = ctx
    pool = AgentPool(ctx)
    for ext in usable:
        pool.presence.update({"technology": "PJSIP", "resource": ext, "state": "online"})
    ctx.tasks.spawn(pool.run(), "dispatcher")
    return pool, ctx, ari


def _state(session) -> AgentSession:
    return AgentSession.get_by_id(session.id)


async def _settle(ctx):
    await ctx.writer.run(lambda: None)  # every post before it has run


def test_the_agent_answers_and_the_call_is_bridged_then_the_caller_hangs_up(db):
    tenant_id, plan, call_id, (a, sa), (b, sb) = _world(db)

    async def go():
        pool, ctx, ari = _pool([extension_number(a), extension_number(b)])
        customer = Customer(call_id)
        task = asyncio.ensure_future(pool.connect(customer, tenant_id, queue=plan,
                                                  ring_seconds=5, wrapup_seconds=0,
                                                  caller="+4930555"))
        endpoint, leg_id = await asyncio.wait_for(ari.originated.get(), 5)
        ctx.router.dispatch(Event("StasisStart", leg_id, args=("agent",)))
        bridge = await asyncio.wait_for(task, 5)
        assert pool.bridges[sa.id] is bridge
        await _settle(ctx)
        talking = _state(sa).state
        await bridge.customer_gone()
        ctx.router.dispatch(Event("ChannelDestroyed", leg_id, cause=16))
        await asyncio.sleep(0.05)
        await _settle(ctx)
        await ctx.tasks.cancel_all()
        ctx.writer.close()
        return endpoint, leg_id, bridge, talking, ari.requests

    endpoint, leg_id, bridge, talking, requests = _run("asyncio", go())
    assert endpoint == f"PJSIP/{extension_number(a)}"  # the longest idle
    assert talking == "on_call"
    assert ("POST", f"/bridges/{bridge.bridge_id}/addChannel",
            {"channel": f"cust-1,{leg_id}", "inhibitConnectedLineUpdates": "true"}) in requests
    assert ("hangup", leg_id) in requests and ("hangup", "cust-1") not in requests
    assert _state(sa).state == "ready"  # no wrap-up
    leg = Call.get_by_id(bridge.agent_call_id)
    assert leg.disposition == "ANSWERED" and leg.agent_id == a.id


def test_no_answer_offers_the_next_agent_and_a_cancel_withdraws_the_offer(db):
    tenant_id, plan, call_id, (a, sa), (b, sb) = _world(db)

    async def go():
        pool, ctx, ari = _pool([extension_number(a), extension_number(b)])
        task = asyncio.ensure_future(pool.connect(Customer(call_id), tenant_id, queue=plan,
                                                  ring_seconds=5))
        _, first = await asyncio.wait_for(ari.originated.get(), 5)
        ctx.router.dispatch(Event("ChannelDestroyed", first, channel_state="Ringing", cause=19))
        second_endpoint, second = await asyncio.wait_for(ari.originated.get(), 5)
        await _settle(ctx)
        missed = _state(sa).missed_in_row
        task.cancel()  # the caller hung up
        await asyncio.sleep(0.05)
        ctx.router.dispatch(Event("ChannelDestroyed", second, cause=16))
        await asyncio.sleep(0.05)
        await _settle(ctx)
        await ctx.tasks.cancel_all()
        ctx.writer.close()
        return second_endpoint, second, missed, ari.requests, task

    second_endpoint, second, missed, requests, task = _run("asyncio", go())
    assert second_endpoint == f"PJSIP/{extension_number(b)}"
    assert missed == 1
    assert task.cancelled() and ("hangup", second) in requests
    assert _state(sb).state == "ready" and _state(sb).missed_in_row == 0


def test_nobody_usable_gives_up_after_the_time_given(db):
    tenant_id, plan, call_id, *_ = _world(db)

    async def go():
        pool, ctx, ari = _pool([])  # no phone registered
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await pool.connect(Customer(call_id), tenant_id, queue=plan,
                                    give_up_after=0.6)
        took = loop.time() - start
        now = await pool.connect(Customer(call_id), tenant_id, queue=plan, give_up_after=0)
        await ctx.tasks.cancel_all()
        ctx.writer.close()
        return result, took, now, pool.waiting, ari.requests

    result, took, now, waiting, requests = _run("asyncio", go())
    assert result is None and now is None and 0.5 <= took < 1.5
    assert waiting == {} and requests == []


def test_an_offer_withdrawn_while_its_originate_runs_is_hung_up_once_the_channel_exists(db):
    tenant_id, plan, call_id, (a, sa), _ = _world(db)

    async def go():
        pool, ctx, ari = _pool([extension_number(a)])
        ari.gate = asyncio.Event()
        result = asyncio.ensure_future(pool.connect(Customer(call_id), tenant_id, queue=plan,
                                                    give_up_after=0.3))
        _, leg_id = await asyncio.wait_for(ari.originated.get(), 5)
        assert await asyncio.wait_for(result, 5) is None  # gave up, originate still running
        before = list(ari.requests)
        ari.gate.set()
        await asyncio.sleep(0.05)
        after = list(ari.requests)
        ctx.router.dispatch(Event("ChannelDestroyed", leg_id, cause=16))
        await asyncio.sleep(0.05)
        await _settle(ctx)
        await ctx.tasks.cancel_all()
        ctx.writer.close()
        return leg_id, before, after

    leg_id, before, after = _run("asyncio", go())
    assert ("hangup", leg_id) not in before  # no channel yet: a hang-up would do nothing
    assert after[-2:] == [("originate", f"PJSIP/{extension_number(a)}", leg_id),
                          ("hangup", leg_id)]
    assert _state(sa).state == "ready" and _state(sa).missed_in_row == 0
