"""The composition root of the Stasis app: build() makes every collaborator once (writer,
admission gates, billing, meter, channel counter, router) and hands them to the flows and the
dialer through the AppContext; amain() runs the event socket, dialer and periodic tasks."""
from __future__ import annotations

import asyncio
import logging
import signal
from types import MappingProxyType

from models import init_database
from ari_app.channel_traces import channel_traces
from ari_app.cluster import Membership
from voxcast.cluster.limits import ClusterChannels
from models.migrations import require_current
from models.entities import utcnow
from voxcast.runtime import sip_guard
from voxcast.billing.call_credit import CallBilling
from voxcast.config import Settings

from voxcast.cdr import records as cdr
from voxcast.dialing import claims
from voxcast.dialing.admission import Admission, DncCheck
from ari_app.calls import ChannelCounter, Router
from voxcast.cdr.records import Cdrs
from voxcast.dialing.claims import Claims
from ari_app.client import AriClient, AriError
from ari_app.context import AppContext
from ari_app.dialer import FLOWS, Dialer
from ari_app.dids import DidDirectory
from ari_app.events import Event
from ari_app.flows.inbound import InboundCall, PhoneIvrCall
from ari_app.flows.phone_internal import PhoneInternalCall
from ari_app.flows.phone_out import PhoneOutCall
from ari_app.agent_pool import AgentPool
from ari_app.agent_commands import AgentCommands
from ari_app.flows.queue import QueueEntryCall
from ari_app.flows.monitor import MonitorCommands
from voxcast.acd import store as acd_store
from ari_app.heartbeat import heartbeat
from ari_app import metrics, suspension
from voxcast.runtime.status import set_status
from ari_app.leg import CallLeg
from ari_app.meter import CreditMeter
from ari_app.outbound import AMD_CONTEXT, OUTBOUND_CONTEXT, OutboundCall
from ari_app.tasks import TaskSet
from ari_app.writer import Writer

log = logging.getLogger("voxcast.app")


class OrphanCall(CallLeg):
    """A live call an earlier run placed that is no campaign call we can rebuild (inbound, or
    its campaign is gone): hang it up and close its CDR when Asterisk reports it ended."""

    await_close = True

    def __init__(self, ctx, call_id: int, channel_id: str, answered_at):
        super().__init__(ctx, channel_id, call_id=call_id)
        self.answered_at = answered_at
        self.rang = True

    async def channel_destroyed(self, event: Event) -> None:
        await self.close(event.cause, event.cause_txt or "ended while voxcast restarted")

    async def stasis_end(self, event: Event) -> None:  # dialplan channels stop here
        await self.channel_destroyed(event)


class Adoptions:
    """The CDRs an earlier run left open, by channel id, until each is adopted or closed. A
    call answered while the app was away waits in dialplan ([voxcast-outbound], [voxcast-amd])
    and enters Stasis as soon as the app is back, maybe before reconcile() has listed the
    channels: the router hands such a StasisStart (`outbound`/`amd` with no handler) to
    take_over, which gives the call its flow handler there and then."""

    def __init__(self, orphans=()):
        self.pending: dict[str, cdr.OpenCall] = {o.channel_id: o for o in orphans}

    def take_over(self, ctx, event: Event) -> CallLeg | None:
        orphan = self.pending.pop(event.channel_id, None)
        if orphan is None:
            return None  # a stranger: the router hangs it up
        handler = flow_handler(ctx, orphan)
        if handler is None:
            handler = OrphanCall(ctx, orphan.call_id, orphan.channel_id, orphan.answered_at)
            ctx.tasks.spawn(handler.safe_hangup(), f"orphan-{orphan.call_id}")
            return handler
        handler.take_slot()
        ctx.writer.post(claims.mark_placed, [orphan.call_id], utcnow())
        log.info("held call %s to %s back from dialplan", orphan.call_id, orphan.claim.phone)
        handler.held(orphan.answered_at or (utcnow() if event.args[0] == "amd" else None))
        return handler


def flow_handler(ctx, orphan: cdr.OpenCall):
    """The flow handler of an adopted campaign call, or None when it has none (inbound, or
    its campaign is gone)."""
    flow = FLOWS.get(orphan.plan.type) if orphan.plan and orphan.claim else None
    return flow(ctx, orphan.claim, orphan.plan) if flow is not None else None


