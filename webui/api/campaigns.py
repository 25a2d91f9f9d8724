"""/api/v1/campaigns and /api/v1/ivrs: campaigns of every type (voice, SMS, fax, e-mail) with
their settings, their life cycle (start/pause/stop), live figures and survey results; IVR trees. Through the same
services as the tenant portal (campaign_service, flow_service), so the checks are the same."""
from __future__ import annotations

import json
import operator

from flask import current_app, jsonify

from models import Campaign, database
from models.cached_sql import RowMemo, ScopedList
from models.entities import Ivr
from models.tenancy import get_scoped, scoped
from voxcast.audit import records as audit
from voxcast.campaigns import calling_hours
from voxcast.ivr import services as flow_service
from voxcast.campaigns import services as campaign_service
from voxcast.campaigns import editing
from voxcast.campaigns.errors import CampaignError

from . import (ID, ApiError, body, bp, ip, own_tenant_only, page_args, paginate, principal,
               scope, target_tenant)
from .spec import CAMPAIGN_CREATE, CAMPAIGN_UPDATE, IVR_CREATE, IVR_UPDATE

PLAIN = ("name", "caller_id", "channel_limit", "dial_timeout", "retry_busy", "retry_noanswer",
         "retry_failed", "retry_interval", "retry_machine", "amd_enabled", "amd_action", "record")
MESSAGE_TEXT = ("sms_text", "sms_sender", "email_subject", "email_html", "email_text",
                "email_from", "bounce_address")  # sms, email (fax: fax_document_id)


# What a campaign shows: (JSON key, field name), an allow-list (a new column stays unseen
# until it is added here); the values are the fields' own, some converted by dump_campaign.
SHOWN = (("id", "id"), ("tenant_id", "tenant"), ("name", "name"), ("type", "type"),
         ("group_id", "group"), ("ivr_id", "ivr"), ("flow", "flow"),
         ("repeat_count", "repeat_count"), ("message_text", "message_text"),
         ("message_file", "message_file"), *((k, k) for k in PLAIN), ("windows", "windows"),
         ("status", "status"), ("status_reason", "status_reason"),
         ("status_code", "status_code"), ("status_params", "status_params"),
         ("dial_ratio", "dial_ratio"), ("wrapup_seconds", "wrapup_seconds"),
         ("pacing_mode", "pacing_mode"), ("abandon_cap_pct", "abandon_cap_pct"),
         ("script", "script"), ("web_form_url", "web_form_url"),
         *((k, k) for k in MESSAGE_TEXT), ("smsc_id", "smsc"),
         ("fax_document_id", "fax_document"), ("created_at", "created_at"))
_KEYS = tuple(key for key, _ in SHOWN)
_PICK = operator.itemgetter(*(name for _, name in SHOWN))


def dump_campaign(c: Campaign, found: tuple[dict, dict] | None = None) -> dict:
    """One campaign; `found` is _page_figures of the page it is on (else read for it alone)."""
    return _with_figures(_row_dump(c), c, found or _page_figures([c]))


def _row_dump(c: Campaign) -> dict:
    """What a campaign shows of its own row: read from the row's __data__ at once (what each
    field's accessor returns, the id for a foreign key). Depends on the row alone."""
    data = c.__data__
    try:
        out = dict(zip(_KEYS, _PICK(data)))
    except KeyError:  # a row read with some fields only
        out = {key: data.get(name) for key, name in SHOWN}
    for key in MESSAGE_TEXT:
        out[key] = out[key] or ""
    out.update({
        "flow": flow_service.flow_of(c),
        "windows": calling_hours.to_text(calling_hours.windows_from_json(out["windows"] or "")),
        "status_params": _object(out["status_params"]),
        "dial_ratio": float(out["dial_ratio"]), "abandon_cap_pct": float(out["abandon_cap_pct"]),
        "created_at": out["created_at"].isoformat() + "Z"})
    return out


def _with_figures(shown: dict, c: Campaign, found: tuple[dict, dict]) -> dict:
    """A new dict: the row's part and the live figures (progress, agents, cost) of `found`."""
    progress, agents = found
    progress = progress[c.id]
    return {**shown, "progress": campaign_service.counts(progress),
            "agent_ids": agents.get(c.id, []), "abandon_rate": progress.get("abandon_rate", 0.0),
            "cost": progress.get("cost")}


