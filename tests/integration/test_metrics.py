"""The Stasis app's Prometheus metrics and health, scraped from the real app on its metrics
port while a real campaign runs through the test Asterisk (sipp answering); the web UI's
/health from the real web server."""
from __future__ import annotations

import json
import threading
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .factories import make_campaign, reload, unique_phones
from .sipp import Sipp
from .test_kamailio import _ari


def scrape(settings) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.metrics_port}/metrics",
                                timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def get_json(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def test_a_campaign_moves_the_counters(stasis_app, settings, master, workdir):
    # The app is the session's: a call of an earlier module's test may still be hanging up.
    # Counted per tenant, it would look like this campaign going over its limit.
    wait_for(lambda: scrape(settings)[("voxcast_calls_in_progress", ())] == 0, 30,
             message="no call of an earlier test left in progress")
    # Nor a channel: an earlier test's call to the trunk whose CDR is closed may still be
    # retransmitting its INVITE (up to 32 s), which this test's sipp would take as a call.
    wait_for(lambda: _ari(settings, "/channels") == [], 40,
             message="no channel of an earlier test left in Asterisk")
    before = scrape(settings)
    phones = unique_phones(4)
    campaign = make_campaign(master, settings, phones, channel_limit=2)
    # room for an earlier test's INVITE still retransmitted to the trunk port (PJSIP keeps at
    # it for 32 s after the channel is gone): the campaign's own numbers are counted below
    uas = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=20, timeout=90).start()
    seen = {"calls": 0.0, "tenant": 0.0}
    done = threading.Event()

    def watch():  # scraped while the calls run: live channels, counted per tenant
        while not done.is_set():
            now = scrape(settings)
            seen["calls"] = max(seen["calls"], now[("voxcast_calls_in_progress", ())])
            seen["tenant"] = max(seen["tenant"], now.get(
                ("voxcast_tenant_channels", (("tenant_id", str(master.id)),)), 0.0))
            done.wait(0.1)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 60, message="campaign completed")
        wait_for(lambda: all(uas.invites_by_number().get(p) for p in phones), 15,
                 message=f"every number called\n{uas.diagnostics()}")
        invites = uas.invites_by_number()
        assert [invites[p] for p in phones] == [1] * len(phones), invites
    finally:
        done.set()
        watcher.join(5)
        uas.stop()

    after = scrape(settings)
    def moved(name):
        return after[(name, ())] - before.get((name, ()), 0.0)
    assert moved("voxcast_originates_total") == 4
    assert moved("voxcast_originate_failures_total") == 0
    assert moved("voxcast_claim_latency_seconds_count") >= 2  # at least two claims (limit 2)
    assert 0 < moved("voxcast_claim_latency_seconds_sum") < 4 * 5.0
    assert 1 <= seen["calls"] and 1 <= seen["tenant"] <= 2  # the campaign's limit held
    wait_for(lambda: scrape(settings)[("voxcast_calls_in_progress", ())] == 0, 10,
             message="no calls left in progress")
    assert ("voxcast_tenant_channels", (("tenant_id", str(master.id)),)) not in scrape(settings)
    assert ("voxcast_writer_queue_depth", ()) in after
    assert ("voxcast_ari_reconnects_total", ()) in after


def test_health_of_the_app_and_of_the_web_ui(stasis_app, web, settings):
    status, body = get_json(f"http://127.0.0.1:{settings.metrics_port}/health")
    assert status == 200 and body["status"] == "ok" and body["database"] == "ok"
    assert body["ari"] == "connected" and body["writer_queue"] >= 0
    status, body = get_json(f"http://127.0.0.1:{settings.web_port}/health")
    assert status == 200 and body == {"status": "ok", "database": "ok", "ari": "connected"}


def test_an_asterisk_restart_counts_one_reconnect(stasis_app, settings):
    from voxcast.runtime import asterisk
    key = ("voxcast_ari_reconnects_total", ())
    before = scrape(settings)[key]
    asterisk.stop(settings)
    try:
        stasis_app.wait_ari("down", timeout=20)
        status, body = get_json(f"http://127.0.0.1:{settings.metrics_port}/health")
        assert status == 200 and body["status"] == "degraded" and body["ari"] == "down"
    finally:
        asterisk.start(settings)
    stasis_app.wait_ari("connected", timeout=30)
    wait_for(lambda: scrape(settings)[key] == before + 1, 10, message="one reconnect counted")
    assert get_json(f"http://127.0.0.1:{settings.metrics_port}/health")[1]["status"] == "ok"
