"""/api/v1/campaigns and /api/v1/ivrs: campaigns of every voice type with their settings, their
life cycle (start/pause/stop), live figures and survey results; IVR trees. Through the same
services as the tenant portal (campaign_service, flow_service), so the checks are the same."""
from __future__ import annotations

import json

from flask import current_app, jsonify

from models import Campaign, ContactGroup, database
from models.entities import Ivr
from models.tenancy import get_scoped, owns, scoped
from voxcast import audit, campaign_service, features, flow_service, quotas
from voxcast.campaign_service import CampaignError

from . import ID, ApiError, body, bp, ip, paginate, principal, scope, target_tenant
from .spec import CAMPAIGN_CREATE, CAMPAIGN_UPDATE, IVR_CREATE, IVR_UPDATE

PLAIN = ("name", "caller_id", "channel_limit", "dial_timeout", "retry_busy", "retry_noanswer",
         "retry_failed", "retry_interval")


def dump_campaign(c: Campaign) -> dict:
    progress = campaign_service.progress(c)
    return {"id": c.id, "tenant_id": c.tenant_id, "name": c.name, "type": c.type,
            "group_id": c.group_id, "ivr_id": c.ivr_id, "flow": flow_service.flow_of(c),
            "repeat_count": c.repeat_count, "message_text": c.message_text,
            "message_file": c.message_file, **{k: getattr(c, k) for k in PLAIN},
            "status": c.status, "status_reason": c.status_reason,
            "status_code": c.status_code, "status_params": json.loads(c.status_params or "{}"),
            "progress": {k: v for k, v in progress.items() if isinstance(v, int)},
            "created_at": c.created_at.isoformat() + "Z"}


def _campaign(campaign_id: int) -> Campaign:
    return get_scoped(Campaign, scope(), campaign_id)


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


def _apply(campaign: Campaign, data: dict) -> list:
    """Validate everything of `data` on the campaign object; raise before anything is saved."""
    tenant = campaign.tenant
    fields = []
    if "group_id" in data:
        if not owns(ContactGroup, tenant.id, data["group_id"]):
            raise ApiError(422, "validation", "No such contact group.", {"group_id": "no such group"})
        campaign.group = data["group_id"]
        fields.append(Campaign.group)
    if "channel_limit" in data and data["channel_limit"] > max(tenant.channel_limit, 1):
        raise ApiError(422, "validation", "Too many channels.", {
            "channel_limit": f"your account allows up to {tenant.channel_limit}"})
    if "caller_id" in data:  # one of the tenant's DIDs or empty, as in the portal
        try:
            data = {**data, "caller_id": campaign_service.check_caller_id(tenant.id,
                                                                          data["caller_id"])}
        except CampaignError as exc:
            raise ApiError(422, "validation", str(exc), {"caller_id": str(exc)}) from None
    for name in PLAIN:
        if name in data:
            setattr(campaign, name, data[name])
            fields.append(getattr(Campaign, name))
    if {"type", "flow", "repeat_count", "ivr_id"} & set(data):
        kind = data.get("type", campaign.type)
        if not features.has(tenant, kind):
            raise ApiError(403, "feature", f"Your plan does not include {features.label(kind)}.")
        flow = data["flow"] if "flow" in data else flow_service.flow_of(campaign)
        try:
            fields += flow_service.apply_flow(
                campaign, kind, flow, data.get("repeat_count", campaign.repeat_count or 1),
                data["ivr_id"] if "ivr_id" in data else campaign.ivr_id)
        except flow_service.FlowServiceError as exc:
            raise ApiError(422, "invalid-flow", str(exc), {"flow": str(exc)}) from None
    return fields


def _message(campaign: Campaign, data: dict) -> None:
    if data.get("message_text", "").strip() and data["message_text"].strip() != campaign.message_text:
        try:
            campaign_service.save_message(campaign, _settings(), text=data["message_text"])
        except CampaignError as exc:
            raise ApiError(422, "invalid-message", str(exc), {"message_text": str(exc)}) from None


@bp.get("/campaigns")
def campaigns_list():
    return paginate(scoped(Campaign, scope()).order_by(Campaign.id), dump_campaign)


@bp.post("/campaigns")
def campaigns_create():
    data = body(CAMPAIGN_CREATE)
    if not principal().is_admin and data.get("tenant_id", principal().tenant_id) != principal().tenant_id:
        raise ApiError(422, "validation", "tenant_id is only for the provider's key.",
                       {"tenant_id": "only with the provider's key"})
    tenant = target_tenant(data)
    try:
        quotas.check(tenant, "campaigns")
    except quotas.QuotaExceeded as exc:
        raise ApiError(403, "quota", str(exc)) from None
    campaign = Campaign(tenant=tenant, type=data.get("type", "voice_message"))
    _apply(campaign, {"type": campaign.type, **data})
    with database.atomic():
        campaign.save()
        _message(campaign, data)  # a refused message rolls the new campaign back
        audit.record("campaign.create", tenant_id=tenant.id, user=principal(),
                     object_type="campaign", object_id=campaign.id,
                     detail=f"{campaign.name} ({campaign.type}) via API", ip=ip())
    return jsonify(dump_campaign(Campaign.get_by_id(campaign.id))), 201


