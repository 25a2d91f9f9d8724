"""What the dialer knows of a campaign while it runs: one CampaignPlan per campaign, read on
the writer thread once a second (running ones) or at start-up (campaigns of adopted calls)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from models import Campaign, Tenant, Timeslot
from models.entities import CampaignAgent
from voxcast.campaigns import calling_hours
from voxcast.campaigns.lifecycle import Cause
from voxcast.tenants import quotas

from voxcast.dialing.retry import RetryPolicy


@dataclass(frozen=True)
class CampaignPlan:
    id: int
    tenant_id: int
    type: str
    name: str
    channel_limit: int
    tenant_channel_limit: int
    message_file: str
    caller_id: str
    dial_timeout: int
    amd_enabled: bool = False
    amd_action: str = "hangup"
    record: bool = False
    message_seconds: float = 0.0
    repeat_count: int = 1
    timezone: str = "UTC"
    # Calling windows that must all be open (tenant timeslots, campaign windows); empty: any.
    rule_sets: tuple = ()
    retry: RetryPolicy | None = None  # None: read from the campaign when a call closes
    language: str = "en"  # the tenant's: its calls' prompts play in it (ari_app.language)
    # Voice Agent campaigns: lines per ready agent, after-call work, the CampaignAgent users.
    dial_ratio: float = 1.0
    wrapup_seconds: int = 0
    agent_ids: tuple = ()
    # Voice Agent pacing: "ratio" (dial_ratio per ready agent) or "predictive" under the cap.
    pacing_mode: str = "ratio"
    abandon_cap_pct: float = 3.0
    fax_document_id: int | None = None  # fax campaigns: their FaxDocument (None: none chosen)

    @property
    def retry_settings(self):
        """What Cdrs.finish_call takes as `policy`: (RetryPolicy, a machine's message counts)."""
        return None if self.retry is None else (self.retry, self.amd_action == "leave_message")


def retry_policy_of(campaign: Campaign) -> RetryPolicy:
    return RetryPolicy(campaign.retry_busy, campaign.retry_noanswer, campaign.retry_failed,
                       campaign.retry_interval, campaign.retry_machine)


def _plans(where) -> list[CampaignPlan]:
    rows = list(Campaign.select(Campaign, Tenant).join(Tenant).where(where))
    slots: dict[int, list] = {}
    if rows:
        for slot in Timeslot.select().where(Timeslot.tenant.in_({c.tenant_id for c in rows})):
            slots.setdefault(slot.tenant_id, []).append(
                calling_hours.Window(slot.weekdays, slot.start_time, slot.end_time))
    agents: dict[int, list[int]] = {}
    agent_campaigns = [c.id for c in rows if c.type == "voice_agent"]
    if agent_campaigns:
        for cid, uid in (CampaignAgent.select(CampaignAgent.campaign, CampaignAgent.user)
                         .where(CampaignAgent.campaign.in_(agent_campaigns))
                         .order_by(CampaignAgent.user).tuples()):
            agents.setdefault(cid, []).append(uid)
    return [CampaignPlan(c.id, c.tenant_id, c.type, c.name, c.channel_limit, c.tenant.channel_limit,
                         c.message_file, c.caller_id, c.dial_timeout,
                         amd_enabled=c.amd_enabled, amd_action=c.amd_action, record=c.record,
                         message_seconds=float(c.message_seconds or 0),
                         repeat_count=max(1, c.repeat_count or 1), timezone=c.tenant.timezone,
                         rule_sets=(tuple(slots.get(c.tenant_id, ())),
                                    tuple(calling_hours.windows_from_json(c.windows))),
                         retry=retry_policy_of(c), language=c.tenant.language or "en",
                         dial_ratio=float(c.dial_ratio or 1), wrapup_seconds=c.wrapup_seconds or 0,
                         agent_ids=tuple(agents.get(c.id, ())),
                         pacing_mode=c.pacing_mode or "ratio",
                         abandon_cap_pct=float(c.abandon_cap_pct or 3),
                         fax_document_id=c.fax_document_id)
            for c in rows]


def running_campaigns() -> list[CampaignPlan]:
    return _plans((Campaign.status == "running") & (Tenant.status == "active"))


def plans_of(campaign_ids) -> list[CampaignPlan]:
    """Plans of the given campaigns whatever their status (calls an earlier run left up)."""
    return _plans(Campaign.id.in_(list(campaign_ids))) if campaign_ids else []


def recording_allowed(tenant_id: int, recordings_dir: str, sounds_dir: str) -> bool:
    """Recording adds to the tenant's disk use: refused once the quota is reached."""
    tenant = Tenant.get_by_id(tenant_id)
    used_mb = quotas.disk_bytes(tenant, Path(sounds_dir), Path(recordings_dir)) / (1024 * 1024)
    return used_mb < tenant.disk_quota_mb


def closed_reason(plan: CampaignPlan, now_utc) -> Cause | None:
    """None while the campaign may dial (or send) now, else why not and when it resumes
    (local time)."""
    if calling_hours.is_open(plan.rule_sets, plan.timezone, now_utc):
        return None
    when = calling_hours.next_open(plan.rule_sets, plan.timezone, now_utc)
    if when is None:
        return Cause("no_window")
    local = when.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(plan.timezone or "UTC"))
    return Cause("closed_until", {"when": f"{local:%a %Y-%m-%d %H:%M}", "zone": plan.timezone})