def _object(text: str | None) -> dict:
    """A stored JSON object; most are empty."""
    return {} if not text or text == "{}" else json.loads(text)


# scoped(Campaign, tenant).order_by(Campaign.id), its statements built once (models.cached_sql)
CAMPAIGN_LIST = ScopedList(Campaign, Campaign.id)
# A listed row as a model and its own part of the dump, remembered by its raw values: a row
# unchanged since the last list is not converted and dumped again (its figures always are).
_LISTED = RowMemo(lambda raw, kinds: _listed(CAMPAIGN_LIST.instance_of(raw, kinds)))


def _listed(c: Campaign) -> tuple[Campaign, dict]:
    return c, _row_dump(c)


def _page_figures(campaigns: list[Campaign]) -> tuple[dict, dict]:
    """The progress and agent ids of a page of campaigns, each read once for the page."""
    return (campaign_service.progress_many(campaigns),
            editing.agent_ids_many(campaigns))


def dump_progress(c: Campaign) -> dict:
    return {"id": c.id, "type": c.type, **campaign_service.progress(c)}


def _campaign(campaign_id: int) -> Campaign:
    return get_scoped(Campaign, scope(), campaign_id)


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


def _refused(exc: CampaignError) -> ApiError:
    return ApiError(exc.status, exc.code, str(exc), exc.fields or None)


@bp.get("/campaigns")
def campaigns_list():
    page, per_page = page_args()
    tenant_id = scope()
    listed = [_LISTED.get(raw) for raw in CAMPAIGN_LIST.page_raw(tenant_id, page, per_page)]
    found = _page_figures([c for c, _ in listed])
    return jsonify(items=[_with_figures(shown, c, found) for c, shown in listed], page=page,
                   per_page=per_page, total=CAMPAIGN_LIST.count(tenant_id))


@bp.post("/campaigns")
def campaigns_create():
    data = body(CAMPAIGN_CREATE)
    own_tenant_only(data)
    tenant = target_tenant(data)
    data.pop("tenant_id", None)
    try:
        campaign = editing.create(tenant, data, settings=_settings(),
                                  actor=editing.Actor(principal(), ip(), " via API"))
    except CampaignError as exc:
        raise _refused(exc) from None
    return jsonify(dump_campaign(Campaign.get_by_id(campaign.id))), 201


@bp.get(f"/campaigns/<{ID}:campaign_id>")
def campaigns_get(campaign_id: int):
    return jsonify(dump_campaign(_campaign(campaign_id)))


@bp.patch(f"/campaigns/<{ID}:campaign_id>")
def campaigns_update(campaign_id: int):
    campaign = _campaign(campaign_id)
    data = body(CAMPAIGN_UPDATE)
    try:
        editing.update(campaign, data, settings=_settings(),
                       actor=editing.Actor(principal(), ip(), " via API"))
    except CampaignError as exc:
        raise _refused(exc) from None
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
    except CampaignError as exc:  # 409, or 403 when the plan lacks the campaign's type
        raise _refused(exc) from None
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


@bp.get(f"/campaigns/<{ID}:campaign_id>/progress")
def campaigns_progress(campaign_id: int):
    """Live figures: calls for voice (and fax) campaigns; messages by state, segments or
    pages sent and cost so far for SMS, fax and e-mail campaigns."""
    return jsonify(dump_progress(_campaign(campaign_id)))


@bp.get(f"/campaigns/<{ID}:campaign_id>/survey")
def campaigns_survey(campaign_id: int):
    return jsonify(items=flow_service.survey_results(_campaign(campaign_id)))


# -- IVRs -------------------------------------------------------------------------------------

def dump_ivr(row: Ivr) -> dict:
    return {"id": row.id, "tenant_id": row.tenant_id, "name": row.name, "number": row.number,
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
    own_tenant_only(data)
    tenant = target_tenant(data)
    try:
        row = flow_service.save_ivr(tenant.id, data["name"], data["tree"],
                                    number=data.get("number", ""), actor=principal(), ip=ip())
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
                                    data.get("tree", row.tree), row=row,
                                    number=data.get("number"), actor=principal(), ip=ip())
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