@bp.get(f"/campaigns/<{ID}:campaign_id>")
def campaigns_get(campaign_id: int):
    return jsonify(dump_campaign(_campaign(campaign_id)))


@bp.patch(f"/campaigns/<{ID}:campaign_id>")
def campaigns_update(campaign_id: int):
    campaign = _campaign(campaign_id)
    data = body(CAMPAIGN_UPDATE)
    fields = _apply(campaign, data)
    with database.atomic():
        if fields:
            campaign.save(only=fields)
        _message(campaign, data)
        audit.record("campaign.update", tenant_id=campaign.tenant_id, user=principal(),
                     object_type="campaign", object_id=campaign.id,
                     detail=f"{campaign.name}: {', '.join(sorted(data))} via API", ip=ip())
    return jsonify(dump_campaign(Campaign.get_by_id(campaign.id)))


def _life(campaign_id: int, action: str):
    campaign = _campaign(campaign_id)
    try:
        with database.atomic():
            if action == "start":
                campaign_service.start(campaign, _settings())
            else:
                getattr(campaign_service, action)(campaign)
            audit.record(f"campaign.{action}", tenant_id=campaign.tenant_id, user=principal(),
                         object_type="campaign", object_id=campaign.id,
                         detail=f"{campaign.name} via API", ip=ip())
    except CampaignError as exc:
        raise ApiError(409, "not-possible", str(exc)) from None
    return jsonify(dump_campaign(Campaign.get_by_id(campaign.id)))


@bp.post(f"/campaigns/<{ID}:campaign_id>/start")
def campaigns_start(campaign_id: int):
    return _life(campaign_id, "start")


@bp.post(f"/campaigns/<{ID}:campaign_id>/pause")
def campaigns_pause(campaign_id: int):
    return _life(campaign_id, "pause")


@bp.post(f"/campaigns/<{ID}:campaign_id>/stop")
def campaigns_stop(campaign_id: int):
    return _life(campaign_id, "stop")


@bp.get(f"/campaigns/<{ID}:campaign_id>/survey")
def campaigns_survey(campaign_id: int):
    return jsonify(items=flow_service.survey_results(_campaign(campaign_id)))


# -- IVRs -------------------------------------------------------------------------------------

def dump_ivr(row: Ivr) -> dict:
    return {"id": row.id, "tenant_id": row.tenant_id, "name": row.name,
            "tree": json.loads(row.tree or "{}"), "created_at": row.created_at.isoformat() + "Z"}


def _ivr_refused(exc: flow_service.FlowServiceError) -> ApiError:
    status = 409 if "already exists" in str(exc) or "used by" in str(exc) else 422
    return ApiError(status, "invalid-ivr", str(exc), {"tree": str(exc)} if status == 422 else {})


@bp.get("/ivrs")
def ivrs_list():
    return paginate(scoped(Ivr, scope()).order_by(Ivr.id), dump_ivr)


@bp.post("/ivrs")
def ivrs_create():
    data = body(IVR_CREATE)
    if not principal().is_admin and data.get("tenant_id", principal().tenant_id) != principal().tenant_id:
        raise ApiError(422, "validation", "tenant_id is only for the provider's key.",
                       {"tenant_id": "only with the provider's key"})
    tenant = target_tenant(data)
    try:
        row = flow_service.save_ivr(tenant.id, data["name"], data["tree"], actor=principal(), ip=ip())
    except flow_service.FlowServiceError as exc:
        raise _ivr_refused(exc) from None
    return jsonify(dump_ivr(row)), 201


@bp.get(f"/ivrs/<{ID}:ivr_id>")
def ivrs_get(ivr_id: int):
    return jsonify(dump_ivr(get_scoped(Ivr, scope(), ivr_id)))


@bp.patch(f"/ivrs/<{ID}:ivr_id>")
def ivrs_update(ivr_id: int):
    row = get_scoped(Ivr, scope(), ivr_id)
    data = body(IVR_UPDATE)
    try:
        row = flow_service.save_ivr(row.tenant_id, data.get("name", row.name),
                                    data.get("tree", row.tree), row=row, actor=principal(), ip=ip())
    except flow_service.FlowServiceError as exc:
        raise _ivr_refused(exc) from None
    return jsonify(dump_ivr(row))


@bp.delete(f"/ivrs/<{ID}:ivr_id>")
def ivrs_delete(ivr_id: int):
    row = get_scoped(Ivr, scope(), ivr_id)
    try:
        flow_service.delete_ivr(row, actor=principal(), ip=ip())
    except flow_service.FlowServiceError as exc:
        raise _ivr_refused(exc) from None
    return "", 204
