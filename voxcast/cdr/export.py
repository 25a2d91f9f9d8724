"""The CDR detail report's CSV: one line per call, times in the viewer's zone (named in the
header), written batch by batch from voxcast.cdr.search.batches so an export of any size
never holds more than one batch."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

from models.entities import Call
from voxcast.cdr import search

TIME_FIELDS = ("started_at", "answered_at", "ended_at")
CENT_FRACTIONS = Decimal("0.0001")


def money(value) -> str | None:
    """A cost with its four decimals ("0.0300"), whatever the backend hands back; None: not
    rated yet."""
    return str(Decimal(str(value)).quantize(CENT_FRACTIONS)) if value is not None else None


def header(zone_name: str) -> list[str]:
    return ["id", *(f"{name} ({zone_name})" for name in TIME_FIELDS), "direction", "number",
            "did", "campaign_id", "campaign", "queue", "agent_id", "agent", "disposition",
            "hangup_cause", "cause_txt", "duration", "billsec", "cost", "agent_disposition",
            "notes", "recording"]


def row(call: Call, names: search.CallNames, local: Callable[[dt.datetime | None], str]) -> list:
    return [call.id, local(call.started_at), local(call.answered_at), local(call.ended_at),
            call.direction, call.number, call.did, call.campaign_id or "", names.campaign(call),
            names.queue(call), call.agent_id or "", names.agent(call), call.disposition,
            call.hangup_cause, call.cause_txt, call.duration, call.billsec,
            money(call.cost) or "", call.agent_disposition,
            call.notes, "yes" if call.recording else ""]


def rows(tenant_id: int, f: search.CdrFilter,
         local: Callable[[dt.datetime | None], str]) -> Iterator[list]:
    for batch in search.batches(tenant_id, f):
        names = search.names_for(tenant_id, batch)
        for call in batch:
            yield row(call, names, local)
