"""call.ended: queued when a CDR closes (voxcast.cdr.records.Cdrs._close), cheaply.

With no active endpoint anywhere (events.endpoints_exist, cached a few seconds) a closing
call costs nothing. Otherwise the call ids a writer batch closed are gathered
(models.txn.gather) and flushed before its commit: one read of those CDRs, one read of the
endpoints and one INSERT for the whole batch, in the batch's transaction."""
from __future__ import annotations

from models import Call, txn
from voxcast.webhooks import events
from voxcast.webhooks.payloads import call_data


def call_closed(call_id: int) -> None:
    if events.endpoints_exist():
        txn.gather(_flush, call_id)


def _flush(call_ids: list[int]) -> None:
    rows = list(Call.select(Call.id, Call.tenant, Call.campaign, Call.direction, Call.number,
                            Call.did, Call.disposition, Call.hangup_cause, Call.started_at,
                            Call.answered_at, Call.ended_at, Call.duration, Call.billsec)
                .where(Call.id.in_(sorted(set(call_ids)))).order_by(Call.id).dicts())
    events.emit_many("call.ended", [(row["tenant"], {**call_data(row), "tenant_id": row["tenant"]})
                                    for row in rows])
