"""Every change of a campaign's status, and why it is not dialing, in one place.

Why is a code plus parameters (Campaign.status_code / status_params), never a sentence:
auto-resume matches the code, and the web UI renders it in the reader's language through
`describe`. Campaign.status_reason keeps the English text for the API and the logs.
Transitions are conditional UPDATEs (`WHERE status = ...`), so the web UI and the Stasis app
may race without one undoing the other."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from models import Campaign, CampaignContact
from models.entities import utcnow
from voxcast.i18n import N_
from voxcast.webhooks import events
from voxcast.webhooks.payloads import campaign_data

# code -> template; params fill %(name)s. A code not listed renders its "text" param as is.
TEMPLATES = {
    "no_credit": N_("Paused: no credit left — top up to resume"),
    "tenant_suspended": N_("Account suspended"),
    "type_not_dialable": N_("Paused: campaign type '%(type)s' cannot be dialed"),
    "message_missing": N_("Paused: the message audio '%(name)s' is missing"),
    "ari_down": N_("Waiting for Asterisk: ARI is not reachable"),
    "no_window": N_("Outside calling hours: no calling window opens within a week"),
    "closed_until": N_("Outside calling hours, resumes at %(when)s (%(zone)s)"),
    "not_recording": N_("Not recording: the disk quota is full"),
    "no_agents": N_("Waiting for agents: none of this campaign's agents is ready"),
    "email_rate": N_("Waiting: the hourly e-mail limit (%(limit)s) is reached"),
    "feature_disabled": N_("Paused: %(type)s campaigns are not enabled for this account"),
    "no_smsc": N_("Waiting: no enabled SMSC connection to send over — ask your provider"),
}
LEGACY = "text"  # a reason written before codes existed, shown as it was


@dataclass(frozen=True)
class Cause:
    code: str
    params: dict = field(default_factory=dict)

    def text(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        return describe(self.code, self.params, gettext)

    def __hash__(self):  # params is a dict: hash what identifies the cause
        return hash((self.code, json.dumps(self.params, sort_keys=True)))


def describe(code: str, params: dict | str | None, gettext: Callable[[str], str] = lambda s: s) -> str:
    if isinstance(params, str):
        params = json.loads(params or "{}")
    params = params or {}
    if not code:
        return ""
    template = TEMPLATES.get(code)
    if template is None:
        return str(params.get("text", code))
    try:
        return gettext(template) % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return template % params


def _columns(cause: Cause | None) -> dict:
    if cause is None:
        return {Campaign.status_code: "", Campaign.status_params: "{}", Campaign.status_reason: ""}
    return {Campaign.status_code: cause.code,
            Campaign.status_params: json.dumps(cause.params, sort_keys=True),
            Campaign.status_reason: cause.text()[:250]}


def cause_of(campaign: Campaign) -> Cause | None:
    if not campaign.status_code:
        return None
    return Cause(campaign.status_code, json.loads(campaign.status_params or "{}"))


# -- transitions -------------------------------------------------------------------------
# Each transition that happened is a webhook event (campaign.started / paused / stopped /
# completed), written in the transition's transaction.

def _event(event: str, campaign: Campaign | int, status: str, **extra) -> None:
    if not isinstance(campaign, Campaign):
        campaign = Campaign.get_or_none(Campaign.id == campaign)
        if campaign is None:
            return
    events.emit(event, campaign.tenant_id, campaign_data(campaign, status, **extra))


def mark_running(campaign: Campaign) -> None:
    """Start or resume (the caller has queued the contacts, in the same transaction)."""
    values = {Campaign.status: "running", **_columns(None)}
    resumed = campaign.started_at is not None
    if campaign.started_at is None:
        values[Campaign.started_at] = campaign.started_at = utcnow()
    Campaign.update(values).where(Campaign.id == campaign.id).execute()
    campaign.status, campaign.status_code, campaign.status_reason = "running", "", ""
    _event("campaign.started", campaign, "running", resumed=resumed)


def pause_by_user(campaign: Campaign) -> bool:
    done = _move(campaign.id, ("running",), "paused", None)
    if done:
        campaign.status, campaign.status_code, campaign.status_reason = "paused", "", ""
        _event("campaign.paused", campaign, "paused", by="user")
    return done


def stop(campaign: Campaign) -> bool:
    now = utcnow()
    done = bool(Campaign.update({Campaign.status: "stopped", Campaign.finished_at: now,
                                 **_columns(None)})
                .where(Campaign.id == campaign.id,
                       Campaign.status.not_in(["completed", "stopped"])).execute())
    if done:
        campaign.status, campaign.finished_at = "stopped", now
        campaign.status_code = campaign.status_reason = ""
        _event("campaign.stopped", campaign, "stopped")
    return done


def pause_for(campaign_id: int, cause: Cause) -> bool:
    """The platform pauses a running campaign (no credit, missing audio, ...)."""
    done = _move(campaign_id, ("running",), "paused", cause)
    if done:
        _event("campaign.paused", campaign_id, "paused", by="platform", code=cause.code)
    return done


def pause_tenant(tenant_id: int, cause: Cause) -> int:
    """Every running campaign of a tenant; how many were paused."""
    running = list(Campaign.select().where(Campaign.tenant == tenant_id,
                                           Campaign.status == "running"))
    if not running:
        return 0
    paused = (Campaign.update({Campaign.status: "paused", **_columns(cause)})
              .where(Campaign.id.in_([c.id for c in running]), Campaign.status == "running")
              .execute())
    for campaign in running:
        campaign.status_reason = cause.text()[:250]
        _event("campaign.paused", campaign, "paused", by="platform", code=cause.code)
    return paused


def resume_paused(campaign_id: int, code: str) -> bool:
    """Back to running only if it is still paused for `code` (a user's pause is kept)."""
    done = bool(Campaign.update({Campaign.status: "running", **_columns(None)})
                .where(Campaign.id == campaign_id, Campaign.status == "paused",
                       Campaign.status_code == code).execute())
    if done:
        _event("campaign.started", campaign_id, "running", resumed=True)
    return done


def paused_for(code: str):
    """A query of the campaigns paused for `code`."""
    return Campaign.select().where(Campaign.status == "paused", Campaign.status_code == code)


def note(campaign_id: int, cause: Cause | None) -> None:
    """Why a running campaign is not dialing (None: it is); a paused one keeps its cause."""
    (Campaign.update(_columns(cause))
     .where(Campaign.id == campaign_id, Campaign.status == "running").execute())


def complete_if_finished(campaign_id: int) -> bool:
    """A running campaign with no contact left to dial or in a call is completed."""
    open_entries = (CampaignContact.select()
                    .where(CampaignContact.campaign == campaign_id,
                           CampaignContact.state.in_(["pending", "dialing"])).exists())
    if open_entries:
        return False
    done = bool(Campaign.update({Campaign.status: "completed", Campaign.finished_at: utcnow(),
                                 **_columns(None)})
                .where(Campaign.id == campaign_id, Campaign.status == "running").execute())
    if done:
        _event("campaign.completed", campaign_id, "completed")
    return done


def reopen_for_callback(campaign_id: int) -> bool:
    """A completed campaign runs again when an agent schedules a call back for one of its
    contacts (the campaign may have completed while the agent was still in wrap-up)."""
    done = bool(Campaign.update({Campaign.status: "running", Campaign.finished_at: None,
                                 **_columns(None)})
                .where(Campaign.id == campaign_id, Campaign.status == "completed").execute())
    if done:
        _event("campaign.started", campaign_id, "running", resumed=True)
    return done


def _move(campaign_id: int, sources: tuple[str, ...], target: str, cause: Cause | None) -> bool:
    return bool(Campaign.update({Campaign.status: target, **_columns(cause)})
                .where(Campaign.id == campaign_id, Campaign.status.in_(list(sources))).execute())
