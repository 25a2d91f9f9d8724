"""This node's membership of a cluster (VOXCAST_NODE set; several nodes on one PostgreSQL):
its heartbeat, its share of the calls-per-second cap, the other nodes' open calls for the
dialer's limits, and the take-over of a node that died (voxcast.cluster)."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from ari_app.client import AriClient, AriError
from voxcast.cluster import limits, nodes, takeover
from voxcast.runtime import channel_log

log = logging.getLogger("voxcast.cluster")


class Membership:
    REMOTE_TTL_S = 0.5  # how stale the dialer's view of the other nodes' calls may be

    def __init__(self, ctx, every: float = 3.0):
        self.ctx = ctx
        self.name = ctx.settings.node
        self.every = every
        self.stale_s = ctx.settings.node_stale_s
        self.live_nodes = 1
        self.remote_by_tenant: Counter = Counter()
        self.remote_by_campaign: Counter = Counter()
        self._remote_until = 0.0
        self.takeovers: list[takeover.TakeOver] = []

    def _log_path(self) -> str:
        return str(channel_log.log_path(self.ctx.settings))

    def _sip(self) -> str:
        settings = self.ctx.settings
        return settings.node_sip or f"127.0.0.1:{settings.sip_port}"

    def _ari(self) -> str:
        settings = self.ctx.settings
        return getattr(settings, "node_ari", "") or settings.ari_url

    async def join(self) -> None:
        """Before this node recovers its own calls: a survivor may be closing them (it took
        this node for dead); wait until it is done, then they are closed already."""
        state = await self.ctx.writer.run(nodes.started, self.name, self._log_path(), None,
                                           self._sip(), self._ari())
        while state == "taking_over":
            log.warning("node %s: another node is taking over the calls this node left; "
                        "waiting", self.name)
            await asyncio.sleep(1.0)
            state = await self.ctx.writer.run(nodes.beat, self.name, self._log_path(), None,
                                               self._sip(), self._ari())

    async def leave(self) -> None:
        await self.ctx.writer.run(nodes.stopped, self.name)

    def cps_share(self, cps: float) -> float:
        """This node's part of the provider's calls-per-second cap: the caps of the live
        nodes add up to it, so it holds for the cluster."""
        return cps / max(1, self.live_nodes)

    async def remote(self) -> tuple[Counter, Counter]:
        """The other nodes' open calls (by tenant, by campaign), at most REMOTE_TTL_S old: the
        dialer asks only for what fits (the claim's gate is the exact check)."""
        now = time.monotonic()
        if now >= self._remote_until:
            self.remote_by_tenant, self.remote_by_campaign = await self.ctx.writer.run(
                limits.remote_open, self.name)
            self._remote_until = now + self.REMOTE_TTL_S
        return self.remote_by_tenant, self.remote_by_campaign

    async def run(self) -> None:
        while True:
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("node %s: heartbeat or take-over failed; retrying", self.name)
            await asyncio.sleep(self.every)

    async def beat(self) -> None:
        await self.ctx.writer.run(nodes.beat, self.name, self._log_path(), None, self._sip(),
                                  self._ari())
        live = await self.ctx.writer.run(nodes.live, None, self.stale_s)
        self.live_nodes = max(1, len(live))
        for dead in await self.ctx.writer.run(nodes.dead, self.name, None, self.stale_s):
            done = await self.ctx.writer.run(takeover.take_over, dead.name, self.name,
                                             self.ctx.cdrs, self.ctx.billing, None,
                                             self.stale_s)
            if done is not None:
                self.takeovers.append(done)
                self.ctx.metrics.takeovers.inc()
                await self.end_channels(done)

    async def end_channels(self, done: takeover.TakeOver) -> None:
        """The dead node's app died, its Asterisk may live on: the calls just closed would go
        on there with no one to play, bill or end them. Hang them up through its ARI (the
        nodes share one ARI password, VOXCAST_ARI_PASSWORD); unreachable, that Asterisk is
        down too and they ended with it."""
        if not done.channels or not done.ari_url:
            return
        settings = self.ctx.settings
        client = AriClient(done.ari_url, settings.ari_user, settings.ari_password(),
                           settings.ari_app_name, rest_over_ws=False)
        ended = 0
        try:
            for channel_id in done.channels:
                try:
                    await client.delete(f"/channels/{channel_id}")
                    ended += 1
                except AriError as exc:
                    if exc.status == 0:  # its Asterisk is not there either
                        log.info("node %s's Asterisk unreachable (%s): its calls ended with "
                                 "it", done.node, exc.message)
                        return
                    # 404: that call had ended already
        finally:
            await client.close()
        log.warning("node %s: %s of its %s calls still up on its Asterisk hung up", done.node,
                    ended, len(done.channels))
