"""One node's dialer path without Asterisk, for the cluster's PostgreSQL test and
bench/scale_out.py: the Stasis app's own writer, claims, admission gates (DNC, the cluster's
channel gate, billing) and CDR close, with the originate replaced by an immediate answer and
the call hung up after `talk_s`. Run in a process of its own per node (the node name is a
process's), many at once against one PostgreSQL."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ari_app.calls import ChannelCounter
from ari_app.writer import Writer
from models import Call, Campaign, init_database
from models.entities import utcnow
from voxcast.billing.call_credit import CallBilling
from voxcast.cdr import records as cdr
from voxcast.cdr.records import Cdrs
from voxcast.cluster import limits, nodes
from voxcast.dialing import claims as claim_store
from voxcast.dialing.admission import Admission, DncCheck
from voxcast.dialing.claims import Claims
from voxcast.dialing.pacing import free_slots


@dataclass
class NodeRun:
    node: str
    calls: int = 0
    seconds: float = 0.0
    peak_open: int = 0  # the most open calls of the tenant seen right after a claim (all nodes)


def run_node(url: str, node: str, campaign_id: int, talk_s: float = 0.0,
             max_channels: int = 10_000, batch: int = 200, deadline_s: float = 600.0,
             out=None, watch_peak: bool = True) -> NodeRun:
    init_database(url, node=node)
    result = asyncio.run(_dial(node, campaign_id, talk_s, max_channels, batch, deadline_s,
                               watch_peak))
    if out is not None:
        out.put(result)
    return result


async def _dial(node, campaign_id, talk_s, max_channels, batch, deadline_s, watch_peak
                ) -> NodeRun:
    writer, channels, billing = Writer(), ChannelCounter(), CallBilling()
    admission = Admission([DncCheck(), limits.ClusterChannels(node, lambda: channels), billing])
    claims, cdrs = Claims(admission), Cdrs(admission)
    await writer.run(nodes.started, node)
    campaign = await writer.run(Campaign.get_by_id, campaign_id)
    tenant_limit = await writer.run(lambda: campaign.tenant.channel_limit)
    run = NodeRun(node)
    calls: set[asyncio.Task] = set()
    start = time.monotonic()

    async def call(claim) -> None:
        now = utcnow()
        writer.post(cdr.mark_answered, claim.call_id, now)
        if talk_s:
            await asyncio.sleep(talk_s)
        await writer.run(cdrs.finish_call, claim.call_id, now, utcnow(), 16, "Normal Clearing")
        channels.remove(claim.tenant_id, claim.campaign_id)
        run.calls += 1

    idle = 0
    while time.monotonic() - start < deadline_s:
        remote_t, remote_c = await writer.run(limits.remote_open, node)
        slots = min(batch, free_slots(campaign.channel_limit,
                                      channels.by_campaign[campaign_id] + remote_c[campaign_id],
                                      tenant_limit, channels.by_tenant[campaign.tenant_id]
                                      + remote_t[campaign.tenant_id],
                                      max_channels, channels.total))
        claimed = await writer.run_alone(claims.claim_due, campaign_id, slots, utcnow())
        if claimed:  # "Asterisk accepted" the batch's originates, as the dialer marks them
            await writer.run(claim_store.mark_placed, [c.call_id for c in claimed], utcnow())
        if claimed and watch_peak:
            open_now = await writer.run(_open_of_tenant, campaign.tenant_id)
            run.peak_open = max(run.peak_open, open_now)
        for claim in claimed:
            channels.add(claim.tenant_id, claim.campaign_id)
            task = asyncio.ensure_future(call(claim))
            calls.add(task)
            task.add_done_callback(calls.discard)
        if claimed or calls:
            idle = 0
        elif slots:
            idle += 1
            if idle >= 20:  # nothing due for a while and no call of ours left: done
                break
        await asyncio.sleep(0 if claimed else 0.005)
    if calls:
        await asyncio.gather(*calls)
    run.seconds = time.monotonic() - start
    await writer.run(nodes.stopped, node)
    writer.close()
    return run


def _open_of_tenant(tenant_id: int) -> int:
    return Call.select().where(Call.tenant == tenant_id, Call.ended_at.is_null()).count()
