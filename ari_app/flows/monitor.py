"""A supervisor monitoring an agent's call on their own phone (listen, whisper, barge).

The web posts ARI user events `voxcast-monitor` (voxcast.supervision.monitor); MonitorCommands
checks each again on the writer thread and rings the supervisor's phone (MonitorCall, straight
into the app). Once they answer, a snoop channel goes on the AGENT's channel and into a
mixing bridge of its own with the supervisor. The snoop's directions make the modes:

  listen  spy=both whisper=none  the supervisor hears what the agent's channel sends (the
                                 agent) and what it is sent (the caller); nobody hears them
  whisper spy=both whisper=out   what the supervisor says is added to what the agent's phone
                                 is sent: the agent hears it, the caller (who hears what the
                                 agent's channel sends) does not
  barge   spy=both whisper=both  also added to what the agent's channel sends, so the caller
                                 hears it too

Barge is a snoop too, not the supervisor joining the call's mixing bridge: the agent's channel
is the one thing every agent call has (an ACD bridge, a console call, its conference, a
consultation moving channels between bridges), so the same code serves them all, the
console's bridge moves never meet a stranger in their bridge, and a mode change is one snoop
swapped for another (the new one joins the supervisor's bridge before the old one leaves).

The snoop ends with the agent's channel (Asterisk hangs it up when the audiohook detaches):
that ends the monitor call. The supervisor hanging up (or `stop`) removes the snoop. The
tenant log has the start, each mode change and the end."""
from __future__ import annotations

import asyncio
import itertools
import logging
from types import MappingProxyType

from models.entities import utcnow
from voxcast.supervision import monitor
from voxcast.supervision.monitor import MonitorError

from ari_app.calls import CallHandler
from ari_app.client import AriError
from ari_app.events import Event
from ari_app.leg import CallLeg

log = logging.getLogger("voxcast.monitor")

EVENT_TYPE = "ChannelUserevent"
SNOOP = MappingProxyType({"listen": ("both", "none"), "whisper": ("both", "out"),
                          "barge": ("both", "both")})
RING_SECONDS = 30
SNOOP_START_S = 5.0  # the snoop channel's StasisStart, after which it can be bridged


def agent_channel(ctx, session_id: int) -> str | None:
    """The agent's channel on their current call: the ACD's bridge of the session, or the
    console's call (manual dial)."""
    bridge = getattr(getattr(ctx, "agents", None), "bridges", {}).get(session_id)
    if bridge is not None and not bridge.ended:
        return bridge.agent_channel_id
    call = getattr(getattr(ctx, "console", None), "calls", {}).get(session_id)
    if call is None or not call.agent_here:  # the agent left it (a transfer): not theirs
        return None
    leg = call.agent
    return leg.channel_id if leg is not None and not leg.done else None


class SnoopLeg(CallHandler):
    """A snoop channel: only its start (bridge it now) and end (the agent's call is over, or
    it was replaced) matter."""

    def __init__(self, ctx, channel_id: str, owner: "MonitorCall", mode: str):
        super().__init__(ctx, channel_id)
        self.owner = owner
        self.mode = mode
        self.started = asyncio.Event()
        self.replaced = False

    async def stasis_start(self, event: Event) -> None:
        self.started.set()

    async def stasis_end(self, event: Event) -> None:
        await self._gone()

    async def channel_destroyed(self, event: Event) -> None:
        await self._gone()

    async def _gone(self) -> None:
        if self.done:
            return
        self.finish()
        await self.owner.snoop_gone(self)


