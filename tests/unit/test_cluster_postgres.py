"""Three nodes dialing one campaign at once on one PostgreSQL, each in its own process (a
node's name is its process's): the same claim, gate and close code the Stasis app runs, with
the originate answered at once (tests/cluster_worker.py). Every contact is claimed exactly
once and the tenant's channel limit holds across the nodes together."""
from __future__ import annotations

import datetime as dt
import multiprocessing

from peewee import fn

from models import Call, Campaign, CampaignContact, Contact, ContactGroup, Tenant
from tests.pg_support import pg_fixtures

pg_url, db = pg_fixtures("voxcast_cluster")

CONTACTS, TENANT_LIMIT = 300, 6


def _campaign() -> Campaign:
    tenant = Tenant.create(name="Cluster", slug="cluster", channel_limit=TENANT_LIMIT)
    group = ContactGroup.create(tenant=tenant, name="all")
    Contact.insert_many([{"tenant": tenant.id, "group": group.id, "phone": f"+1202555{i:04d}"}
                         for i in range(CONTACTS)]).execute()
    campaign = Campaign.create(tenant=tenant, name="spread", group=group, status="running",
                               channel_limit=50, max_attempts=1)
    due = dt.datetime(2026, 1, 1, 12, 0)
    CampaignContact.insert_many([{"tenant": tenant.id, "campaign": campaign.id,
                                  "contact": c.id, "phone": c.phone, "next_attempt_at": due}
                                 for c in Contact.select()]).execute()
    return campaign


def test_given_three_nodes_when_they_dial_one_campaign_then_each_contact_once_and_the_limit_holds(
        db, pg_url):
    from tests.cluster_worker import run_node

    campaign = _campaign()
    db.close()
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    procs = [spawn.Process(target=run_node, args=(pg_url, f"node-{i}", campaign.id),
                           kwargs={"talk_s": 0.02, "batch": 4, "deadline_s": 120, "out": out})
             for i in range(3)]
    for p in procs:
        p.start()
    runs = [out.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(p.exitcode == 0 for p in procs)

    assert sum(r.calls for r in runs) == CONTACTS
    assert sum(1 for r in runs if r.calls) >= 2  # the work was shared
    assert max(r.peak_open for r in runs) <= TENANT_LIMIT
    per_entry = (Call.select(Call.entry, fn.COUNT(Call.id)).group_by(Call.entry).tuples())
    assert sorted({n for _, n in per_entry}) == [1]  # nobody claimed twice
    assert Call.select().where(Call.ended_at.is_null()).count() == 0
    left = CampaignContact.select().where(CampaignContact.state.in_(("pending", "dialing")))
    assert left.count() == 0
    assert {n for (n,) in Call.select(Call.node).distinct().tuples()} == \
        {r.node for r in runs if r.calls}
