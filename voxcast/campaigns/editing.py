"""Create and update a campaign: the one path the tenant portal and the JSON API share, so
both check the same things, save the same way and refuse bad input alike (nothing saved).

`data` uses the API's field names (group_id, ivr_id, windows as text such as
"Mon-Fri 09:00-17:00"); only the keys present are changed. The message is made (TTS or the
uploaded file converted) before the transaction, so no database lock waits on espeak or sox.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from models import Campaign, ContactGroup, Tenant, database
from models.tenancy import owns
from voxcast.audit import records as audit
from voxcast.campaigns import calling_hours
from voxcast.ivr import services as flow_service
from voxcast.tenants import quotas
from voxcast.audio import sounds
from voxcast.tenants import features
from voxcast.config import Settings
from voxcast.tenants.timeslots import TimeslotError

from .caller_ids import check_caller_id
from .errors import CampaignError, CampaignInputError, CampaignNotAllowed

PLAIN = ("name", "channel_limit", "dial_timeout", "retry_busy", "retry_noanswer",
         "retry_failed", "retry_interval", "retry_machine", "amd_enabled", "amd_action",
         "record")
FLOW_KEYS = {"type", "flow", "repeat_count", "ivr_id"}


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
    message = _make_message(settings, data.get("message_text"), upload_path, None,
                            sounds.voice_for(tenant.language))
    try:
        with database.atomic():
            campaign.save()
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
    message = _make_message(settings, data.get("message_text"), upload_path, campaign,
                            sounds.voice_for(tenant.language))
    try:
        with database.atomic():
            if fields:
                campaign.save(only=fields)
            if message is not None:
                _set_message(campaign, message, settings)
            changed = sorted({f.name for f in fields} | ({"message"} if message else set()))
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
    if errors:
        first = next(iter(errors.values()))
        raise CampaignInputError(first, fields=errors)
    if FLOW_KEYS & set(data):
        kind = data.get("type", campaign.type)
        if not features.has(tenant, kind) and kind != kept_type:
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
    return fields


# -- the message ----------------------------------------------------------------------------

def _make_message(settings: Settings, text: str | None, upload_path: Path | None,
                  campaign: Campaign | None, voice: str = "en") -> _Message | None:
    """An upload wins over text; text is spoken (in the tenant's language's voice) when new
    or changed, or when that voice changed; else None (kept)."""
    text = (text or "").strip()
    try:
        if upload_path is not None:
            name = f"upload-{uuid.uuid4().hex}"
            dest = sounds.convert_upload(Path(upload_path), settings.sounds_dir, name)
            return _Message(name, "", round(sounds.duration_seconds(dest), 2), True)
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
