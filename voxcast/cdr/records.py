"""Opening and closing call records (writer-thread jobs). Closing a CDR moves its campaign
contact on (done, retry later, failed) and tells the admission gates (billing settles there),
in the same transaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.db import node_name
from models import Call, Campaign, CampaignContact, database
from models.entities import utcnow
from models.prepared import statements
from models.txn import tenant_turn

from voxcast.dialing.admission import Admission
from voxcast.dialing.campaign_plans import CampaignPlan, plans_of, retry_policy_of
from voxcast.dialing.claims import Claim
from voxcast.cdr.dispositions import disposition
from voxcast.dialing.retry import RetryPolicy, decide
from models.txn import atomic
from voxcast.webhooks.calls import call_closed


def _dt(value):
    """A datetime column as peewee would return it (SQLite hands back text)."""
    return Call.started_at.python_value(value)


class Cdrs:
    def __init__(self, admission: Admission):
        self.admission = admission

    def finish_call(self, call_id: int, answered_at: dt.datetime | None, ended_at: dt.datetime,
                    cause: int, cause_txt: str, rang: bool = True, machine: bool = False,
                    policy: tuple[RetryPolicy, bool] | None = None) -> str | None:
        """Close a CDR and move its contact on. Idempotent: a CDR is closed once, never
        twice. `policy`: (retry settings, message_left) from the CampaignPlan, saving a query
        per call."""
        with atomic():
            row = database.execute_sql(statements().open, (call_id,)).fetchone()
            if row is None or row[1] is not None:
                return None
            started_at, _, known_answer, entry_id, tenant_id = row
            tenant_turn(tenant_id)
            answered_at = answered_at or _dt(known_answer)
            disp = disposition(answered_at is not None, cause, rang, machine)
            if not rang and disp == "FAILED" and cause in (16, 18, 19):
                cause_txt = "no response from the trunk"
            self._close(call_id, _dt(started_at), entry_id, disp, answered_at, ended_at, cause,
                        cause_txt, policy)
        return disp

    def close_not_placed(self, call_id: int, cause_txt: str) -> str | None:
        """Asterisk refused the originate before any channel existed, because it was down or
        stopping (ari_app.outbound.OutboundCall._asterisk_away): NOT PLACED, and the contact
        is queued again with its attempt uncounted, as for a crash before the originate."""
        with atomic():
            call = Call.get_or_none(Call.id == call_id)
            if call is None or call.ended_at is not None:
                return None
            tenant_turn(call.tenant_id)
            self._close(call.id, call.started_at, call.entry_id, "NOT PLACED", None,
                        call.started_at, 0, cause_txt)
            if call.entry_id:
                (CampaignContact.update(attempts=CampaignContact.attempts - 1)
                 .where(CampaignContact.id == call.entry_id, CampaignContact.attempts > 0)
                 .execute())
            return "NOT PLACED"

    def close_lost(self, call_id: int, noticed_at: dt.datetime, trace=None,
                   traced: bool = True) -> str | None:
        """A CDR an earlier run left open whose channel Asterisk no longer has. `trace`:
        Asterisk's own record of the channel (channel_log.ChannelTrace, None: it never
        existed); `traced` False when that record could not be read.

        Never placed (no placed_at and Asterisk never created the channel: the crash came
        before the originate reached it): NOT PLACED, and the contact is queued again with its
        attempt uncounted. Answered (as we or Asterisk recorded it): ANSWERED, billed up to when
        we noticed, or FAILED when only Asterisk saw the answer (the contact picked up while
        voxcast was down and heard nothing). Otherwise the
        disposition of Asterisk's hangup cause, or FAILED, lost."""
        call = Call.get_or_none(Call.id == call_id)
        if call is None or call.ended_at is not None:
            return None
        tenant_turn(call.tenant_id)
        if call.placed_at is None and call.answered_at is None and trace is None and traced:
            self._close(call.id, call.started_at, call.entry_id, "NOT PLACED", None,
                        call.started_at, 0,
                        "not placed: voxcast stopped before dialing; the contact is queued again")
            if call.entry_id:
                (CampaignContact.update(attempts=CampaignContact.attempts - 1)
                 .where(CampaignContact.id == call.entry_id, CampaignContact.attempts > 0)
                 .execute())
            return "NOT PLACED"
        if call.answered_at is not None:
            self._close(call.id, call.started_at, call.entry_id, "ANSWERED", call.answered_at,
                        noticed_at, 16,
                        "ended while voxcast was not running; billed until noticed")
            return "ANSWERED"
        if trace is not None and trace.answered:
            self._close(call.id, call.started_at, call.entry_id, "FAILED", None, noticed_at,
                        trace.cause or 0, "answered while voxcast was not running; hung up "
                        "before voxcast was back")
            return "FAILED"
        if trace is not None and trace.cause is not None:
            disp = disposition(False, trace.cause, True)
            self._close(call.id, call.started_at, call.entry_id, disp, None, noticed_at,
                        trace.cause, f"ended while voxcast was not running (cause {trace.cause})")
            return disp
        self._close(call.id, call.started_at, call.entry_id, "FAILED", None, noticed_at, 0,
                    "lost: ended while voxcast was not running")
        return "FAILED"

    def _close(self, call_id: int, started_at: dt.datetime, entry_id: int | None, disp: str,
               answered_at, ended_at: dt.datetime, cause: int, cause_txt: str,
               policy: tuple[RetryPolicy, bool] | None = None) -> None:
        duration = max(0, round((ended_at - started_at).total_seconds()))
        billsec = max(0, round((ended_at - answered_at).total_seconds())) if answered_at else 0
        database.execute_sql(statements().close, (answered_at, ended_at, duration, billsec, disp,
                                                  cause, cause_txt[:250], call_id))
        call_closed(call_id)  # the call.ended webhook, when any endpoint exists
        if entry_id:
            if policy is not None:
                _advance_entry(entry_id, disp, ended_at, policy[0], policy[1])
            else:
                _advance_entry(entry_id, disp, ended_at)
        self.admission.finished(call_id, billsec)


