"""The console's commands arriving in the Stasis app: ARI user events named `voxcast-agent`
(posted by the web, voxcast.console.commands.send), checked again here on the writer thread
(the session still open and the agent's, the call still theirs), then handed to the call they
are about: a console call (manual dial, ari_app.flows.manual_dial.ConsoleCall) through its
queue, or the ACD's bridge of that session (ctx.agents.bridges)."""
from __future__ import annotations

import logging
import os

from voxcast.console import commands, live
from voxcast.console.errors import ConsoleError
from voxcast.i18n import N_

from ari_app.events import Event
from ari_app.flows import manual_dial
from ari_app.flows.console_bridge import control_acd_call

log = logging.getLogger("voxcast.console")

EVENT_TYPE = "ChannelUserevent"  # what ARI makes of POST /events/user/{name}


class AgentCommands:
    def __init__(self, ctx, max_channels: int | None = None):
        self.ctx = ctx
        self.calls: dict[int, manual_dial.ConsoleCall] = {}  # by AgentSession id
        self.max_channels = max_channels or int(os.environ.get("VOXCAST_MAX_CHANNELS", 500))
        self._seq = 0
        self._watched: dict[str, manual_dial.ConsoleCall] = {}  # channels other handlers own
        ctx.router.listen(EVENT_TYPE, self.on_event)
        ctx.router.listen("ChannelDestroyed", self.on_destroyed)

    def adopt(self, call) -> None:
        """Keep a console call by its session (and watch the channels it does not own)."""
        self.calls[call.session_id] = call
        watched = [leg.channel_id for leg in (call.agent, call.customer)
                   if leg is not None and not isinstance(leg, manual_dial.ConsoleLeg)]
        for channel_id in watched:
            self._watched[channel_id] = call

        def ended(c, ids=tuple(watched)):
            if self.calls.get(c.session_id) is c:
                del self.calls[c.session_id]
            for channel_id in ids:
                if self._watched.get(channel_id) is c:
                    del self._watched[channel_id]
        call.on_end = ended

    def phone_here(self, extension: str) -> bool:
        """In a cluster only the node the agent's phone is registered on dials for them (the
        web posts there, voxcast.console.nodes; a phone that moved meanwhile is refused, never
        rung from two nodes). A single node keeps today's behaviour."""
        agents = getattr(self.ctx, "agents", None)
        if getattr(self.ctx, "cluster", None) is None or agents is None:
            return True
        return agents.registered(extension)

    def on_destroyed(self, event: Event) -> None:
        call = self._watched.get(event.channel_id)
        if call is not None:
            call.gone(event.channel_id)

    def on_event(self, event: Event) -> None:
        """The router's listener for user events: never blocks the socket reader."""
        variables = commands.parse(event.raw)
        if variables is None:
            return
        self.ctx.tasks.spawn(self.handle(variables),
                             f"console-{variables.get('session_id', '?')}-{variables['action']}")

    async def handle(self, variables: dict[str, str]) -> None:
        action = variables["action"]
        try:
            plan = await self.ctx.writer.run(commands.recheck, variables)
        except ConsoleError as exc:
            log.info("console command %s refused: %s", action, exc)
            sid, uid = variables.get("session_id", ""), variables.get("user_id", "")
            if sid.isdigit() and uid.isdigit():  # told to that agent's console only
                await self.ctx.writer.run(live.publish, int(sid), "refused", user_id=int(uid),
                                          message=str(exc))
            return
        session_id = int(variables["session_id"])
        existing = self.calls.get(session_id)
        if existing is not None and not existing.agent_here:
            existing = None  # the agent left it (transferred): it goes on without them
        if action == "dial":
            if existing is not None:
                await self.ctx.writer.run(live.publish, session_id, "refused",
                                          message=N_("Finish the current call first."))
                return
            if not self.phone_here(plan.extension):
                log.info("console dial of session %s refused: phone %s not registered on this "
                         "node", session_id, plan.extension)
                await self.ctx.writer.run(live.publish, session_id, "refused", message=N_(
                    "Your phone is not registered; register it, then try again."))
                return
            self._seq += 1
            call = await manual_dial.start(self.ctx, plan, self._seq, self.max_channels)
            if call is not None:
                self.adopt(call)
            return
        call = existing
        if call is not None:
            call.enqueue(Event(type="AgentCommand", channel_id=call.channel_id, raw=variables))
            return
        bridges = getattr(getattr(self.ctx, "agents", None), "bridges", None) or {}
        bridge = bridges.get(session_id)
        if bridge is None:
            await self.ctx.writer.run(live.publish, session_id, "refused",
                                      message=N_("That call has ended."))
            return
        await control_acd_call(self, bridge, variables)
