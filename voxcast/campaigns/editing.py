"""Create and update a campaign: the one path the tenant portal and the JSON API share, so
both check the same things, save the same way and refuse bad input alike (nothing saved).

`data` uses the API's field names (group_id, ivr_id, windows as text such as
"Mon-Fri 09:00-17:00"); only the keys present are changed. The message is made (TTS or the
uploaded file converted) before the transaction, so no database lock waits on espeak or sox.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from models import Campaign, ContactGroup, Tenant, User, database
from models.cached_sql import CachedSelect, ListOf
from models.entities import CampaignAgent
from models.entities import Prompt
from models.tenancy import owns, scoped
from voxcast.audit import records as audit
from voxcast.campaigns import calling_hours
from voxcast.ivr import services as flow_service
from voxcast.tenants import quotas
from voxcast.audio import sounds
from voxcast.tenants import features
from voxcast.config import Settings
from voxcast.console import crm
from voxcast.dialing.pacing import MAX_DIAL_RATIO, MIN_DIAL_RATIO
from voxcast.dialing.predictive import MAX_CAP_PCT, MIN_CAP_PCT, PACING_MODES
from voxcast.schemas import MAX_ID
from voxcast.tenants.timeslots import TimeslotError

from . import message_fields
from .caller_ids import check_caller_id
from .errors import CampaignError, CampaignInputError, CampaignNotAllowed

PLAIN = ("name", "channel_limit", "dial_timeout", "retry_busy", "retry_noanswer",
         "retry_failed", "retry_interval", "retry_machine", "amd_enabled", "amd_action",
         "record")
FLOW_KEYS = {"type", "flow", "repeat_count", "ivr_id"}
# Voice Agent settings (kept whatever the type, so a type change loses nothing).
AGENT_PLAIN = ("wrapup_seconds", "script", "web_form_url")
MAX_WRAPUP_SECONDS = 3600


@dataclass(frozen=True)
class Actor:
    """Who changes the campaign, for the tenant log."""
    user: object
    ip: str = ""
    via: str = ""  # "" for the portal, " via API"


@dataclass
class _Message:
    name: str          # the sound's name (a TTS cache entry, or a temporary upload name)
    text: str
    seconds: float
    upload: bool


def create(tenant: Tenant, data: dict, *, settings: Settings, actor: Actor,
           upload_path: Path | None = None) -> Campaign:
    try:
        quotas.check(tenant, "campaigns")
    except quotas.QuotaExceeded as exc:
        raise CampaignNotAllowed(str(exc), code="quota") from None
    campaign = Campaign(tenant=tenant, type=data.get("type", "voice_message"))
    _apply(campaign, tenant, {"type": campaign.type, **data}, kept_type=None)
    agents = _agent_ids(tenant, data)
    message = None if campaign.type in message_fields.TYPES else _make_message(
        settings, data.get("message_text"), upload_path, None, sounds.voice_for(tenant.language),
        prompt_id=data.get("prompt_id"), tenant_id=tenant.id)
    try:
        with database.atomic():
            campaign.save()
            if agents is not None:
                _set_agents(campaign, agents)
            if message is not None:
                _set_message(campaign, message, settings)
            audit.record("campaign.create", tenant_id=tenant.id, user=actor.user,
                         object_type="campaign", object_id=campaign.id,
                         detail=f"{campaign.name} ({campaign.type}){actor.via}", ip=actor.ip)
    except BaseException:
        _discard(message, settings)
        raise
    return campaign


def update(campaign: Campaign, data: dict, *, settings: Settings, actor: Actor,
           upload_path: Path | None = None) -> Campaign:
    tenant = campaign.tenant
    fields = _apply(campaign, tenant, data, kept_type=campaign.type)
    agents = _agent_ids(tenant, data)
    # SMS, fax and e-mail play no audio: a voice text left in the form is not spoken
    message = None if campaign.type in message_fields.TYPES else _make_message(
        settings, data.get("message_text"), upload_path, campaign,
        sounds.voice_for(tenant.language), prompt_id=data.get("prompt_id"),
        tenant_id=tenant.id)
    try:
        with database.atomic():
            if fields:
                campaign.save(only=fields)
            if message is not None:
                _set_message(campaign, message, settings)
            agents_changed = agents is not None and _set_agents(campaign, agents)
            changed = sorted({f.name for f in fields} | ({"message"} if message else set())
                             | ({"agents"} if agents_changed else set()))
            audit.record("campaign.update", tenant_id=tenant.id, user=actor.user,
                         object_type="campaign", object_id=campaign.id,
                         detail=f"{campaign.name}: {', '.join(changed) or 'no change'}{actor.via}",
                         ip=actor.ip)
    except BaseException:
        _discard(message, settings)
        raise
    return campaign


# -- checks, on the unsaved object ----------------------------------------------------------

def _apply(campaign: Campaign, tenant: Tenant, data: dict, kept_type: str | None) -> list:
    """Check everything in `data` and set it on `campaign`; raise before anything is saved.
    `kept_type`: a campaign may keep its type after the plan lost it, not switch to one."""
    fields = []
    errors: dict[str, str] = {}
    if "group_id" in data:
        if data["group_id"] is None or not owns(ContactGroup, tenant.id, data["group_id"]):
            errors["group_id"] = "no such group"
    limit = max(tenant.channel_limit, 1)
    if "channel_limit" in data and not 1 <= int(data["channel_limit"] or 0) <= limit:
        errors["channel_limit"] = f"Between 1 and {limit} (your account allows up to {limit})."
    caller_id = data.get("caller_id")
    if "caller_id" in data:
        try:
            caller_id = check_caller_id(tenant.id, data["caller_id"])
        except CampaignError as exc:
            errors["caller_id"] = str(exc)
    windows = None
    if "windows" in data:
        try:
            windows = calling_hours.windows_to_json(calling_hours.parse_text(data["windows"] or ""))
        except TimeslotError as exc:
            errors["windows"] = str(exc)
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = "Enter a name."
    ratio = None
    if "dial_ratio" in data:
        ratio = _dial_ratio(data["dial_ratio"], errors)
    pacing = _pacing(data, errors)
    if "wrapup_seconds" in data and not (
            isinstance(data["wrapup_seconds"], int)
            and 0 <= data["wrapup_seconds"] <= MAX_WRAPUP_SECONDS):
        errors["wrapup_seconds"] = f"Between 0 and {MAX_WRAPUP_SECONDS} seconds."
    if "web_form_url" in data:
        why = web_form_url_error(data["web_form_url"] or "")
        if why:
            errors["web_form_url"] = why
    # SMS, fax and e-mail settings (kept whatever the type, like the agent ones)
    messaging = message_fields.check(campaign, tenant, data, errors)
    if errors:
        first = next(iter(errors.values()))
        raise CampaignInputError(first, fields=errors)
    if FLOW_KEYS & set(data):
        kind = data.get("type", campaign.type)
        if not features.allows_campaign(tenant, kind) and kind != kept_type:
            raise CampaignNotAllowed(f"Your plan does not include {features.label(kind)}.",
                                     code="feature")
        flow = data["flow"] if "flow" in data else flow_service.flow_of(campaign)
        try:
            fields += flow_service.apply_flow(
                campaign, kind, flow, data.get("repeat_count") or campaign.repeat_count or 1,
                data["ivr_id"] if "ivr_id" in data else campaign.ivr_id)
        except flow_service.FlowServiceError as exc:
            raise CampaignInputError(f"Nothing was saved: {exc}", code="invalid-flow",
                                     fields={"flow": str(exc)}) from None
    if "group_id" in data:
        campaign.group = data["group_id"]
        fields.append(Campaign.group)
    if "caller_id" in data:
        campaign.caller_id = caller_id or ""
        fields.append(Campaign.caller_id)
    if windows is not None:
        campaign.windows = windows
        fields.append(Campaign.windows)
    for name in PLAIN:
        if name in data:
            setattr(campaign, name, data[name])
            fields.append(getattr(Campaign, name))
    if ratio is not None:
        campaign.dial_ratio = ratio
        fields.append(Campaign.dial_ratio)
    for name, value in pacing.items():
        setattr(campaign, name, value)
        fields.append(getattr(Campaign, name))
    for name in AGENT_PLAIN:
        if name in data:
            value = data[name]
            setattr(campaign, name, value.strip() if isinstance(value, str) else value)
            fields.append(getattr(Campaign, name))
    for name, value in messaging.items():
        setattr(campaign, name, value)
        fields.append(getattr(Campaign, name))
    return fields


def _pacing(data: dict, errors: dict) -> dict:
    """Voice Agent pacing: the mode, and the abandon cap (percent of live-answered calls,
    0.5-10 in steps of 0.01; regulators' figure: 3)."""
    out: dict = {}
    if "pacing_mode" in data:
        mode = data["pacing_mode"]
        if mode not in PACING_MODES:
            errors["pacing_mode"] = "Either ratio or predictive."
        else:
            out["pacing_mode"] = mode
    if "abandon_cap_pct" in data:
        try:
            cap = Decimal(str(data["abandon_cap_pct"])).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            cap = None
        low, high = Decimal(str(MIN_CAP_PCT)), Decimal(str(MAX_CAP_PCT))
        if cap is None or not cap.is_finite() or not low <= cap <= high:
            errors["abandon_cap_pct"] = f"Between {low} and {high} % of live-answered calls."
        else:
            out["abandon_cap_pct"] = cap
    return out


def _dial_ratio(raw, errors: dict) -> Decimal | None:
    """Lines per ready agent, 1.0-3.0 in steps of 0.01 (voxcast.dialing.pacing clamps too)."""
    try:
        ratio = Decimal(str(raw)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        ratio = None
    if ratio is None or not ratio.is_finite() or not MIN_DIAL_RATIO <= ratio <= MAX_DIAL_RATIO:
        errors["dial_ratio"] = f"Between {MIN_DIAL_RATIO} and {MAX_DIAL_RATIO} lines per ready agent."
        return None
    return ratio


def web_form_url_error(url: str) -> str | None:
    """The CRM page the agent console opens (voxcast.console.crm fills it): an absolute
    http(s) address naming only known fields; never javascript: and the like, since it opens
    in the agent's browser session."""
    url = (url or "").strip()
    if not url:
        return None
    if len(url) > 500:
        return "At most 500 characters."
    if not crm.allowed(url):
        return ("An http:// or https:// address, without spaces; placeholders only among "
                + ", ".join("{%s}" % f for f in crm.FIELDS) + ".")
    return None


# -- the campaign's agents ------------------------------------------------------------------

def _agent_ids(tenant: Tenant, data: dict) -> list[int] | None:
    """The agents who take a Voice Agent campaign's calls: active users of this tenant with
    the role "agent". None: not given (kept)."""
    if "agent_ids" not in data:
        return None
    wanted = sorted({int(i) for i in (data["agent_ids"] or [])})
    if not wanted:
        return []
    ids = [i for i in wanted if 1 <= i <= MAX_ID]  # others cannot be anyone's (nor fit SQL)
    found = {u.id for u in User.select(User.id).where(
        User.id.in_(ids), User.tenant == tenant.id, User.role == "agent")} if ids else set()
    missing = [i for i in wanted if i not in found]
    if missing:
        raise CampaignInputError("Only your own agents can take the campaign's calls.",
                                 fields={"agent_ids": f"no such agent: {missing[0]}"})
    return wanted


def _set_agents(campaign: Campaign, user_ids: list[int]) -> bool:
    """Replace the campaign's agents; True when the set changed."""
    have = set(agent_ids(campaign))
    if have == set(user_ids):
        return False
    (CampaignAgent.delete().where(CampaignAgent.campaign == campaign.id,
                                  CampaignAgent.user.not_in(user_ids or [0])).execute())
    new = [{"tenant": campaign.tenant_id, "campaign": campaign.id, "user": u}
           for u in user_ids if u not in have]
    if new:
        CampaignAgent.insert_many(new).execute()
    return True


def agent_ids(campaign: Campaign) -> list[int]:
    if campaign.id is None:
        return []
    return [row.user_id for row in CampaignAgent.select(CampaignAgent.user)
            .where(CampaignAgent.campaign == campaign.id).order_by(CampaignAgent.user)]


def agent_ids_many(campaigns: list[Campaign]) -> dict[int, list[int]]:
    """agent_ids of several campaigns in one query: {campaign id: [user id, ...]}."""
    ids = [c.id for c in campaigns if c.id is not None]
    found: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for campaign_id, user_id in _AGENTS_OF.rows(ids):
            found[campaign_id].append(user_id)
    return found


# agent_ids_many's read (every campaign list): SQL built once per database and number of
# campaigns (models.cached_sql)
_AGENTS_OF = CachedSelect(
    lambda ids: (CampaignAgent.select(CampaignAgent.campaign, CampaignAgent.user)
                 .where(CampaignAgent.campaign.in_(ids))
                 .order_by(CampaignAgent.campaign, CampaignAgent.user)),
    samples=(ListOf(-1),))


# -- the message ----------------------------------------------------------------------------

def _make_message(settings: Settings, text: str | None, upload_path: Path | None,
                  campaign: Campaign | None, voice: str = "en", *, prompt_id=None,
                  tenant_id: int | None = None) -> _Message | None:
    """An upload wins over a prompt of the tenant's audio library (`prompt_id`), which wins
    over text; text is spoken (in the tenant's language's voice) when new or changed, or when
    that voice changed; else None (kept)."""
    text = (text or "").strip()
    try:
        if upload_path is not None:
            name = f"upload-{uuid.uuid4().hex}"
            dest = sounds.convert_upload(Path(upload_path), settings.sounds_dir, name)
            return _Message(name, "", round(sounds.duration_seconds(dest), 2), True)
        if prompt_id:
            prompt = scoped(Prompt, tenant_id).where(Prompt.id == prompt_id).first() \
                if tenant_id is not None and owns(Prompt, tenant_id, prompt_id) else None
            if prompt is None:  # another tenant's is not found either
                why = "No such prompt in your audio library."
                raise CampaignInputError(why, code="invalid-message", fields={"prompt_id": why})
            if campaign is not None and campaign.message_file == prompt.sound:
                return None
            return _Message(prompt.sound, "", float(prompt.seconds), False)
        if text and (campaign is None or text != campaign.message_text
                     or not campaign.message_file
                     or (campaign.message_file.startswith("tts-")
                         and campaign.message_file != sounds.tts_name(text, voice))):
            name = sounds.tts(text, settings.sounds_dir, voice)
            dest = settings.sounds_dir / f"{name}.wav"
            return _Message(name, text, round(sounds.duration_seconds(dest), 2), False)
    except sounds.SoundError as exc:
        raise CampaignInputError(str(exc), code="invalid-message",
                                 fields={"message_audio" if upload_path else "message_text":
                                         str(exc)}) from None
    return None


def set_message(campaign: Campaign, settings: Settings, *, text: str | None = None,
                upload_path: Path | None = None) -> None:
    """A saved campaign's new message (an upload wins over text), made and set at once."""
    message = _make_message(settings, text, upload_path, None,
                            sounds.voice_for(campaign.tenant.language))
    if message is None:
        return
    try:
        _set_message(campaign, message, settings)
    except BaseException:
        _discard(message, settings)
        raise


def _set_message(campaign: Campaign, message: _Message, settings: Settings) -> None:
    name = message.name
    if message.upload:  # campaign-<id>.wav once the campaign has its id
        name = f"campaign-{campaign.id}"
        (settings.sounds_dir / f"{message.name}.wav").replace(settings.sounds_dir / f"{name}.wav")
        message.name = name
    campaign.message_file, campaign.message_text = name, message.text
    campaign.message_seconds = message.seconds
    campaign.save(only=[Campaign.message_file, Campaign.message_text, Campaign.message_seconds])


def _discard(message: _Message | None, settings: Settings) -> None:
    """A converted upload of a change that was not saved (TTS files are a shared cache)."""
    if message is not None and message.upload and message.name.startswith("upload-"):
        (settings.sounds_dir / f"{message.name}.wav").unlink(missing_ok=True)
