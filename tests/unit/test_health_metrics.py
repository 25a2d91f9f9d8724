"""Health (web UI and the Stasis app's metrics port) and the app's metrics object: counters,
the live figures read at scrape time, 503 when the database cannot be reached."""
from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

import models
from models import SystemStatus
from models.entities import utcnow

from ari_app.calls import ChannelCounter
from ari_app.metrics import AppMetrics, health
from ari_app.writer import Writer


def samples(metrics: AppMetrics) -> dict:
    out = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def unreachable(tmp_path):
    """The database is a directory: every connection fails, as with a server that is down."""
    (tmp_path / "gone.sqlite3").mkdir()
    models.database.close()
    models.init_database(f"sqlite:///{tmp_path / 'gone.sqlite3'}")
    yield
    models.database.close()


def test_web_health_ok_then_degraded(client):
    got = client.get("/health")
    assert got.status_code == 200
    assert got.get_json() == {"status": "degraded", "database": "ok", "ari": "down"}
    SystemStatus.create(key="ari", value="connected", updated_at=utcnow())
    assert client.get("/health").get_json() == {"status": "ok", "database": "ok",
                                                "ari": "connected"}


def test_web_health_503_without_database(app, unreachable):
    got = app.test_client().get("/health")
    assert got.status_code == 503
    assert got.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_counters_and_live_figures(db):
    writer = Writer()
    try:
        channels = ChannelCounter()
        metrics = AppMetrics()
        metrics.watch(channels, writer)
        metrics.connected()
        assert samples(metrics)[("voxcast_ari_reconnects_total", ())] == 0  # the first one
        metrics.connected()
        metrics.originates.inc(3)
        metrics.originate_failures.inc()
        metrics.claim_latency.observe(0.004)
        channels.add(7, 1)
        channels.add(7, 1)
        channels.add(9)
        got = samples(metrics)
        assert got[("voxcast_ari_reconnects_total", ())] == 1
        assert got[("voxcast_originates_total", ())] == 3
        assert got[("voxcast_originate_failures_total", ())] == 1
        assert got[("voxcast_claim_latency_seconds_count", ())] == 1
        assert got[("voxcast_claim_latency_seconds_bucket", (("le", "0.005"),))] == 1
        assert got[("voxcast_calls_in_progress", ())] == 3
        assert got[("voxcast_tenant_channels", (("tenant_id", "7"),))] == 2
        assert got[("voxcast_tenant_channels", (("tenant_id", "9"),))] == 1
        assert got[("voxcast_writer_queue_depth", ())] == 0
        channels.remove(9)
        assert ("voxcast_tenant_channels", (("tenant_id", "9"),)) not in samples(metrics)
        assert AppMetrics().registry is not metrics.registry  # one registry per app
    finally:
        writer.close()


class _Ari:
    def __init__(self, up: bool):
        self.connected = asyncio.Event()
        if up:
            self.connected.set()


class _Ctx:
    def __init__(self, writer, up=True):
        self.writer, self.ari, self.channels = writer, _Ari(up), ChannelCounter()


def test_app_health(db):
    writer = Writer()
    try:
        async def go():
            return await health(_Ctx(writer)), await health(_Ctx(writer, up=False))
        (code, body), (code2, body2) = asyncio.run(go())
        assert code == 200 and body["status"] == "ok" and body["database"] == "ok"
        assert code2 == 200 and body2["status"] == "degraded" and body2["ari"] == "down"
    finally:
        writer.close()


def test_app_health_503_without_database(unreachable):
    writer = Writer()
    try:
        code, body = asyncio.run(health(_Ctx(writer)))
        assert code == 503 and body == {"status": "unavailable", "database": "unreachable",
                                        "ari": "connected"}
    finally:
        writer.close()
