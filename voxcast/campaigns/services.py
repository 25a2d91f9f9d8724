"""Campaign life cycle (start, pause, resume, stop), progress figures and the message audio.

Shared by the web UI and, later, the JSON API; it knows nothing of Flask. Errors a user
should read are raised as CampaignError with a message fit to show as is.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from peewee import Case, Value, fn

from models import Call, Campaign, CampaignContact, Contact, database
from models.cached_sql import CachedSelect, ListOf
from models.entities import CampaignTally, MESSAGE_FINAL_STATES, Message
from models.entities import utcnow
from voxcast.campaigns import flows_config
from voxcast.campaigns import editing, lifecycle, message_fields
from voxcast.campaigns.caller_ids import caller_ids, check_caller_id  # noqa: F401  (callers use them here)
from voxcast.campaigns.errors import CampaignError, CampaignNotAllowed
from voxcast.config import Settings
from voxcast.tenants import features

FINAL_STATES = ("completed", "stopped")




def message_path(campaign: Campaign, settings: Settings) -> Path | None:
    """The WAV file the campaign plays, or None when it has no message set."""
    if not campaign.message_file:
        return None
    return settings.sounds_dir / f"{campaign.message_file}.wav"


def check_startable(campaign: Campaign, settings: Settings) -> None:
    """Raise CampaignError with the first reason the campaign cannot run."""
    if campaign.status in FINAL_STATES:
        raise CampaignError(f"Campaign '{campaign.name}' is {campaign.status} and cannot be started again")
    if campaign.tenant.status != "active":
        raise CampaignError("Your account is suspended; campaigns cannot be started")
    if campaign.type in message_fields.TYPES and not features.allows_campaign(
            campaign.tenant, campaign.type):
        raise CampaignNotAllowed(f"Your plan does not include {features.label(campaign.type)}.",
                                 code="feature")
    if campaign.caller_id:  # a DID given back since the campaign was saved
        check_caller_id(campaign.tenant_id, campaign.caller_id)
    if campaign.group_id is None:
        raise CampaignError("The campaign has no contact group; choose one first")
    group = campaign.group
    if not Contact.select().where(Contact.group == group).exists():
        raise CampaignError(f"Group '{group.name}' has no contacts")
    if campaign.type in flows_config.MESSAGE_TYPES:
        path = message_path(campaign, settings)
        if path is None or not path.is_file():
            raise CampaignError("The campaign's message audio is missing; upload a file or enter text")
    if campaign.type == "voice_ivr" and campaign.ivr_id is None:
        raise CampaignError("Choose the IVR this campaign runs")
    if campaign.type == "voice_agent" and not editing.agent_ids(campaign):
        raise CampaignError("Choose the agents who take this campaign's calls")
    if campaign.type in message_fields.TYPES:
        problem = message_fields.start_problem(campaign, settings.faxes_dir)
        if problem is not None:
            field, reason = problem
            raise CampaignError(reason, fields={field: reason})
    try:
        flows_config.validate(campaign.type, campaign.flow, campaign.repeat_count)
    except flows_config.FlowError as exc:
        raise CampaignError(f"The campaign's settings are not valid: {exc}") from None


def start(campaign: Campaign, settings: Settings) -> None:
    """Queue every contact of the group not yet in the campaign and mark it running.

    Contacts are copied with one INSERT ... SELECT, so 100k contacts take well under a second
    and never pass through Python; the (campaign, contact) unique index makes it idempotent.
    """
    check_startable(campaign, settings)
    now = utcnow()
    with database.atomic():
        rows = (Contact
                .select(Contact.tenant, Value(campaign.id), Contact.id, Contact.phone,
                        Value("pending"), Value(0), Value(now), Value(""), Value(""))
                .where(Contact.group == campaign.group_id, Contact.tenant == campaign.tenant_id))
        (CampaignContact
         .insert_from(rows, [CampaignContact.tenant, CampaignContact.campaign,
                             CampaignContact.contact, CampaignContact.phone,
                             CampaignContact.state, CampaignContact.attempts,
                             CampaignContact.next_attempt_at, CampaignContact.last_disposition,
                             CampaignContact.result])
         .on_conflict_ignore()
         .execute())
        lifecycle.mark_running(campaign)


resume = start


def pause(campaign: Campaign) -> None:
    """Stop placing new calls; calls in progress finish. Only a running campaign pauses."""
    if campaign.status != "running" or not lifecycle.pause_by_user(campaign):
        raise CampaignError(f"Only a running campaign can be paused (this one is {campaign.status})")


def stop(campaign: Campaign) -> None:
    """End the campaign for good; pending entries stay as a record of who was never called."""
    if campaign.status in FINAL_STATES or not lifecycle.stop(campaign):
        raise CampaignError(f"Campaign '{campaign.name}' is already {campaign.status}")


def _empty_progress(campaign: Campaign) -> dict:
    params = campaign.status_params
    return {**_ZERO_CALLS, "status": campaign.status, "status_reason": campaign.status_reason,
            "status_code": campaign.status_code,
            "status_params": {} if not params or params == "{}" else json.loads(params),
            **_ZERO_BY_TYPE.get(campaign.type, {})}


# A Voice Agent campaign's figures besides the others (see _count_agent_call).
AGENT_FIGURES = {"agent_calls": 0, "connected": 0, "abandoned": 0, "abandon_rate": 0.0}

# SMS, fax and e-mail campaigns: their messages by state (Message rows: one per attempt) and
# their contacts by outcome (CampaignContact.result, the latest message's state).
IN_FLIGHT_STATES = ("queued", "submitting", "submitted")
# accepted by the SMSC / the fax machine / the SMTP server (and so submitted_at set): sent
SENT_STATES = ("submitted", "delivered", "undelivered", "expired", "sent", "bounced")
FAILED_STATES = ("undelivered", "expired", "rejected", "failed", "bounced")
CONTACT_OUTCOMES = ("delivered", "sent", "undelivered", "expired", "rejected", "failed",
                    "bounced", "no_address")
MESSAGE_FIGURES = {
    "messages": 0,        # Message rows (attempts)
    "in_flight": 0,       # queued, being handed on, or waiting for a receipt
    "sent": 0,            # accepted by the far side (submitted_at set, SENT_STATES)
    "delivered": 0, "undelivered": 0, "expired": 0, "rejected": 0, "bounced": 0,
    "send_failed": 0,     # state failed: could not be handed on / the fax call failed
    "failed_messages": 0,  # every failed state (FAILED_STATES)
    "units": 0,           # segments (SMS), pages (fax), mails, of the messages sent
    "pending": 0,         # contacts waiting for their (next) message
    **{f"contacts_{o}": 0 for o in CONTACT_OUTCOMES},
}


# progress_many's reads (every campaign list and live page): SQL built once per database and
# number of campaigns (models.cached_sql)
_TALLIES = CachedSelect(
    lambda ids: (CampaignTally.select(CampaignTally.campaign, CampaignTally.kind,
                                      CampaignTally.key, CampaignTally.n)
                 .where(CampaignTally.campaign.in_(ids), CampaignTally.n != 0)),
    samples=(ListOf(-1),))
_GROUP_SIZES = CachedSelect(
    lambda ids: (Contact.select(Contact.group, fn.COUNT(Contact.id))
                 .where(Contact.group.in_(ids)).group_by(Contact.group)),
    samples=(ListOf(-1),))


_ZERO_CALLS = {"total": 0, "dialed": 0, "answered": 0, "busy": 0, "no_answer": 0, "failed": 0,
               "completed": 0, "given_up": 0, "remaining": 0, "active": 0, "dnc": 0,
               "machine": 0, **{outcome: 0 for outcome in flows_config.RESULTS}}
_ZERO_BY_TYPE = {"voice_agent": AGENT_FIGURES,
                 **{t: {**MESSAGE_FIGURES, "cost": "0.0000"} for t in message_fields.TYPES}}


# the figures of a progress dict that are not counters
NOT_COUNTS = ("status", "status_reason", "status_code", "status_params", "abandon_rate", "cost")


def counts(progress: dict) -> dict:
    """The counters of a progress dict (its int figures): a copy without the status and the
    rate and money figures."""
    found = dict(progress)
    for key in NOT_COUNTS:
        found.pop(key, None)
    return found


def progress_many(campaigns: list[Campaign]) -> dict[int, dict]:
    """Progress of several campaigns from their live counters (CampaignTally, kept by database
    triggers as entries and calls change, models.rollups), keyed by campaign id: one indexed
    read of a few rows per campaign, however many contacts it has.

    total is the number of entries once started; before the first start it is the size of
    the campaign's group, so a draft shows what it would dial.
    """
    result = {c.id: _empty_progress(c) for c in campaigns}
    if not result:
        return result
    types = {c.id: c.type for c in campaigns}
    for cid, kind, key, n in _TALLIES.rows(list(result)):
        p = result[cid]
        if kind == "disp":
            _count_call(p, key, n)
        elif kind == "state":
            _count_entry(p, key, n)
            if key == "pending" and "pending" in p:
                p["pending"] += n
        elif kind == "result":
            if types[cid] in message_fields.TYPES:
                if f"contacts_{key}" in p:
                    p[f"contacts_{key}"] += n
            elif key in p:
                p[key] += n
            # a press-1 contact who was put through pressed 1 too
            if key == "transferred" and types[cid] == "voice_interactive":
                p["pressed1"] += n
        elif kind == "queue" and types[cid] == "voice_agent":
            _count_agent_call(p, key, n)
    for c in campaigns:
        if c.type == "voice_agent":
            p = result[c.id]
            p["abandon_rate"] = abandon_rate(p["abandoned"], p["agent_calls"])
    _count_messages(result, [c.id for c in campaigns if c.type in message_fields.TYPES])
    drafts = {c.group_id: c.id for c in campaigns
              if result[c.id]["total"] == 0 and c.group_id is not None}
    if drafts:
        sizes = dict(_GROUP_SIZES.rows(list(drafts)))
        for c in campaigns:
            if result[c.id]["total"] == 0 and c.group_id in sizes:
                result[c.id]["total"] = sizes[c.group_id]
    return result


def _count_messages(result: dict[int, dict], campaign_ids: list[int]) -> None:
    """Message figures of the message campaigns: one GROUP BY over the (campaign, state)
    index, a few rows per campaign."""
    if not campaign_ids:
        return
    # accepted: the far side took it (Dispatcher.accepted stamps submitted_at and charges);
    # a mail refused at RCPT is bounced without ever being sent, one bounced later was sent
    accepted = Case(None, [(Message.submitted_at.is_null(), 0)], 1)
    rows = (Message.select(Message.campaign, Message.state, accepted, fn.COUNT(Message.id),
                           fn.SUM(Message.units), fn.SUM(Message.cost))
            .where(Message.campaign.in_(campaign_ids))
            .group_by(Message.campaign, Message.state, accepted).tuples())
    costs = {cid: Decimal("0") for cid in campaign_ids}
    for cid, state, was_accepted, n, units, cost in rows:
        p = result[cid]
        p["messages"] += n
        if state in IN_FLIGHT_STATES:
            p["in_flight"] += n
        if was_accepted and state in SENT_STATES:
            p["sent"] += n
            p["units"] += int(units or 0)
        if state in FAILED_STATES:
            p["failed_messages"] += n
        if state == "failed":
            p["send_failed"] += n
        elif state != "sent" and state in p and state in MESSAGE_FINAL_STATES:
            p[state] += n  # delivered, undelivered, expired, rejected, bounced
        costs[cid] += Decimal(str(cost or 0))
    for cid, cost in costs.items():
        result[cid]["cost"] = str(cost.quantize(Decimal("0.0001")))


def _count_call(p: dict, disposition: str, n: int) -> None:
    if disposition == "NOT PLACED":  # a crash came before the originate: not dialed
        return
    p["dialed"] += n
    if disposition == "MACHINE":  # answered by an answering machine (AMD)
        p["machine"] += n
    if disposition == "ANSWERED":
        p["answered"] += n
    elif disposition == "BUSY":
        p["busy"] += n
    elif disposition == "NO ANSWER":
        p["no_answer"] += n
    elif disposition in ("FAILED", "CONGESTION"):
        p["failed"] += n


def _count_entry(p: dict, state: str, n: int) -> None:
    p["total"] += n
    if state == "done":
        p["completed"] += n
    elif state == "failed":
        p["given_up"] += n
    elif state == "dnc":  # skipped at dial time: on a do-not-call list
        p["dnc"] += n
    elif state in ("pending", "dialing"):
        p["remaining"] += n
        if state == "dialing":
            p["active"] += n


def _count_agent_call(p: dict, outcome: str, n: int) -> None:
    """Voice Agent calls: agent_calls (a person answered and an agent was looked for),
    connected, abandoned (no agent within 2 s, or the person hung up first), from the
    QueueCall rows the flow writes at the answer, so a call still waiting counts at once."""
    p["agent_calls"] += n
    if outcome == "abandoned":
        p["abandoned"] += n
    elif outcome in ("answered", "transferred"):
        p["connected"] += n


def abandon_rate(abandoned: int, answered: int) -> float:
    """Abandoned calls in % of the calls a person answered; 0.0 before any."""
    return round(100.0 * abandoned / answered, 1) if answered else 0.0


def progress(campaign: Campaign) -> dict:
    """total, dialed, answered, busy, no_answer, failed, completed, given_up, remaining,
    active, dnc (skipped: on a do-not-call list), machine (AMD), status, status_reason, and the outcomes of
    interactive flows: pressed1, opted_out, confirmed, cancelled, transferred, surveyed.
    SMS, fax and e-mail campaigns add MESSAGE_FIGURES (messages by state, segments / pages
    sent, contacts by outcome) and cost (the charges so far, a string with 4 decimals); a
    fax campaign's calls count in dialed, answered, busy... as a voice campaign's do."""
    return progress_many([campaign])[campaign.id]


def save_message(campaign: Campaign, settings: Settings, upload_path: Path | None = None,
                 text: str | None = None) -> None:
    """Set a saved campaign's message from an uploaded audio file (sounds/campaign-<id>.wav)
    or from text spoken by TTS, the way the campaign editing service makes it."""
    if campaign.id is None:
        raise ValueError("save the campaign before its message")
    if upload_path is None and not (text or "").strip():
        raise CampaignError("Upload an audio file or enter the text to speak")
    editing.set_message(campaign, settings, text=text, upload_path=upload_path)
