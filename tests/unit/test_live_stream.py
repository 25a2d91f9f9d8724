"""The live pages' server-sent events through a real waitress server and a real HTTP client
(requests): an update is pushed when the data changes, the stream ends after its time and
when the session ends, and streams past the cap are refused with 204 (the page polls)."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from waitress.server import create_server

from models import Campaign, Tenant
from webui.live_stream import StreamSlots

from .conftest import CSRF_RE, MASTER_PASSWORD


@pytest.fixture
def server(app):
    app.config["LIVE_STREAM_SECONDS"] = 6
    srv = create_server(app, host="127.0.0.1", port=0, threads=6)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    deadline = time.monotonic() + 8  # streams still ticking would write to a closed server
    while (slots := app.extensions.get("voxcast_live_slots")) and slots.open \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    srv.close()
    thread.join(5)
    # Every request thread ended before the next test builds its app: CPython 3.11's ast
    # (which werkzeug compiles URL rules with) is not safe while another thread uses it too
    # ("AST constructor recursion depth mismatch", seen in a clean-clone run).
    srv.task_dispatcher.shutdown(timeout=10)


def login(base: str) -> requests.Session:
    s = requests.Session()
    token = CSRF_RE.search(s.get(f"{base}/login").text).group(1)
    r = s.post(f"{base}/login", data={"username": "master", "password": MASTER_PASSWORD,
                                      "csrf_token": token}, allow_redirects=False)
    assert r.status_code == 302
    return s


def events(response):
    """(event name, data) of each event as it arrives."""
    name, data = "message", []
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line.startswith("event:"):
            name = line[6:].strip()


def test_campaign_progress_is_pushed_when_it_changes(server):
    master = Tenant.get(Tenant.slug == "master")
    campaign = Campaign.create(tenant=master, name="Pushed", type="voice_message")
    other = Tenant.create(name="Other", slug="other")
    Campaign.create(tenant=other, name="Not yours", type="voice_message")
    s = login(server)
    started = time.monotonic()
    with s.get(f"{server}/status/campaigns.events", stream=True, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert r.headers["Cache-Control"] == "no-store"
        stream = events(r)
        _, first = next(stream)
        assert [row["name"] for row in first["rows"]] == ["Pushed"]  # the tenant's own only
        assert first["rows"][0]["status"] == "draft" and first["ari"] == "down"
        Campaign.update(status="paused").where(Campaign.id == campaign.id).execute()
        _, second = next(stream)
        assert second["rows"][0]["status"] == "paused"
        assert time.monotonic() - started < 4  # pushed at the next tick, not at the end
        assert list(stream) == []  # nothing changed since: the stream just ends
    assert 5 <= time.monotonic() - started < 9


def test_the_stream_ends_with_the_session(server):
    s = login(server)
    with s.get(f"{server}/status/campaigns.events", stream=True, timeout=10) as r:
        stream = events(r)
        next(stream)
        token = CSRF_RE.search(s.get(f"{server}/campaigns/").text).group(1)
        assert s.post(f"{server}/logout", data={"csrf_token": token},
                      allow_redirects=False).status_code == 302
        name, _ = next(stream)
        assert name == "end"
    # reconnecting without a session: 401, which EventSource does not retry
    again = s.get(f"{server}/status/campaigns.events", timeout=10)
    assert again.status_code == 401


def test_streams_past_the_cap_are_refused(app, server):
    app.extensions["voxcast_live_slots"] = StreamSlots(1)
    s = login(server)
    with s.get(f"{server}/status/campaigns.events", stream=True, timeout=10) as r:
        next(events(r))
        refused = s.get(f"{server}/status/campaigns.events", timeout=10)
        assert refused.status_code == 204 and refused.headers["Retry-After"] == "30"
        assert s.get(f"{server}/status/campaigns.json", timeout=10).status_code == 200
    deadline = time.monotonic() + 5  # the slot comes back when the stream is closed
    while app.extensions["voxcast_live_slots"].open and time.monotonic() < deadline:
        time.sleep(0.1)
    assert app.extensions["voxcast_live_slots"].open == 0


def test_live_pages_name_their_streams(auth, make_tenant):
    auth.login()
    html = auth.client.get("/campaigns/").get_data(as_text=True)
    assert "live_source.js" in html
    master = Tenant.get(Tenant.slug == "master")
    Campaign.create(tenant=master, name="Listed", type="voice_message")
    html = auth.client.get("/campaigns/").get_data(as_text=True)
    assert 'data-events="/status/campaigns.events"' in html


def test_one_tenants_dashboards_share_a_tick_and_never_another_tenants(app, server,
                                                                        make_tenant):
    from webui.live_stream import SharedPayloads
    calls = []
    payloads = SharedPayloads()
    for key in (("t", 1, "en"), ("t", 1, "en"), ("t", 2, "en"), ("t", 1, "de")):
        payloads.get(key, 5.0, lambda: calls.append(key) or {"for": key})
    assert calls == [("t", 1, "en"), ("t", 2, "en"), ("t", 1, "de")]
    assert payloads.get(("t", 2, "en"), 5.0, dict) == {"for": ("t", 2, "en")}
    assert payloads.get(None, 5.0, lambda: {"own": 1}) == {"own": 1}

    # through the server: master's and acme's streams open at once, each sees its own rows
    master = Tenant.get(Tenant.slug == "master")
    Campaign.create(tenant=master, name="Master's", type="voice_message")
    acme, _ = make_tenant("acme", username="acme-admin")
    Campaign.create(tenant=acme, name="Acme's", type="voice_message")
    ours = login(server)
    theirs = requests.Session()
    token = CSRF_RE.search(theirs.get(f"{server}/login").text).group(1)
    assert theirs.post(f"{server}/login", data={"username": "acme-admin",
                                                "password": "pw-acme-admin",
                                                "csrf_token": token},
                       allow_redirects=False).status_code == 302
    with ours.get(f"{server}/status/campaigns.events", stream=True, timeout=10) as a, \
            theirs.get(f"{server}/status/campaigns.events", stream=True, timeout=10) as b:
        _, seen_a = next(events(a))
        _, seen_b = next(events(b))
    assert [r["name"] for r in seen_a["rows"]] == ["Master's"]
    assert [r["name"] for r in seen_b["rows"]] == ["Acme's"]
