"""The event socket's keep-alive judges Asterisk only while we read: a resume (on_state:
presence, reconcile and adoption of the calls an earlier run left) that takes longer than a
ping and its wait, with reading paused until it is done, must not count as a dead Asterisk
(seen in bench/faults.py: the socket aborted, the app unregistered in Asterisk, the
adoptions answered `Application not found`). A peer that really stops answering while we
read is still dropped."""
from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.server import serve

from ari_app import event_socket
from ari_app.client import AriClient


@pytest.fixture(autouse=True)
def quick_pings(monkeypatch):
    monkeypatch.setattr(event_socket, "PING_AFTER_S", 0.3)
    monkeypatch.setattr(event_socket, "PONG_WAIT_S", 0.6)  # a loaded machine answers late


class Asterisk:
    def __init__(self):
        self.connections: list = []

    async def handler(self, ws) -> None:
        self.connections.append(ws)
        try:
            async for message in ws:
                frame = json.loads(message)
                if frame["type"] == "RESTRequest":
                    await ws.send(json.dumps({
                        "type": "RESTResponse", "request_id": frame["request_id"],
                        "status_code": 200, "reason_phrase": "OK",
                        "message_body": json.dumps({"uri": frame["uri"]})}))
        except Exception:  # noqa: BLE001 - the test reads the outcome from the connection
            pass


async def _run(on_state, then):
    asterisk = Asterisk()
    server = await serve(asterisk.handler, "127.0.0.1", 0, ping_interval=None).__aenter__()
    port = server.sockets[0].getsockname()[1]
    client = AriClient(f"http://127.0.0.1:{port}/ari", "u", "p", "vx-test")
    states: list[bool] = []

    async def state(up: bool) -> None:
        states.append(up)
        if up and len(states) == 1:
            await on_state()

    events = asyncio.create_task(client.run_events(lambda event: None, state))
    try:
        return await then(asterisk, client, states)
    finally:
        await client.close()
        events.cancel()
        await asyncio.gather(events, return_exceptions=True)
        server.close()
        await server.wait_closed()


async def _until(check, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if check():
            return True
        await asyncio.sleep(0.02)
    return False


def test_a_resume_longer_than_a_ping_and_its_wait_keeps_the_socket():
    async def then(asterisk, client, states):
        assert await _until(lambda: client._ws is not None), "REST over the socket not up"
        await asyncio.sleep(1.5)  # pings went out and were answered once reading started
        return len(asterisk.connections), states, await client.get("/asterisk/info")

    connections, states, answer = asyncio.run(_run(lambda: asyncio.sleep(2.0), then))
    assert (connections, states) == (1, [True]), "the socket was dropped during the resume"
    assert answer == {"uri": "asterisk/info"}


def test_a_peer_that_stops_answering_while_we_read_is_dropped():
    async def then(asterisk, client, states):
        assert await _until(lambda: client._ws is not None), "REST over the socket not up"
        silent = asterisk.connections[0].transport
        silent.pause_reading()  # our pings go unanswered
        assert await _until(lambda: False in states, 5), "a dead peer was kept"
        silent.resume_reading()  # so that the server sees the abort and closes at once
        assert await _until(lambda: len(asterisk.connections) == 2, 5), "no reconnect"
        return states

    assert asyncio.run(_run(lambda: asyncio.sleep(0), then))[:2] == [True, False]