def _advance_entry(entry_id: int, disp: str, now: dt.datetime,
                   policy: RetryPolicy | None = None, message_left: bool = False) -> None:
    """Move the contact on after an attempt. `policy` (with `message_left`) comes from the
    dialer's CampaignPlan when the caller has it, saving a query per call."""
    sql = statements()
    campaign_id, attempts = database.execute_sql(sql.entry, (entry_id,)).fetchone()
    if policy is None:
        campaign = Campaign.get_by_id(campaign_id)
        policy = retry_policy_of(campaign)
        message_left = campaign.amd_action == "leave_message"
    outcome = decide(disp, attempts, policy, now, message_left=message_left)
    database.execute_sql(sql.advance,
                         (outcome.state, disp, outcome.next_attempt_at or None, entry_id))


def mark_answered(call_id: int, at: dt.datetime) -> None:
    """Kept as soon as known, so a call lost in a crash is still billed up to when we noticed."""
    database.execute_sql(statements().answer, (at, at, call_id))


def set_recording(call_id: int, name: str) -> None:
    Call.update(recording=name).where(Call.id == call_id).execute()


def open_inbound(tenant_id: int, did: str, caller: str, channel_id: str) -> int:
    """The CDR of an inbound call, as prepared SQL (one per call, like the others)."""
    sql = statements()
    cursor = database.execute_sql(sql.inbound, (tenant_id, caller or "anonymous", did,
                                                channel_id, utcnow()))  # INBOUND_GIVEN's order
    return cursor.fetchone()[0] if sql.pg else cursor.lastrowid


@dataclass(frozen=True)
class OpenCall:
    call_id: int
    channel_id: str
    answered_at: dt.datetime | None
    claim: Claim | None  # campaign calls: enough to rebuild their flow handler
    plan: CampaignPlan | None
    started_at: dt.datetime | None = None


def open_calls(node: str | None = None) -> list[OpenCall]:
    """CDRs left open by an earlier run of the app (crash or restart), with what it takes to
    adopt their channels if Asterisk still has them: those of `node` (default: this
    process's), never another live node's."""
    node = node_name() if node is None else node
    calls = list(Call.select().where(Call.ended_at.is_null(), Call.node == node))
    plans = {p.id: p for p in plans_of({c.campaign_id for c in calls if c.campaign_id})}
    out = []
    for c in calls:
        plan = plans.get(c.campaign_id)
        claim = (Claim(c.id, c.channel_id, c.entry_id, c.campaign_id, c.tenant_id, c.number)
                 if plan and c.entry_id else None)
        out.append(OpenCall(c.id, c.channel_id, c.answered_at, claim, plan, c.started_at))
    return out