def build(settings: Settings, ari: AriClient | None = None) -> AppContext:
    init_database(settings.db_url, node=settings.node)
    require_current()  # migrations are `voxcast initdb`'s, never run from here
    if ari is None:
        ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password(),
                        settings.ari_app_name)
    writer, tasks, billing = Writer(), TaskSet(), CallBilling()
    channels = ChannelCounter()
    gates = [DncCheck()]
    if settings.node:  # other nodes' calls count in the limits too (before any reservation)
        gates.append(ClusterChannels(settings.node, lambda: channels))
    admission = Admission([*gates, billing])
    router = Router()
    ctx = AppContext(settings, ari, writer, router, channels, tasks,
                     Claims(admission), Cdrs(admission), billing,
                     CreditMeter(writer, billing, tasks), DidDirectory(writer))
    if settings.node:
        ctx.cluster = Membership(ctx)
    router.ctx = ctx
    router.route_stasis("inbound", InboundCall)
    router.route_stasis("phone_out", PhoneOutCall)  # a phone's PSTN call, after the AGI's yes
    router.route_stasis("phone_internal", PhoneInternalCall)  # a phone calling its tenant's extension
    router.route_stasis("ivr", PhoneIvrCall)  # a phone dialled an IVR number
    ctx.agents = AgentPool(ctx)
    router.route_stasis("queue", QueueEntryCall)  # a phone dialled a queue number
    router.listen("DeviceStateChanged", ctx.agents.presence.on_device_state)
    ctx.console = AgentCommands(ctx)  # the agent console's commands (ARI user events)
    ctx.monitor = MonitorCommands(ctx)  # supervisors' listen / whisper / barge (user events)
    return ctx


async def reconcile(ctx: AppContext, adoptions: Adoptions) -> None:
    """After (re)connecting: close CDRs whose channels vanished meanwhile. `adoptions` holds
    the CDRs an earlier run of the app left open: those still up are adopted, the others
    closed now."""
    clock = asyncio.get_running_loop().time
    began = clock()
    await single_forwards(ctx)
    forwards = clock() - began
    try:
        live = {c["id"]: c for c in await ctx.ari.get("/channels")}
    except AriError as exc:
        log.warning("cannot list channels: %s", exc)
        return
    listed = clock() - began
    now = asyncio.get_running_loop().time()
    for handler in ctx.router.handlers():
        if now - handler.created < 5 or handler.settling:  # originated after the listing,
            continue  # or an originate whose answer was lost: it reads Asterisk's record itself
        if handler.channel_id not in live and hasattr(handler, "channel_destroyed"):
            handler.enqueue(Event(type="ChannelDestroyed", channel_id=handler.channel_id,
                                  cause_txt="channel lost while ARI was disconnected"))
    found, traced = await channel_traces(
        ctx, [o for o in adoptions.pending.values() if o.channel_id not in live])
    traces, adopted = clock() - began, len(adoptions.pending)
    while adoptions.pending:  # popped before any await: take_over never gets it as well
        _, orphan = adoptions.pending.popitem()
        await adopt(ctx, orphan, live, found, traced)
    log.info("reconcile phases (s since it began): forwards %.2f, channels listed %.2f (%d), "
             "traces %.2f, %d adopted or closed %.2f", forwards, listed, len(live), traces,
             adopted, clock() - began)


ALL_CHANNELS = "__AST_CHANNEL_ALL_TOPIC"  # the `channel:` forward's id (res/stasis/app.c)
FORWARD_COUNTS_MAX = 4


async def single_forwards(ctx: AppContext) -> None:
    """Once subscribed to `channel:` every channel's events reach the app once. A channel that
    entered Stasis between the socket's connect (Asterisk registers the app afresh) and that
    subscription got its own forward too (app_subscribe_channel adds none once `channel:`
    exists), so its events (DTMF, PlaybackFinished) would come twice: its own is dropped."""
    try:
        app = await ctx.ari.get(f"/applications/{ctx.ari.app}")
    except AriError as exc:
        log.warning("cannot read the app's subscriptions: %s", exc)
        return
    ids = app.get("channel_ids") or []
    if ALL_CHANNELS not in ids:
        log.error("not subscribed to every channel: calls answered before StasisStart are lost")
        return
    for channel_id in ids:
        # Each subscription of the channel counts (originate, StasisStart): drop them all.
        for _ in range(FORWARD_COUNTS_MAX) if channel_id != ALL_CHANNELS else ():
            try:
                await ctx.ari.delete(f"/applications/{ctx.ari.app}/subscription",
                                     eventSource=f"channel:{channel_id}")
            except AriError:  # no forward of its own left (or the channel is gone)
                break


