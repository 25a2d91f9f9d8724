"""The SMPP bind itself, with the SMS service in this process on a real loopback socket and a
real SQLite database: a refused bind is reported and retried, enquire_link keeps it alive,
and a tenant's sms_per_second caps its messages."""
from __future__ import annotations

import asyncio
import time

from messaging_app.sms import SmsService
from tests.integration.sms_support import (
    bind_state, make_connection, make_sms_campaign, make_tenant, messaging, smsc_factory, sms_db,
    sms_pg_url, start_campaign, all_settled, wait_for,
)
from voxcast.messaging.sms import connections

__all__ = ["messaging", "smsc_factory", "sms_db", "sms_pg_url"]


async def _run_for(service: SmsService, seconds: float, until=None) -> None:
    task = asyncio.create_task(service.run())
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (until and await asyncio.to_thread(until)):
        await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_given_a_wrong_password_when_binding_then_the_bind_is_down_with_the_reason(
        sms_db, smsc_factory):
    smsc = smsc_factory(password="right")
    conn = make_connection(password="wrong")
    service = SmsService(None, reconnect_min=0.2, reconnect_max=0.4)
    asyncio.run(_run_for(service, 2.0))
    status = connections.bind_status(conn.id)
    assert status.state == "down" and "bind refused" in status.error
    assert len(smsc.smsc.binds) >= 2 and not any(ok for _, ok in smsc.smsc.binds)  # retried


def test_given_a_quiet_bind_when_time_passes_then_enquire_link_keeps_it(sms_db, smsc_factory):
    smsc = smsc_factory()
    conn = make_connection()
    service = SmsService(None, enquire_every=0.3)
    asyncio.run(_run_for(service, 1.5))
    assert smsc.smsc.enquire_links >= 3
    assert smsc.smsc.binds == [("voxcast", True)]  # one bind all along
    assert bind_state(conn.id) == "down"  # and said so when the service stopped


def test_given_a_tenant_rate_when_sending_then_its_messages_keep_to_it(sms_db, smsc_factory):
    smsc = smsc_factory()
    make_connection(throughput=0)
    tenant = make_tenant(per_second=5)
    campaign = make_sms_campaign(tenant, [f"+4917300000{i:02d}" for i in range(12)], "Hi")
    start_campaign(campaign)
    service = SmsService(None, claim_every=0.05, idle_every=0.1)
    asyncio.run(_run_for(service, 20, until=lambda: all_settled(campaign)))
    assert all_settled(campaign)
    times = sorted(s.at for s in smsc.smsc.accepted())
    assert len(times) == 12
    assert all(sum(1 for t in times if t0 <= t < t0 + 1) <= 6 for t0 in times)
    assert times[-1] - times[0] >= 1.5  # 12 at 5/s: at least two seconds' worth


def test_given_a_connection_throughput_when_sending_then_submits_keep_to_it(sms_db, smsc_factory):
    smsc = smsc_factory()
    make_connection(throughput=10)
    tenant = make_tenant(per_second=0)
    campaign = make_sms_campaign(tenant, [f"+4917500000{i:02d}" for i in range(30)], "Hi")
    start_campaign(campaign)
    service = SmsService(None, claim_every=0.05, idle_every=0.1)
    asyncio.run(_run_for(service, 20, until=lambda: all_settled(campaign)))
    times = sorted(s.at for s in smsc.smsc.accepted())
    assert len(times) == 30
    assert times[-1] - times[0] >= 1.7  # 10 now, 10 after 1 s, 10 after 2 s
    assert all(sum(1 for t in times if t0 <= t < t0 + 0.9) <= 12 for t0 in times)
