"""The FastAGI protocol (agi/protocol.py) and server (agi/server.py) over a real socket, with
the test playing Asterisk: whole conversations, garbage, drops and hang-ups all end promptly
with the call refused, never a server waiting forever."""
from __future__ import annotations

import asyncio
import logging

import pytest

from agi import protocol
from agi.protocol import AgiError, parse_env, parse_reply, quote
from agi.server import AgiServer
from voxcast.phones.routing import Route


def test_parse_reply():
    r = parse_reply("200 result=1")
    assert (r.code, r.result, r.value) == (200, "1", 1)
    r = parse_reply("200 result= (timeout)")
    assert (r.result, r.data) == ("", "timeout")
    assert parse_reply("200 result=0 endpos=8000").value == 0
    assert parse_reply("200 result=12*3").result == "12*3"
    assert parse_reply("510 Invalid or unknown command").code == 510
    with pytest.raises(AgiError):
        parse_reply("hello")


def test_parse_env():
    env = parse_env(["agi_network: yes", "agi_arg_1: 7101", "agi_callerid:"])
    assert env == {"agi_network": "yes", "agi_arg_1": "7101", "agi_callerid": ""}
    for bad in (["GET / HTTP/1.1"], ["agi_x"], ["name: value"]):
        with pytest.raises(AgiError):
            parse_env(bad)


def test_quote_keeps_a_value_one_argument():
    assert quote('say "hi"\\') == '"say \\"hi\\"\\\\"'
    assert quote("x\nEXEC Dial PJSIP/evil") == '"xEXEC Dial PJSIP/evil"'  # no second command


class FakeAsterisk:
    """The Asterisk side of one FastAGI connection."""

    def __init__(self, port: int):
        self.port = port
        self.sent: list[str] = []

    async def __aenter__(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc):
        self.writer.close()

    async def send(self, text: str) -> None:
        self.writer.write(text.encode())
        await self.writer.drain()

    async def env(self, script: str, **args) -> None:
        lines = ["agi_network: yes", f"agi_network_script: {script}",
                 "agi_channel: PJSIP/7101-00000001", "agi_extension: 7102"]
        lines += [f"agi_arg_{k[1:]}: {v}" for k, v in args.items()]
        await self.send("\n".join(lines) + "\n\n")

    async def command(self, reply: str = "200 result=1") -> str | None:
        """Read one command (None when the server closed) and answer it."""
        line = await asyncio.wait_for(self.reader.readline(), 5)
        if not line:
            return None
        self.sent.append(line.decode().rstrip("\n"))
        await self.send(reply + "\n")
        return self.sent[-1]

    async def rest(self) -> list[str]:
        """Answer every further command with success until the server closes."""
        while await self.command() is not None:
            pass
        return self.sent


async def _serve(db):
    server = AgiServer(db, "127.0.0.1", 0)
    await server.start()
    port = server.server.sockets[0].getsockname()[1]
    return server, port


async def _until_served(server, n=1):
    for _ in range(100):
        if server.served >= n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the server did not finish the conversation")


def test_given_phone_route_then_variables_set_route_last():
    async def main():
        async def db(func, *args):
            assert args == ("7101", "7102")
            return Route("internal", "7102", tenant_id=3)
        server, port = await _serve(db)
        async with FakeAsterisk(port) as ast:
            await ast.env("phone", _1="7101")
            sent = await ast.rest()
        await server.close()
        return sent
    sent = asyncio.run(main())
    assert sent == ['SET VARIABLE "VOXCAST_TARGET" "7102"', 'SET VARIABLE "VOXCAST_TENANT_ID" "3"',
                    'SET VARIABLE "VOXCAST_PROMPT" ""', 'SET VARIABLE "VOXCAST_ROUTE" "internal"']


def test_given_garbage_or_unknown_route_or_failing_db_then_refused_with_a_log_line(caplog):
    async def main():
        async def db(func, *args):
            raise RuntimeError("database down")
        server, port = await _serve(db)
        out = []
        async with FakeAsterisk(port) as ast:  # not AGI at all
            await ast.send("GET / HTTP/1.1\nHost: x\n\n")
            out.append(await ast.rest())
        async with FakeAsterisk(port) as ast:
            await ast.env("nosuch")
            out.append(await ast.rest())
        async with FakeAsterisk(port) as ast:
            await ast.env("phone", _1="7101")
            out.append(await ast.rest())
        async with FakeAsterisk(port) as ast:  # no endpoint argument
            await ast.env("phone")
            out.append(await ast.rest())
        await _until_served(server, 4)
        await server.close()
        return out
    with caplog.at_level(logging.INFO, logger="voxcast.agi"):
        out = asyncio.run(main())
    refuse = 'SET VARIABLE "VOXCAST_ROUTE" "refuse"'
    assert out[0] == []  # nothing to answer: the connection is just closed
    assert out[1] == [refuse] and out[2] == [refuse] and out[3] == [refuse]
    text = caplog.text
    assert "not an AGI variable" in text and "unknown route 'nosuch'" in text
    assert "database down" in text and "needs the endpoint" in text


def test_given_dropped_connection_or_silence_then_the_conversation_ends(monkeypatch):
    monkeypatch.setattr(protocol, "ENV_TIMEOUT_S", 0.3)

    async def main():
        async def db(func, *args):
            return Route("internal", "7102", tenant_id=3)
        server, port = await _serve(db)
        async with FakeAsterisk(port) as ast:  # half an environment, then gone
            await ast.send("agi_network: yes\nagi_netw")
        async with FakeAsterisk(port):  # connected, says nothing
            await _until_served(server, 2)
        await server.close()
        return server.served
    assert asyncio.run(asyncio.wait_for(main(), 5)) == 2


def test_given_hangup_during_feature_code_then_it_stops_without_error():
    async def main():
        calls = []

        async def db(func, *args):
            calls.append((func.__name__, args))
            return Route("feature", "login", tenant_id=3) if not calls[1:] else "vx-logged-in"
        server, port = await _serve(db)
        async with FakeAsterisk(port) as ast:
            await ast.env("phone", _1="7101")
            assert await ast.command("200 result=0") == "ANSWER"
            assert (await ast.command("HANGUP\n200 result=-1")).startswith('GET DATA "vx-enter-pin"')
            rest = await ast.rest()
        await _until_served(server)
        await server.close()
        return calls, rest
    calls, rest = asyncio.run(main())
    # The PIN keyed nothing and the line hung up: no login was tried, nothing else was sent.
    assert [c[0] for c in calls] == ["authorize"]
    assert rest == ["ANSWER", 'GET DATA "vx-enter-pin" "6000" "12"']


def test_given_a_german_tenant_then_the_channel_language_is_set_first():
    async def main():
        async def db(func, *args):
            return Route("refuse", reason="no_credit", tenant_id=3, language="de")
        server, port = await _serve(db)
        async with FakeAsterisk(port) as ast:
            await ast.env("phone", _1="7101")
            sent = await ast.rest()
        await server.close()
        return sent
    sent = asyncio.run(main())
    assert sent[0] == 'SET VARIABLE "CHANNEL(language)" "de"'
    assert 'SET VARIABLE "VOXCAST_PROMPT" "vx-no-credit"' in sent
    assert sent[-1] == 'SET VARIABLE "VOXCAST_ROUTE" "refuse"'
