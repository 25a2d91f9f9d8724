"""Claiming due campaign contacts (writer-thread jobs): mark them dialing, open their CDRs
and ask the admission gates, in one transaction, so a crash can never lose an attempt nor let
a restart dial the same contact a second time."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from models import Call, CampaignContact, database
from models.entities import utcnow
from models.prepared import statements
from voxcast.campaigns import calling_hours
from voxcast.campaigns import lifecycle

from voxcast.dialing.admission import Admission
from models.txn import atomic, tenant_turn


@dataclass(frozen=True)
class Claim:
    call_id: int
    channel_id: str
    entry_id: int
    campaign_id: int
    tenant_id: int
    phone: str


class _Entry(NamedTuple):
    """A due campaign entry as claim_due reads it (models.prepared.DUE_READS, no model)."""
    id: int
    tenant_id: int
    contact_id: int
    phone: str


class Claims:
    def __init__(self, admission: Admission):
        self.admission = admission

    def claim_due(self, campaign_id: int, limit: int, now: dt.datetime | None = None,
                  rule_sets=()) -> list[Claim]:
        """Up to `limit` due contacts of a campaign that is running now, claimed.

        Batched: one select, one DNC query, one update and one insert per call of this
        method, whatever `limit`. Contacts whose own time zone is outside the calling windows
        (`rule_sets`) are moved to their next open moment instead, so they never hold up the
        others."""
        if limit <= 0:
            return []
        now = now or utcnow()
        sql = statements()
        with atomic():
            entries = [_Entry(*row) for row in database.execute_sql(
                sql.due, (campaign_id, now, campaign_id, limit)).fetchall()]
            if entries:  # before the first write of the tenant's counter rows
                tenant_turn(entries[0].tenant_id)  # (a campaign's entries are one tenant's)
            entries = self.admission.screen(entries, campaign_id, now)
            if any(rule_sets):
                entries = _defer_closed_contacts(entries, rule_sets, now)
            if not entries:
                return []
            ids = [e.id for e in entries]
            channel_ids = {e.id: f"vx-{uuid.uuid4().hex}" for e in entries}
            values = []
            for e in entries:  # in the order of models.prepared.CLAIM_GIVEN
                values += (e.tenant_id, campaign_id, e.contact_id, e.id, e.phone,
                           channel_ids[e.id], now)
            # CDRs first, then the contacts: the order a CDR's close writes them in (its
            # rollup row, then the contact's tally), so two nodes' claim and close never wait
            # for each other in a cycle (PostgreSQL's deadlock detector costs a second).
            call_ids = dict(database.execute_sql(sql.claim_insert(len(entries)),
                                                 values).fetchall())
            # The select locked these rows (PostgreSQL: FOR UPDATE SKIP LOCKED, so another
            # node claiming meanwhile takes others; SQLite: one writer), so none changed since.
            (CampaignContact.update(state="dialing", attempts=CampaignContact.attempts + 1)
             .where(CampaignContact.id.in_(ids), CampaignContact.state == "pending").execute())
            claims = [Claim(call_ids[channel_ids[e.id]], channel_ids[e.id], e.id, campaign_id,
                            e.tenant_id, e.phone) for e in entries]
            admitted, refused, reason = self.admission.check(claims)
            if refused:
                _unclaim(refused)
                if reason:
                    lifecycle.note(campaign_id, reason)
        return admitted


def _unclaim(claims: list[Claim]) -> None:
    """Claims the admission gates refused: as if never claimed (no CDR, attempt not counted)."""
    Call.delete().where(Call.id.in_([c.call_id for c in claims])).execute()
    (CampaignContact.update(state="pending", attempts=CampaignContact.attempts - 1)
     .where(CampaignContact.id.in_([c.entry_id for c in claims])).execute())


def _defer_closed_contacts(entries, rule_sets, now: dt.datetime):
    keep, later = [], {}
    for e in entries:
        zone = calling_hours.number_timezone(e.phone)
        if calling_hours.contact_is_open(rule_sets, zone, now):
            keep.append(e)
        else:
            when = calling_hours.next_open(rule_sets, zone, now) or now + dt.timedelta(hours=1)
            later.setdefault(when, []).append(e.id)
    for when, ids in later.items():
        CampaignContact.update(next_attempt_at=when).where(CampaignContact.id.in_(ids)).execute()
    return keep


def mark_placed(call_ids: list[int], at: dt.datetime) -> None:
    """Asterisk accepted these originates: after a crash their calls count as dialed."""
    p = database.param
    database.execute_sql(f'UPDATE "{Call._meta.table_name}" SET "{Call.placed_at.column_name}" '
                         f'= {p} WHERE "{Call.id.column_name}" IN ({", ".join([p] * len(call_ids))})'
                         f' AND "{Call.placed_at.column_name}" IS NULL', [at, *call_ids])
