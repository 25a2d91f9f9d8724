"""A tenant's webhook endpoint is never posted to a private address, also when its name only
resolves to one at delivery time (webhooks_app.main.PublicResolver). A real aiohttp receiver
on loopback stands in for an internal service; "localhost" resolves to it."""
from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from voxcast.webhooks import outbox

from webhooks_app.main import PrivateAddress, PublicResolver, Sender


class FakeResolver:
    def __init__(self, hosts):
        self.hosts = hosts

    async def resolve(self, host, port=0, family=0):
        return [{"hostname": host, "host": h, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": 0} for h in self.hosts]

    async def close(self):
        pass


def test_given_a_name_with_public_and_private_addresses_then_only_the_public_ones_are_kept():
    found = asyncio.run(PublicResolver(FakeResolver(["10.1.2.3", "93.184.215.14"]))
                        .resolve("hooks.example.com", 443))
    assert [r["host"] for r in found] == ["93.184.215.14"]


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.254",
                                  "::1", "fd00::1"])
def test_given_a_name_with_only_private_addresses_then_it_is_refused(host):
    with pytest.raises(PrivateAddress, match=host.replace(".", r"\.")):
        asyncio.run(PublicResolver(FakeResolver([host])).resolve("rebound.example.com", 80))


def _job(url: str, public_only: bool) -> outbox.Job:
    return outbox.Job(1, 1, url, "whsec_test", "tenant.updated", "evt-1", '{"a": 1}', 1,
                      public_only=public_only)


async def _post_to_loopback(public_only: bool, host: str):
    hits = []

    async def hook(request):
        hits.append(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        connector = aiohttp.TCPConnector(resolver=PublicResolver()) if public_only else None
        async with aiohttp.ClientSession(connector=connector) as session:
            result = await Sender().post(session, _job(f"http://{host}:{port}/hook", public_only))
    finally:
        await runner.cleanup()
    return result, hits


def test_given_a_tenant_endpoint_resolving_to_loopback_then_nothing_is_posted():
    (status, error), hits = asyncio.run(_post_to_loopback(True, "localhost"))
    assert status is None and error.startswith("refused: localhost resolves to a private")
    assert hits == []


def test_given_a_tenant_endpoint_with_a_literal_private_address_then_nothing_is_posted():
    (status, error), hits = asyncio.run(_post_to_loopback(True, "127.0.0.1"))
    assert status is None and "may not be a private address" in error
    assert hits == []


def test_given_the_providers_endpoint_on_loopback_then_it_is_posted():
    (status, error), hits = asyncio.run(_post_to_loopback(False, "localhost"))
    assert (status, error) == (200, "") and hits == [b'{"a": 1}']
