"""The ARI client against the real Asterisk: REST errors carry ARI's status and message."""
from __future__ import annotations

import asyncio

import pytest

from ari_app.client import AriClient, AriError, AriUnavailable


def _client(settings, port=None):
    url = settings.ari_url if port is None else f"http://127.0.0.1:{port}/ari"
    return AriClient(url, settings.ari_user, settings.ari_password(), "voxcast-client-test")


def test_given_unknown_channel_when_playing_then_error_has_aris_status_and_message(runtime):
    async def go():
        client = _client(runtime)
        try:
            info = await client.get("/asterisk/info")
            assert info["system"]["version"]
            with pytest.raises(AriError) as err:
                await client.play("no-such-channel", "sound:beep")
            return err.value
        finally:
            await client.close()

    error = asyncio.run(go())
    assert error.status == 404
    assert error.message == "Channel not found"


def test_given_wrong_password_when_calling_then_401_is_reported(runtime):
    async def go():
        client = AriClient(runtime.ari_url, runtime.ari_user, "wrong", "voxcast-client-test")
        try:
            with pytest.raises(AriError) as err:
                await client.get("/asterisk/info")
            return err.value
        finally:
            await client.close()

    assert asyncio.run(go()).status == 401


def test_given_nothing_listening_when_calling_then_asterisk_unreachable(runtime):
    async def go():
        client = _client(runtime, port=1)  # nothing listens on port 1
        try:
            with pytest.raises(AriUnavailable) as err:
                await client.get("/asterisk/info")
            return err.value
        finally:
            await client.close()

    error = asyncio.run(go())
    assert error.status == 0 and "unreachable" in error.message


def test_once_the_event_socket_is_up_rest_travels_over_it_with_the_same_errors(runtime):
    """Asterisk 22 answers RESTRequest frames on the event socket; the client then sends its
    requests there, and a refused one still carries ARI's status and message."""
    async def go():
        client = _client(runtime)
        events = asyncio.create_task(client.run_events(lambda event: None))
        try:
            for _ in range(100):
                if client._ws is not None:
                    break
                await asyncio.sleep(0.05)
            assert client._ws is not None, "REST over the event socket was not enabled"
            info = await client.get("/asterisk/info")
            with pytest.raises(AriError) as err:
                await client.play("no-such-channel", "sound:beep")
            with pytest.raises(AriError) as bad:  # a JSON body and a query string
                await client.originate("PJSIP/nobody@no-such-endpoint", "vx-ws-probe",
                                       app_args="x", variables={"A": "1"})
            return info, err.value, bad.value
        finally:
            await client.close()
            events.cancel()

    info, error, bad = asyncio.run(go())
    assert info["system"]["version"]
    assert (error.status, error.message) == (404, "Channel not found")
    assert bad.status in (400, 404, 500) and bad.message