HOLD_GRACE_S = 2.0  # a held call seen entering Stasis: its StasisStart is on its way
HELD_S = MappingProxyType({OUTBOUND_CONTEXT: 6.0,  # the dialplan's hold (5 s) and a margin
                           AMD_CONTEXT: 40.0})  # AMD, WaitForSilence (20 s) and the hold


async def adopt(ctx: AppContext, orphan: cdr.OpenCall, live: dict[str, dict],
                found: dict | None = None, traced: bool = True) -> None:
    """A CDR an earlier run left open. Its channel still up: a campaign call gets its flow
    handler back (counted in the channel limits; a call still ringing, or answered and held in
    dialplan until the app is back, goes on as if nothing happened), anything else is hung
    up; either way the CDR is closed when Asterisk reports the end. Channel gone: closed now
    (Cdrs.close_lost tells never-placed from lost, with Asterisk's record of the channel in
    `found`)."""
    if orphan.channel_id not in live:
        disp = await ctx.writer.run(ctx.cdrs.close_lost, orphan.call_id, utcnow(),
                                    (found or {}).get(orphan.channel_id), traced)
        log.info("call %s ended while voxcast was down: %s", orphan.call_id, disp)
        return
    channel = live[orphan.channel_id]
    handler = flow_handler(ctx, orphan)
    if handler is None:
        handler = OrphanCall(ctx, orphan.call_id, orphan.channel_id, orphan.answered_at)
    # Registered before the first await: a StasisStart arriving meanwhile finds it.
    ctx.router.register(handler)
    try:  # the app's `channel:` subscription covers it; this checks it still exists
        await ctx.ari.post(f"/applications/{ctx.ari.app}/subscription",
                           eventSource=f"channel:{orphan.channel_id}")
    except AriError as exc:  # ended between the listing and now
        log.info("call %s gone before adoption (%s)", orphan.call_id, exc)
        if not handler.done:
            ctx.router.forget(orphan.channel_id)
            found, traced = await channel_traces(ctx, [orphan])
            await ctx.writer.run(ctx.cdrs.close_lost, orphan.call_id, utcnow(),
                                 found.get(orphan.channel_id), traced)
        return
    if isinstance(handler, OrphanCall):
        await handler.safe_hangup()
        return
    handler.take_slot()
    await ctx.writer.run(claims.mark_placed, [orphan.call_id], utcnow())
    dialplan = channel.get("dialplan") or {}
    context = dialplan.get("context", "")
    in_stasis = dialplan.get("app_name") == "Stasis"
    answered_at = orphan.answered_at
    if channel.get("state") == "Up" and context in HELD_S and not (answered_at and in_stasis):
        # Answered while we were away and held in dialplan (or just entering Stasis): its
        # StasisStart comes to this handler. After AMD the answer is past.
        if context == AMD_CONTEXT:
            answered_at = answered_at or utcnow()
        log.info("adopted held call %s to %s (%s %s)", orphan.call_id, orphan.claim.phone,
                 context, dialplan.get("app_name"))
        handler.held(answered_at)
        ctx.tasks.spawn(_unless_back(handler, HOLD_GRACE_S if in_stasis else HELD_S[context]),
                        f"held-{orphan.call_id}")
        return
    if answered_at is None and channel.get("state") == "Up":
        # Answered, but the answer was not written before the crash (or came while we were
        # down): its StasisStart is past, so waiting for it would keep the call forever.
        answered_at = utcnow()
    log.info("adopted live call %s to %s", orphan.call_id, orphan.claim.phone)
    await handler.adopted(answered_at)


async def _unless_back(handler: OutboundCall, seconds: float) -> None:
    """A held call whose StasisStart does not come (it was in Stasis of the earlier run, not
    entering it): its flow is lost with the crash, as for any answered adopted call."""
    await asyncio.sleep(seconds)
    if handler.holding and not handler.done:
        await handler.adopted(handler.answered_at or utcnow())


