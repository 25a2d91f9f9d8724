"""The Stasis app's Prometheus metrics and health, served on 127.0.0.1:<metrics_port>
(`/metrics`, `/health`). One `AppMetrics` per app, with its own registry (never the client
library's global one), handed to the dialer and the composition root through the AppContext;
live figures (channels, the writer's queue) are read from their owners when scraped."""
from __future__ import annotations

import asyncio
import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("voxcast.metrics")

CLAIM_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class AppMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.originates = Counter("voxcast_originates", "Campaign calls Asterisk accepted to "
                                  "originate", registry=r)
        self.originate_failures = Counter("voxcast_originate_failures", "Campaign calls "
                                          "whose originate was refused or failed", registry=r)
        self.dialer_errors = Counter("voxcast_dialer_errors", "Dialer steps that failed "
                                     "(retried a second later)", registry=r)
        self.ari_reconnects = Counter("voxcast_ari_reconnects", "ARI event socket "
                                      "connections after the first", registry=r)
        self.takeovers = Counter("voxcast_node_takeovers", "Dead nodes whose open calls "
                                 "this node closed (cluster)", registry=r)
        self.claim_latency = Histogram("voxcast_claim_latency_seconds", "Time from asking the "
                                       "writer to claim a campaign's due contacts to the "
                                       "answer (queue wait included)", buckets=CLAIM_BUCKETS,
                                       registry=r)
        self._connections = 0

    def connected(self) -> None:
        """The event socket is up: every time after the first is a reconnect."""
        self._connections += 1
        if self._connections > 1:
            self.ari_reconnects.inc()

    def watch(self, channels, writer) -> None:
        """Calls in progress, channels per tenant and the writer's queue, read at each scrape
        from the ChannelCounter and the Writer themselves."""
        self.registry.register(_LiveCollector(channels, writer))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector:
    def __init__(self, channels, writer):
        self.channels = channels
        self.writer = writer

    def describe(self):
        return []  # figures only exist at collect time; nothing to check at registration

    def collect(self):
        calls = GaugeMetricFamily("voxcast_calls_in_progress", "Call legs counted in the "
                                  "channel limits right now (outbound, inbound, agent legs)")
        calls.add_metric([], self.channels.total)
        yield calls
        tenants = GaugeMetricFamily("voxcast_tenant_channels", "Live channels per tenant",
                                    labels=["tenant_id"])
        for tenant_id, n in sorted(self.channels.by_tenant.items(), key=lambda kv: str(kv[0])):
            if n:
                tenants.add_metric([str(tenant_id)], n)
        yield tenants
        depth = GaugeMetricFamily("voxcast_writer_queue_depth", "Database jobs waiting for "
                                  "the writer thread")
        depth.add_metric([], self.writer.depth())
        yield depth


def _select_one() -> int:
    from models import database
    return database.execute_sql("SELECT 1").fetchone()[0]


HEALTH_TIMEOUT_S = 3.0


async def health(ctx) -> tuple[int, dict]:
    """200 and {"status": "ok"} while the database answers through the writer (ARI down:
    "degraded"); 503 when it does not (unreachable, or the writer stuck behind)."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(ctx.writer.run(_select_one), HEALTH_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means no database for us
        log.warning("health: database unreachable: %r", exc)
        return 503, {"status": "unavailable", "database": "unreachable",
                     "ari": "connected" if ctx.ari.connected.is_set() else "down"}
    ari = "connected" if ctx.ari.connected.is_set() else "down"
    return 200, {"status": "ok" if ari == "connected" else "degraded", "database": "ok",
                 "ari": ari, "writer_queue": ctx.writer.depth(),
                 "calls_in_progress": ctx.channels.total,
                 "database_ms": round((time.monotonic() - started) * 1000, 1)}


async def serve(ctx, port: int) -> web.AppRunner:
    """/metrics and /health on 127.0.0.1:port (loopback only: Prometheus on the host, or a
    proxy, scrapes it)."""
    async def metrics_view(request):
        return web.Response(body=ctx.metrics.exposition(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health_view(request):
        status, body = await health(ctx)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/health", health_view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    log.info("metrics and health on http://127.0.0.1:%s/metrics, /health", port)
    return runner
