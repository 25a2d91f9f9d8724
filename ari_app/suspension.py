"""Suspension enforcement: a suspended tenant's live calls are ended within a few seconds.

Every `every` seconds the tenants of the live call legs (the handlers the router holds, so
no database read when nothing is up) are checked in one indexed query; each leg of a tenant
that is no longer active is hung up, and its CDR closes with SUSPENDED_CAUSE. New calls are
refused where they start (the DID directory, the phones' AGI routing, the dialer's claims),
so this only has to catch the calls that were up when the suspension came."""
from __future__ import annotations

import asyncio
import logging

from ari_app.leg import CallLeg

log = logging.getLogger("voxcast.suspension")

SUSPENDED_CAUSE = "Tenant suspended"
EVERY_S = 2.0


def inactive_among(tenant_ids: list[int]) -> set[int]:
    """Which of these tenants are not active (suspended) or gone (writer thread)."""
    from models import Tenant
    active = {tid for (tid,) in Tenant.select(Tenant.id).where(
        Tenant.id.in_(tenant_ids), Tenant.status == "active").tuples()}
    return set(tenant_ids) - active


def live_legs(ctx) -> list[CallLeg]:
    return [h for h in ctx.router.handlers()
            if isinstance(h, CallLeg) and h.tenant_id is not None and not h.done]


async def cut_suspended(ctx) -> int:
    """One check: hang up the legs of tenants no longer active; returns how many."""
    legs = live_legs(ctx)
    if not legs:
        return 0
    stopped = await ctx.writer.run(inactive_among, sorted({leg.tenant_id for leg in legs}))
    cut = 0
    for leg in legs:
        if leg.tenant_id in stopped and not leg.done and not leg.cut_reason:
            leg.cut_reason = SUSPENDED_CAUSE
            log.info("tenant %s suspended: ending call %s (channel %s)", leg.tenant_id,
                     leg.call_id, leg.channel_id)
            ctx.tasks.spawn(leg.safe_hangup(), f"suspended-{leg.channel_id}")
            cut += 1
    return cut


async def watch(ctx, every: float = EVERY_S) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await cut_suspended(ctx)
        except Exception:  # a failed check must not end the watch
            log.exception("suspension check failed; retrying")