async def recurring_charges(ctx: AppContext, every: float = 3600) -> None:
    """Monthly DID fees, checked hourly (idempotent per DID and month), and the
    subscriptions' sweep: unpaid ones suspended after their grace days, terminated after the
    set days (voxcast.packages.subscriptions.sweep; PJSIP re-synced after a termination)."""
    from voxcast.billing import recurring
    from voxcast.numbers import pool as pool_service
    from voxcast.packages import subscriptions
    while True:
        try:
            await ctx.writer.run(recurring.charge_did_fees)
        except Exception:
            log.exception("recurring charges failed; retrying in an hour")
        try:
            done = await ctx.writer.run(subscriptions.sweep,
                                        sounds_dir=ctx.settings.sounds_dir)
            if done.suspended or done.terminated:
                log.info("subscriptions: suspended %s, terminated %s",
                         done.suspended, done.terminated)
            if done.terminated:
                await asyncio.to_thread(pool_service.sync_pjsip, ctx.settings)
        except Exception:
            log.exception("subscription sweep failed; retrying in an hour")
        await asyncio.sleep(every)


async def amain(settings: Settings) -> None:
    ctx = build(settings)
    if ctx.cluster is not None:  # a survivor may be closing what this node left open
        await ctx.cluster.join()
    # Before the dialer opens new ones, and before the socket connects: a held call may
    # enter Stasis at once.
    adoptions = Adoptions(await ctx.writer.run(cdr.open_calls))
    ctx.router.route_stasis("outbound", adoptions.take_over)
    ctx.router.route_stasis("amd", adoptions.take_over)
    # Every channel's events, from its creation: campaign calls are originated into dialplan
    # (not into the app), and their ChannelDestroyed before an answer closes their CDR.
    await ctx.ari.subscribe("channel:")
    # Agents' phones registered, idle or in use (presence for the ACD): device states only,
    # as an `endpoint:` subscription would forward every channel's events a second time.
    # Agents an earlier run left ringing or on a call are ready again (those calls are gone).
    await ctx.ari.subscribe("deviceState:")
    await ctx.writer.run(acd_store.reset_after_restart)
    # Reservations of an earlier run: released, or settled with their closed CDRs.
    await ctx.writer.run(ctx.billing.reconcile)
    recovered = asyncio.Event()

    async def on_state(up: bool) -> None:
        clock = asyncio.get_running_loop().time
        began = clock()
        if up:
            ctx.metrics.connected()
        await ctx.writer.run(set_status, "ari", "connected" if up else "down")
        if up:
            status = clock() - began
            await ctx.agents.presence.refresh(ctx.ari)
            presence = clock() - began
            pending = len(adoptions.pending)
            await reconcile(ctx, adoptions)
            log.info("recovered in %.2f s: status %.2f, presence %.2f, reconcile %.2f "
                     "(%d open CDRs of an earlier run)", clock() - began, status, presence,
                     clock() - began - presence, pending)
            recovered.set()

    async def dial_when_recovered() -> None:
        await recovered.wait()
        await Dialer(ctx).run()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = ctx.tasks
    tasks.spawn(ctx.ari.run_events(ctx.router.dispatch, on_state), "ari-events")
    tasks.spawn(dial_when_recovered(), "dialer")
    tasks.spawn(heartbeat(ctx.writer, ctx.ari.connected), "heartbeat")
    if ctx.cluster is not None:
        tasks.spawn(ctx.cluster.run(), "cluster-membership")
    tasks.spawn(recurring_charges(ctx), "recurring-charges")
    tasks.spawn(suspension.watch(ctx), "suspension-watch")  # a suspended tenant's calls end
    tasks.spawn(sip_guard.watch(settings, ctx.writer.run), "sip-guard")
    tasks.spawn(ctx.agents.run(), "acd-dispatcher")
    tasks.spawn(ctx.agents.sweep_wrapups(), "acd-wrapups")
    metrics_server = None
    if settings.metrics_port:
        ctx.metrics.watch(ctx.channels, ctx.writer)
        try:
            metrics_server = await metrics.serve(ctx, settings.metrics_port)
        except OSError as exc:  # calls matter more than metrics: run on without them
            log.error("metrics and health not served on 127.0.0.1:%s: %s",
                      settings.metrics_port, exc)
    log.info("voxcast Stasis app '%s' started (ARI %s)", settings.ari_app_name, settings.ari_url)
    await stop.wait()
    if metrics_server is not None:
        await metrics_server.cleanup()
    log.info("stopping; ARI messages received: %s",
             ", ".join(f"{k} {n}" for k, n in ctx.ari.received.most_common()) or "none")
    await tasks.cancel_all()
    await ctx.writer.run(set_status, "ari", "down")
    if ctx.cluster is not None:
        await ctx.cluster.leave()
    await ctx.ari.close()
    ctx.writer.close()


def run(settings: Settings) -> None:
    try:
        import uvloop
        uvloop.run(amain(settings))
    except ImportError:  # pragma: no cover
        asyncio.run(amain(settings))
