"""The campaign dialer: claims due contacts from the database and places their calls within
every channel limit (campaign, tenant including its inbound calls, provider) and the
calls-per-second cap, inside the calling windows. Its state lives in the database, so the
web UI controls it by changing a campaign's status and a restart carries on where it stopped.

Whether a claimed call may be placed at all (DNC, credit) is decided by the admission gates
of `ctx.claims` inside the claim transaction."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from types import MappingProxyType

from models.entities import utcnow
from voxcast.campaigns import lifecycle
from voxcast.campaigns.lifecycle import Cause

from voxcast.dialing import campaign_plans
from voxcast.dialing import claims
from voxcast.dialing.campaign_plans import CampaignPlan, closed_reason
from ari_app.agent_pool import SWEEP_S
from ari_app.context import AppContext
from ari_app.flows.fax_send import FaxSendCall
from voxcast.messaging.fax import records as fax_records
from ari_app.flows.interactive import InteractiveCall
from ari_app.flows.voice_agent import GIVE_UP_S, VoiceAgentCall
from ari_app.flows.voice_message import VoiceMessageCall
from ari_app.meter import Resumer
from ari_app.outbound import OutboundCall
from voxcast.dialing import predictive, voice_agent
from voxcast.dialing.pacing import TokenBucket, agent_lines, free_slots

log = logging.getLogger("voxcast.dialer")

# Campaign type -> the flow its calls follow once answered.
FLOWS: MappingProxyType[str, type[OutboundCall]] = MappingProxyType({
    "voice_message": VoiceMessageCall,
    "voice_interactive": InteractiveCall,
    "voice_ivr": InteractiveCall,
    "voice_survey": InteractiveCall,
    "appointment_reminder": InteractiveCall,
    "voice_agent": VoiceAgentCall,
    "fax": FaxSendCall,  # SendFAX in dialplan once answered (ari_app.flows.fax_send)
})
# SMS and e-mail campaigns are the messaging process's (messaging_app); fax is dialled here.
MESSAGING_TYPES = frozenset({"sms", "email"})
# Types whose calls play Campaign.message_file: they cannot run without it.
NEEDS_MESSAGE = frozenset({"voice_message", "voice_interactive"})  # survey, reminder and IVR speak their own prompts


class Dialer:
    def __init__(self, ctx: AppContext, max_channels: int | None = None, max_cps: float | None = None,
                 tick: float = 0.1):
        self.ctx = ctx
        self.max_channels = max_channels or int(os.environ.get("VOXCAST_MAX_CHANNELS", 500))
        cps = max_cps or float(os.environ.get("VOXCAST_MAX_CPS", 50))
        self.cps = cps  # the provider's cap; in a cluster each node dials its share of it
        self.bucket = TokenBucket(rate=cps, burst=max(1.0, cps / 10))
        self.tick = tick
        self._reasons: dict[int, Cause | None] = {}
        self._recording_ok: dict[int, tuple[float, bool]] = {}
        self._turn = 0
        # Campaigns paused for credit go back to running after a top-up.
        self.resumer = Resumer(ctx.writer, ctx.billing)
        self._plans: list[CampaignPlan] = []
        self._plans_until = 0.0
        # Voice Agent campaigns: ready (and registered) agents, read every READY_TTL_S or
        # at once after one of its calls got an agent or ended; its calls still looking for one.
        self._ready: dict[int, tuple[float, int]] = {}
        self._agent_calls: dict[int, set[VoiceAgentCall]] = {}
        # Predictive campaigns: their agents' snapshot (as _ready) and the figures of their
        # finished calls, read every HISTORY_TTL_S (the whole run's totals incrementally).
        self._snapshots: dict[int, tuple[float, voice_agent.AgentSnapshot]] = {}
        self._history: dict[int, tuple[float, predictive.CampaignHistory]] = {}
        self._totals: dict[int, voice_agent.AbandonTotals] = {}
        self._published: dict[int, float] = {}

    PLANS_TTL_S = 1.0  # how often the running campaigns are read again (claims re-check status)

    async def _running(self) -> list[CampaignPlan]:
        """Running campaigns, read once a second rather than every tick: a start in the UI is
        picked up within a second, and a pause or suspension at once, since claim_due only
        claims for a campaign that is running at that moment."""
        now = time.monotonic()
        if now >= self._plans_until:
            self._plans = await self.ctx.writer.run(campaign_plans.running_campaigns)
            self._plans_until = now + self.PLANS_TTL_S
        return self._plans

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                self.ctx.metrics.dialer_errors.inc()
                log.exception("dialer step failed; retrying")
                await asyncio.sleep(1)
            await asyncio.sleep(self.tick)

    READY_TTL_S = 0.5

    async def _ready_agents(self, plan: CampaignPlan) -> tuple[int, int]:
        """(the campaign's agents in "ready" whose phone is registered here (the ACD's
        presence), those ready on any node): a node dials only for the agents it can reach."""
        now = time.monotonic()
        hit = self._ready.get(plan.id)
        if hit is None or hit[0] < now:
            extensions = await self.ctx.writer.run(voice_agent.ready_extensions,
                                                   plan.tenant_id, plan.agent_ids)
            agents = getattr(self.ctx, "agents", None)
            ready = sum(1 for ext in extensions if agents is not None and agents.registered(ext))
            hit = self._ready[plan.id] = (now + self.READY_TTL_S, (ready, len(extensions)))
        return hit[1]

    HISTORY_TTL_S = 5.0

    async def _predictive_lines(self, plan: CampaignPlan) -> tuple[int, int, int, int]:
        """(ready agents, working agents, lines to dial now, working agents on any node) of a
        predictive campaign (working: ready, on a call or in a timed wrap-up; it may dial while
        none is ready yet, for those about to be; only agents whose phone is registered on
        this node count, so a node without them never dials for them): its agents' states, its
        own calls still ringing (and how long) or waiting for an agent, and the figures of its
        finished calls go to voxcast.dialing.predictive.decide."""
        mono = time.monotonic()
        snap = self._snapshots.get(plan.id)
        if snap is None or snap[0] < mono:
            got = await self.ctx.writer.run(voice_agent.agent_snapshot, plan.tenant_id,
                                            plan.agent_ids)
            snap = self._snapshots[plan.id] = (mono + self.READY_TTL_S, got)
        hist = self._history.get(plan.id)
        if hist is None or hist[0] < mono:
            now = utcnow()
            totals = await self.ctx.writer.run(voice_agent.abandon_totals, plan.tenant_id,
                                               plan.id, self._totals.get(plan.id), now)
            self._totals[plan.id] = totals
            got = await self.ctx.writer.run(voice_agent.campaign_history, plan.tenant_id,
                                            plan.id, totals, now)
            hist = self._history[plan.id] = (mono + self.HISTORY_TTL_S, got)
        agents = getattr(self.ctx, "agents", None)
        anywhere = snap[1].working
        snapshot = snap[1].registered_here(
            lambda ext: ext is not None and agents is not None and agents.registered(ext))
        ready = len(snapshot.ready_extensions)
        calls = self._agent_calls.get(plan.id, set())
        calls -= {c for c in calls if c.done or not c.waiting}
        now = utcnow()
        figures = predictive.LiveFigures(
            ready=ready,
            on_call_elapsed=tuple(max(0.0, (now - s).total_seconds())
                                  for s in snapshot.on_call_since),
            # the ACD's sweep ends a wrap-up up to SWEEP_S after its time
            wrapup_left=tuple(max(0.0, (u - now).total_seconds()) + SWEEP_S
                              for u in snapshot.wrapup_until),
            ringing_elapsed=tuple(mono - c.created for c in calls if c.queue_call_id is None),
            waiting=sum(1 for c in calls if c.queue_call_id is not None),
            history=hist[1])
        decision = predictive.decide(predictive.PacingSettings(
            "predictive", plan.dial_ratio, plan.abandon_cap_pct,
            plan.wrapup_seconds + (SWEEP_S if plan.wrapup_seconds else 0.0),  # as it ends
            GIVE_UP_S - predictive.AGENT_ANSWER_S),
            figures)
        # the node with the agents tells the campaign page, every 5 s (not a node without)
        elsewhere = figures.agents == 0 and anywhere > 0 and \
            getattr(self.ctx, "cluster", None) is not None
        if not elsewhere and self._published.get(plan.id, 0.0) < mono:
            self._published[plan.id] = mono + self.HISTORY_TTL_S
            self.ctx.writer.post(voice_agent.publish_pacing, plan.id, {
                "level": decision.level, "mode": decision.mode, "lines": decision.lines,
                "target_pct": decision.target_pct})
        return ready, figures.agents, decision.lines, anywhere

    def _live_agent_calls(self, campaign_id: int) -> int:
        calls = self._agent_calls.get(campaign_id)
        if not calls:
            return 0
        calls -= {c for c in calls if c.done or not c.waiting}
        return len(calls)

    def _agent_settled(self, campaign_id: int, handler: VoiceAgentCall) -> None:
        """A call of the campaign got its agent or ended: no longer a line looking for one,
        and the ready agents are counted again."""
        self._agent_calls.get(campaign_id, set()).discard(handler)
        self._ready.pop(campaign_id, None)
        self._snapshots.pop(campaign_id, None)

    async def _reason(self, plan: CampaignPlan, reason: Cause | None) -> None:
        """Tell the UI why a running campaign is not dialing (or not recording), once per change."""
        if self._reasons.get(plan.id, ...) != reason:  # ...: not told yet since start
            self._reasons[plan.id] = reason
            if reason:
                log.warning("campaign %s (%s): %s", plan.id, plan.name, reason.text())
            await self.ctx.writer.run(lifecycle.note, plan.id, reason)

    async def _may_record(self, plan: CampaignPlan) -> bool:
        """Recording is refused while the tenant is over its disk quota (checked every 30 s)."""
        if not plan.record:
            return False
        now = time.monotonic()
        hit = self._recording_ok.get(plan.tenant_id)
        if hit is None or hit[0] < now:
            ok = await self.ctx.writer.run(campaign_plans.recording_allowed, plan.tenant_id,
                                          str(self.ctx.settings.recordings_dir),
                                          str(self.ctx.settings.sounds_dir))
            hit = self._recording_ok[plan.tenant_id] = (now + 30, ok)
        return hit[1]

    ORPHANS_EVERY_S = 30.0
    _orphans_at = 0.0

    async def _fax_orphans(self) -> None:
        """Fax attempts whose call ended while the app was away: closed (failed, retried)."""
        now = time.monotonic()
        if now >= self._orphans_at:
            self._orphans_at = now + self.ORPHANS_EVERY_S
            closed = await self.ctx.writer.run(fax_records.close_orphans)
            if closed:
                log.info("%s fax attempts lost with an earlier run closed as failed", closed)

    async def step(self) -> None:
        await self.resumer.tick()
        await self._fax_orphans()
        plans = await self._running()
        if plans:  # take turns at the shared calls-per-second budget
            self._turn = (self._turn + 1) % len(plans)
            plans = plans[self._turn:] + plans[:self._turn]
        channels = self.ctx.channels
        cluster = self.ctx.cluster
        remote_tenant, remote_campaign = await cluster.remote() if cluster else ({}, {})
        if cluster is not None:
            self.bucket.rate = cluster.cps_share(self.cps)
        now = utcnow()
        for plan in plans:
            if plan.type in MESSAGING_TYPES:  # sent by `voxcast messaging`, not dialled
                continue
            if not self.ctx.ari.connected.is_set():
                await self._reason(plan, Cause("ari_down"))
                continue
            if plan.type not in FLOWS:
                await self.ctx.writer.run(lifecycle.pause_for, plan.id,
                                         Cause("type_not_dialable", {"type": plan.type}))
                continue
            sound = self.ctx.settings.sounds_dir / f"{plan.message_file}.wav"
            if plan.type in NEEDS_MESSAGE and (not plan.message_file or not sound.exists()):
                msg = Cause("message_missing", {"name": plan.message_file or "(none)"})
                log.error("campaign %s: %s", plan.id, msg.text())
                await self.ctx.writer.run(lifecycle.pause_for, plan.id, msg)
                continue
            if plan.type == "fax" and plan.fax_document_id is None:
                await self.ctx.writer.run(lifecycle.pause_for, plan.id,
                                          Cause("message_missing", {"name": "(fax document)"}))
                continue
            closed = closed_reason(plan, now)
            if closed:
                await self._reason(plan, closed)
                continue
            record = await self._may_record(plan)
            tenant_limit = plan.tenant_channel_limit
            lines = None
            if plan.type == "voice_agent":  # paced by its ready agents
                if plan.pacing_mode == "predictive":
                    ready, working, lines, anywhere = await self._predictive_lines(plan)
                else:
                    ready, anywhere = await self._ready_agents(plan)
                    working = ready
                    lines = agent_lines(plan.dial_ratio, ready, self._live_agent_calls(plan.id))
                # its agents are on another node (the tenant's home): that one dials and says
                elsewhere = working == 0 and cluster is not None and anywhere > 0
                if working == 0 and not elsewhere:
                    await self._reason(plan, Cause("no_agents"))
                elif working and self._reasons.get(plan.id) == Cause("no_agents"):
                    await self._reason(plan, None)
                tenant_limit -= ready  # room kept for the agent legs of the tenant's channels
            slots = free_slots(plan.channel_limit, channels.by_campaign[plan.id]
                               + remote_campaign.get(plan.id, 0),
                               tenant_limit, channels.by_tenant[plan.tenant_id]
                               + remote_tenant.get(plan.tenant_id, 0),
                               self.max_channels, channels.total)
            if lines is not None:
                slots = min(slots, lines)
            if plan.type == "fax" and slots > 0:  # no more sends than the credit's pages
                sends = await self.ctx.writer.run(fax_records.affordable_sends,
                                                  plan.tenant_id, plan.fax_document_id)
                if sends == 0:
                    await self.ctx.writer.run(lifecycle.pause_for, plan.id, Cause("no_credit"))
                    continue
                slots = min(slots, sends)
            wanted = self.bucket.take(slots)
            asked = time.monotonic()
            # In a cluster a claim commits on its own: the tenant's turn (models.txn) is then
            # held for the claim only, not for a batch of closes as well.
            run = self.ctx.writer.run_alone if cluster is not None else self.ctx.writer.run
            claimed = await run(self.ctx.claims.claim_due, plan.id, wanted, now, plan.rule_sets)
            if wanted:
                self.ctx.metrics.claim_latency.observe(time.monotonic() - asked)
            self.bucket.give_back(wanted - len(claimed))
            if claimed:
                await self._reason(plan, None if record or not plan.record
                                   else Cause("not_recording"))
                handlers = []
                for claim in claimed:
                    handler = FLOWS[plan.type](self.ctx, claim, plan, record=record)
                    if isinstance(handler, VoiceAgentCall):
                        self._agent_calls.setdefault(plan.id, set()).add(handler)
                        handler.on_settled = (lambda cid=plan.id, h=handler:
                                              self._agent_settled(cid, h))
                    self.ctx.router.register(handler)
                    handler.take_slot()
                    handlers.append(handler)
                self.ctx.tasks.spawn(self._place(handlers), f"place-{plan.id}")
            elif channels.by_campaign[plan.id] == 0 and not remote_campaign.get(plan.id):
                if await self.ctx.writer.run(lifecycle.complete_if_finished, plan.id):
                    log.info("campaign %s (%s) completed", plan.id, plan.name)
                    self._plans_until = 0.0

    async def _place(self, handlers: list[OutboundCall]) -> None:
        """Originate a batch at once; the accepted ones get placed_at in one write, right
        after Asterisk answered, which tells a restart 'dialed' from 'never sent'."""
        results = await asyncio.gather(*(h.place() for h in handlers), return_exceptions=True)
        placed = [h.claim.call_id for h, ok in zip(handlers, results) if ok is True]
        self.ctx.metrics.originates.inc(len(placed))
        self.ctx.metrics.originate_failures.inc(len(handlers) - len(placed))
        for h, ok in zip(handlers, results):
            if isinstance(ok, BaseException):
                log.error("placing %s failed: %r", h.claim.phone, ok)
                await h.close(0, f"originate error: {ok!r}"[:250])
        if placed:
            await self.ctx.writer.run(claims.mark_placed, placed, utcnow())
