"""Asterisk's own record of channels (cel_custom's channel log, voxcast.runtime.channel_log)
read for calls whose fate the app did not see: CDRs a crash left open, and originates whose
answer was lost with the socket. A channel Asterisk never created was never dialled."""
from __future__ import annotations

import asyncio
import logging

from models.entities import utcnow
from voxcast.runtime import channel_log

from ari_app.client import AriError

log = logging.getLogger("voxcast.app")


async def channel_traces(ctx, gone: list) -> tuple[dict, bool]:
    """Asterisk's record (channel_log) of the channels of `gone` CDRs: which existed, were
    answered, how they ended. (found, False) when Asterisk is not keeping that record: the
    caller must then assume any of them may have been dialed."""
    if not gone:
        return {}, True
    try:
        module = await ctx.ari.get("/asterisk/modules/cel_custom.so")
    except AriError as exc:
        log.warning("cannot tell whether Asterisk logs channel events: %s", exc)
        return {}, False
    if module.get("status") != "Running":
        log.warning("cel_custom is not running: calls lost in the crash are counted as dialed")
        return {}, False
    since = min((o.started_at for o in gone if o.started_at), default=utcnow())
    found = await asyncio.to_thread(channel_log.traces, channel_log.log_path(ctx.settings),
                                    [o.channel_id for o in gone], since)
    return found, True