class MonitorCall(CallLeg):
    """The call to the supervisor's phone; no CDR of its own (internal, never rated) but
    counted in the tenant's channels while it lasts."""

    def __init__(self, commands: "MonitorCommands", req: monitor.Request, channel_id: str):
        super().__init__(commands.ctx, channel_id, tenant_id=req.tenant_id)
        self.commands = commands
        self.req = req
        self.bridge_id = f"{channel_id}-b"
        self.snoop: SnoopLeg | None = None
        self.snoop_target: str | None = None  # the agent channel the snoop is on
        self.started_at: float | None = None  # loop time the monitoring began
        self._snoops = itertools.count(1)
        self._lock = asyncio.Lock()
        self._bridge_made = False

    async def place(self) -> None:
        self.ctx.router.register(self)
        self.take_slot()
        try:
            await self.ctx.ari.originate(
                f"PJSIP/{self.req.extension}", self.channel_id, app_args="monitor",
                caller_id=f'"{self.req.mode} {self.req.agent_name}" <monitor>',
                timeout=RING_SECONDS)
        except AriError as exc:
            log.warning("monitor call to %s not placed: %s", self.req.extension, exc)
            await self.close(0, "originate failed")

    async def stasis_start(self, event: Event) -> None:
        """The supervisor answered: monitor the agent in the latest mode asked."""
        self.answered_at = utcnow()
        await self.change(self.req)

    async def change(self, req: monitor.Request) -> None:
        """Monitor (another agent, or in another mode) from now on. While the phone still
        rings only the wish is kept."""
        self.req = req
        if self.answered_at is None or self.done:
            return
        async with self._lock:
            if self.snoop is not None and not self.snoop.done and self.snoop.mode == req.mode \
                    and self.snoop_target == agent_channel(self.ctx, req.agent_session_id):
                return
            if not await self._snoop(req):
                await self.safe_hangup()

    async def _snoop(self, req: monitor.Request) -> bool:
        target = agent_channel(self.ctx, req.agent_session_id)
        if target is None:
            log.info("monitor of %s: the agent's call is gone", req.agent_name)
            return False
        ari = self.ctx.ari
        if not self._bridge_made:
            await ari.post("/bridges", type="mixing", bridgeId=self.bridge_id,
                           name=f"monitor-{req.supervisor_id}")
            self._bridge_made = True
            await ari.post(f"/bridges/{self.bridge_id}/addChannel", channel=self.channel_id)
        snoop = SnoopLeg(self.ctx, f"{self.channel_id}-s{next(self._snoops)}", self, req.mode)
        self.ctx.router.register(snoop)
        spy, whisper = SNOOP[req.mode]
        try:
            await ari.snoop(target, snoop.channel_id, spy=spy, whisper=whisper)
            await asyncio.wait_for(snoop.started.wait(), SNOOP_START_S)
            await ari.post(f"/bridges/{self.bridge_id}/addChannel", channel=snoop.channel_id)
        except (AriError, asyncio.TimeoutError) as exc:
            log.warning("snoop on %s (%s) failed: %r", target, req.mode, exc)
            snoop.replaced = True
            self.ctx.router.forget(snoop.channel_id)
            await snoop.safe_hangup()
            return False
        old, self.snoop, self.snoop_target = self.snoop, snoop, target
        if old is not None and not old.done:
            old.replaced = True
            await old.safe_hangup()
        if self.started_at is None:
            self.started_at = asyncio.get_running_loop().time()
        self.ctx.writer.post(monitor.log_started, req)
        log.info("%s", monitor.describe(req))
        return True

    async def snoop_gone(self, snoop: SnoopLeg) -> None:
        """A snoop ended that nobody replaced: the agent's channel is gone (call over)."""
        if snoop.replaced or snoop is not self.snoop or self.done:
            return
        self.enqueue(Event(type="MonitoredCallEnded", channel_id=self.channel_id))

    async def monitored_call_ended(self, event: Event) -> None:
        await self.safe_hangup()

    async def hangup(self) -> None:
        await self.safe_hangup()

    async def cleanup(self) -> None:
        if self.commands.calls.get(self.req.supervisor_id) is self:
            del self.commands.calls[self.req.supervisor_id]
        ari = self.ctx.ari
        snoop, self.snoop = self.snoop, None
        if snoop is not None and not snoop.done:
            snoop.replaced = True
            await snoop.safe_hangup()
        if self._bridge_made:
            try:
                await ari.delete(f"/bridges/{self.bridge_id}")
            except AriError:
                pass
        if self.started_at is not None:
            seconds = round(asyncio.get_running_loop().time() - self.started_at)
            self.ctx.writer.post(monitor.log_ended, self.req, seconds)


class MonitorCommands:
    """The `voxcast-monitor` user events: one MonitorCall per supervisor."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.calls: dict[int, MonitorCall] = {}  # by supervisor's user id
        self._seq = itertools.count(1)
        ctx.router.listen(EVENT_TYPE, self.on_event)

    def on_event(self, event: Event) -> None:
        variables = monitor.parse(event.raw)
        if variables is None:
            return
        self.ctx.tasks.spawn(self.handle(variables),
                             f"monitor-{variables.get('supervisor_id', '?')}-{variables['action']}")

    async def handle(self, variables: dict[str, str]) -> None:
        try:
            req = await self.ctx.writer.run(monitor.recheck, variables)
        except MonitorError as exc:
            log.info("monitor command refused: %s", exc)
            return
        current = self.calls.get(req.supervisor_id)
        if current is not None and current.done:
            current = None
        if req.action == "stop":
            if current is not None:
                await current.hangup()
            return
        if current is not None and current.req.extension == req.extension:
            await current.change(req)
            return
        if current is not None:  # another phone of theirs: that call ends, this one rings
            await current.hangup()
        call = MonitorCall(self, req, f"vxmon-{req.supervisor_id}-{next(self._seq)}")
        self.calls[req.supervisor_id] = call
        await call.place()
