"""The CDR detail filters and the keyset export on PostgreSQL too (ILIKE for the number, the
queue's sub-selects, local days as UTC bounds), in its own database voxcast_h13d1_cdrs;
skipped only when the server cannot be started here."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


import models
from models import Call, Campaign, Tenant, User
from models.entities import Queue, QueueCall
from tests.pg_support import pg_fixtures
from voxcast.cdr import search

PG_DB = "voxcast_h13d1_cdrs"
NY = ZoneInfo("America/New_York")


pg_url, pg = pg_fixtures(PG_DB, "pg")


def test_given_postgresql_then_every_filter_and_the_batches_agree(pg):
    acme = Tenant.create(name="Acme", slug="acme", timezone="America/New_York")
    other = Tenant.create(name="Globex", slug="globex")
    spring = Campaign.create(tenant=acme, name="Spring", type="voice_message")
    queue = Queue.create(tenant=acme, name="Sales")
    ann = User.create(tenant=acme, username="ann", role="agent", password_hash="x")
    n = iter(range(1000))

    def cdr(tenant, when, **kw):
        kw.setdefault("number", "+12025550100")
        return Call.create(tenant=tenant, channel_id=f"pg-{next(n)}", started_at=when,
                           disposition=kw.pop("disposition", "ANSWERED"), **kw)

    late = cdr(acme, dt.datetime(2026, 11, 11, 4, 59), campaign=spring, number="+12025550101")
    early = cdr(acme, dt.datetime(2026, 11, 11, 5, 1), campaign=spring, disposition="BUSY")
    inbound = cdr(acme, dt.datetime(2026, 11, 11, 16), direction="inbound", did="+12125550000")
    leg = cdr(acme, dt.datetime(2026, 11, 11, 16, 0, 5), direction="agent", agent=ann)
    cdr(other, dt.datetime(2026, 11, 11, 4, 59), number="+12025550101")
    QueueCall.create(tenant=acme, queue=queue, call=inbound, agent_call=leg, agent=ann)

    def ids(**args):
        f = search.parse(acme.id, {k: str(v) for k, v in args.items()}, NY, strict=True)
        return {c.id for c in search.query(acme.id, f)}

    assert ids(start="2026-11-10", end="2026-11-10") == {late.id}
    assert ids(number="5550101") == {late.id}
    assert ids(number="+1212") == {inbound.id}
    assert ids(disposition="busy") == {early.id}
    assert ids(direction="agent") == {leg.id}
    assert ids(campaign=spring.id) == {late.id, early.id}
    assert ids(queue=queue.id) == {inbound.id, leg.id}
    assert ids(agent=ann.id) == {leg.id}
    f = search.parse(acme.id, {}, NY)
    walked = [c.id for b in search.batches(acme.id, f, batch=2) for c in b]
    assert walked == [leg.id, inbound.id, early.id, late.id]
    names = search.names_for(acme.id, [inbound, leg, late])
    assert (names.queue(inbound), names.queue(leg), names.campaign(late)) == ("Sales", "Sales",
                                                                              "Spring")
