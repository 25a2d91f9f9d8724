"""Channel limits across nodes. A node counts its own live channels in memory (exact, and
every kind of leg); the other nodes' are their open CDRs in the shared database, so a call is
its own channel lease: opened in the claim's transaction, released by the CDR's close, and a
dead node's leases held until a survivor closes its calls (never over the limit meanwhile).

Exact for campaign calls: the claim locks the tenant's row first (`FOR NO KEY UPDATE`, which
the credit reservation of the same transaction takes anyway), so two nodes claiming for one
tenant take turns and each counts the other's committed calls. Inbound, phone and agent legs of
other nodes count by their CDRs as soon as they are written."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Callable, Iterable

from peewee import fn

from models import Call, Campaign, Tenant, database
from models.db import ROW_LOCK
from voxcast.dialing.admission import Gate


def remote_open(me: str) -> tuple[Counter, Counter]:
    """(by tenant, by campaign): the open calls of every node but `me`."""
    by_tenant, by_campaign = Counter(), Counter()
    rows = (Call.select(Call.tenant, Call.campaign, fn.COUNT(Call.id))
            .where(Call.ended_at.is_null(), Call.node != me)
            .group_by(Call.tenant, Call.campaign).tuples())
    for tenant_id, campaign_id, n in rows:
        by_tenant[tenant_id] += n
        if campaign_id is not None:
            by_campaign[campaign_id] += n
    return by_tenant, by_campaign


def _lock_tenant(tenant_id: int) -> int:
    """The tenant's channel limit, its row locked until the transaction ends (PostgreSQL)."""
    query = Tenant.select(Tenant.channel_limit).where(Tenant.id == tenant_id)
    if getattr(database.obj, "for_update", False):
        query = query.for_update(ROW_LOCK)
    row = query.tuples().first()
    return row[0] if row else 0


class ClusterChannels(Gate):
    """Admission gate (voxcast.dialing.admission) of a node in a cluster: a claim is admitted
    only while its campaign and its tenant have room counting every node's calls. `local()`
    answers this node's live channels (by_tenant, by_campaign counters; the Stasis app's
    ChannelCounter), which do not include the claims being admitted."""

    def __init__(self, node: str, local: Callable[[], object]):
        self.node = node
        self.local = local

    def admit(self, claims: list) -> tuple[Iterable, None]:
        groups: dict[int, list] = defaultdict(list)
        for claim in claims:
            groups[claim.tenant_id].append(claim)
        counter = self.local()
        refused = []
        for tenant_id, group in groups.items():
            tenant_limit = _lock_tenant(tenant_id)
            campaign_ids = {c.campaign_id for c in group}
            limits = dict(Campaign.select(Campaign.id, Campaign.channel_limit)
                          .where(Campaign.id.in_(campaign_ids)).tuples())
            remote_tenant = (Call.select(fn.COUNT(Call.id))
                             .where(Call.tenant == tenant_id, Call.ended_at.is_null(),
                                    Call.node != self.node).scalar() or 0)
            remote_campaign = Counter(dict(
                Call.select(Call.campaign, fn.COUNT(Call.id))
                .where(Call.campaign.in_(campaign_ids), Call.ended_at.is_null(),
                       Call.node != self.node).group_by(Call.campaign).tuples()))
            tenant_room = tenant_limit - remote_tenant - counter.by_tenant[tenant_id]
            taken: Counter = Counter()
            for claim in group:
                cid = claim.campaign_id
                campaign_room = (limits.get(cid, 0) - remote_campaign[cid]
                                 - counter.by_campaign[cid] - taken[cid])
                if tenant_room > 0 and campaign_room > 0:
                    tenant_room -= 1
                    taken[cid] += 1
                else:
                    refused.append(claim)
        return refused, None
