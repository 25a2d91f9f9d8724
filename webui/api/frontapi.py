"""/api/v1 resources a billing front end needs besides provisioning: the ledger and the
balance, rate plans and their rates, quotas with their usage, feature permissions (read; the
provider's key sets a tenant's features and quotas), the account's calling hours (timeslots)
and a campaign's message audio upload. Thin: each calls the service the portal calls
(voxcast.billing.ledger / reports / plans, voxcast.tenants.services / quotas / features,
voxcast.campaigns.editing)."""
from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path

from flask import current_app, jsonify, request

from models import Campaign, Tenant
from models.entities import FEATURES, LEDGER_KINDS, LedgerEntry, Rate, RatePlan, Timeslot
from models.tenancy import get_scoped
from voxcast.billing import ledger, plans, reports
from voxcast.campaigns import editing, message_fields
from voxcast.campaigns.errors import CampaignError
from voxcast.tenants import features, quotas
from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import QUOTA_FIELDS, TenantError

from . import ID, ApiError, admin_only, body, bp, ip, paginate, principal, scope
from .contact_centre import _tenant_scope
from .frontapi_spec import FEATURES_UPDATE, QUOTAS_UPDATE, TIMESLOT_CREATE
from .periods import api_period

FOUR = Decimal("0.0001")
SIX = Decimal("0.000001")


def _money(value, places: Decimal = FOUR) -> str:
    return str(Decimal(str(value or 0)).quantize(places))


def _time(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def _tenant(tenant_id: int) -> Tenant:
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        raise ApiError(404, "not-found", "Not found.")
    return tenant


def _refused(exc: TenantError) -> ApiError:
    return ApiError(422, "validation", "; ".join(exc.errors.values()),
                    {k or "body": v for k, v in exc.errors.items()})


# -- the ledger and the balance -------------------------------------------------------------

def dump_entry(e: LedgerEntry) -> dict:
    return {"id": e.id, "tenant_id": e.tenant_id, "kind": e.kind, "amount": _money(e.amount),
            "balance_after": _money(e.balance_after), "free_money": _money(e.free_money),
            "free_seconds": e.free_seconds, "reference": e.reference,
            "call_id": e.call_id, "message_ref": e.message_ref,
            "created_at": _time(e.created_at)}


def _kinds() -> tuple[str, ...] | None:
    """?kind=payment,topup (or repeated): the kinds asked for; ?payments=true: the credits."""
    names = [k.strip() for raw in request.args.getlist("kind") for k in raw.split(",")
             if k.strip()]
    unknown = [k for k in names if k not in LEDGER_KINDS]
    if unknown:
        raise ApiError(400, "bad-parameter", "'kind' must be among " + ", ".join(LEDGER_KINDS)
                       + ".", {"kind": "unknown kind " + ", ".join(unknown)})
    if request.args.get("payments", "").lower() in ("1", "true", "yes"):
        names = [k for k in (names or ledger.CREDIT_KINDS) if k in ledger.CREDIT_KINDS]
        return tuple(names) or ("-",)
    return tuple(names) or None


@bp.get("/ledger")
def ledger_list():
    """The ledger newest first (the portal's payment history), filtered by kind and by local
    days (start/end in the tenant's zone; without them every day). The provider's key sees
    every tenant's rows, or one tenant's with tenant_id."""
    tenant_id = scope()
    query = reports.statement(tenant_id, _kinds())
    if request.args.get("start") or request.args.get("end"):
        period = api_period(tenant_id)
        query = query.where(LedgerEntry.created_at >= period.since,
                            LedgerEntry.created_at < period.until)
    return paginate(query, dump_entry)


@bp.get("/balance")
def balance_get():
    """The balance, what can be spent now (balance + free credit - reservations) and the free
    credit / minutes / included units still open."""
    tenant = _tenant(_tenant_scope())
    return jsonify(
        tenant_id=tenant.id, balance=_money(ledger.balance(tenant.id)),
        available=_money(ledger.available(tenant.id)),
        free_money=_money(ledger.free_money(tenant.id)),
        free_seconds=ledger.free_seconds(tenant.id),
        low_balance_threshold=_money(tenant.low_balance_threshold),
        buckets=[{"id": b.id, "kind": b.kind, "amount": _money(b.amount),
                  "granted_amount": _money(b.granted_amount), "seconds": b.seconds,
                  "granted_seconds": b.granted_seconds, "units": b.units,
                  "granted_units": b.granted_units, "source": b.source,
                  "expires_at": _time(b.expires_at), "created_at": _time(b.created_at)}
                 for b in ledger.buckets(tenant.id)])


# -- rate plans and rates -------------------------------------------------------------------

def dump_plan(p: RatePlan) -> dict:
    return {"id": p.id, "name": p.name, "description": p.description,
            "is_default": p.is_default, "sms_price": _money(p.sms_price, SIX),
            "fax_page_price": _money(p.fax_page_price, SIX),
            "email_price": _money(p.email_price, SIX),
            "inbound_per_minute": _money(p.inbound_per_minute, SIX),
            "did_monthly_fee": _money(p.did_monthly_fee), "version": p.version}


def dump_rate(r: Rate) -> dict:
    return {"id": r.id, "plan_id": r.plan_id, "prefix": r.prefix, "description": r.description,
            "per_minute": _money(r.per_minute, SIX),
            "connection_fee": _money(r.connection_fee, SIX),
            "initial_s": r.initial_s, "increment_s": r.increment_s}


def _own_plan_id() -> int | None:
    """The plan a tenant key (or the provider's key with tenant_id) is on; None: every plan
    (the provider's key alone)."""
    tenant_id = scope()
    if tenant_id is None:
        return None
    plan = plans.plan_of_tenant(tenant_id)
    return plan.id if plan is not None else 0


def _plan(plan_id: int) -> RatePlan:
    """The provider's key: any plan; a tenant key: only its own (another plan is 404)."""
    own = _own_plan_id() if not principal().is_admin else None
    plan = RatePlan.get_or_none(RatePlan.id == plan_id)
    if plan is None or (own is not None and own != plan.id) or \
            (not principal().is_admin and own is None):
        raise ApiError(404, "not-found", "Not found.")
    return plan


@bp.get("/plans")
def plans_list():
    """The provider's key: every rate plan (with tenant_id: that tenant's); a tenant key: its
    own plan only."""
    query = RatePlan.select().order_by(RatePlan.name)
    own = _own_plan_id()
    if own is not None:
        query = query.where(RatePlan.id == own)
    return paginate(query, dump_plan)


@bp.get(f"/plans/<{ID}:plan_id>")
def plans_get(plan_id: int):
    return jsonify(dump_plan(_plan(plan_id)))


@bp.get(f"/plans/<{ID}:plan_id>/rates")
def plans_rates(plan_id: int):
    """A plan's destination rates by prefix; ?q= a prefix (digits) or part of the
    description, as the portal's rates page searches."""
    plan = _plan(plan_id)
    query = Rate.select().where(Rate.plan == plan.id).order_by(Rate.prefix)
    search = (request.args.get("q") or "").strip()
    if len(search) > 64:
        raise ApiError(400, "bad-parameter", "'q' is at most 64 characters.",
                       {"q": "at most 64 characters"})
    if search:
        digits = plans.normalize_prefix(search)
        query = query.where(Rate.prefix.startswith(digits) if digits.isdigit()
                            else Rate.description.contains(search))
    return paginate(query, dump_rate)


# -- quotas, usage and features -------------------------------------------------------------

def dump_quotas(tenant: Tenant) -> dict:
    settings = current_app.config["VOXCAST_SETTINGS"]
    items = [{"kind": u.kind, "field": quotas.QUOTAS[u.kind][0], "label": u.label,
              "limit": u.limit,
              "used": round(u.used, 1) if u.kind == "disk_mb" else int(u.used),
              "percent": u.percent}
             for u in quotas.usage(tenant, settings.sounds_dir)]
    return {"tenant_id": tenant.id, "items": items,
            "rates": {"sms_per_second": tenant.sms_per_second,
                      "email_per_hour": tenant.email_per_hour}}


def dump_features(tenant: Tenant) -> dict:
    on = features.enabled(tenant)
    return {"tenant_id": tenant.id, "features": [n for n in FEATURES if n in on],
            "items": [{"name": n, "label": features.label(n), "enabled": n in on}
                      for n in FEATURES]}


@bp.get("/quotas")
def quotas_get():
    """Each limit of the plan (users, agents, campaigns, contacts, channels, disk MB) with the
    current usage; the provider's key names a tenant_id."""
    return jsonify(dump_quotas(_tenant(_tenant_scope())))


@bp.get("/features")
def features_get():
    return jsonify(dump_features(_tenant(_tenant_scope())))


@bp.patch(f"/tenants/<{ID}:tenant_id>/features")
@admin_only
def tenants_features(tenant_id: int):
    tenant = _tenant(tenant_id)
    data = body(FEATURES_UPDATE)
    try:
        tenant_service.set_features(tenant, data["features"], actor=principal(), ip=ip())
    except TenantError as exc:
        raise _refused(exc) from None
    return jsonify(dump_features(Tenant.get_by_id(tenant.id)))


@bp.patch(f"/tenants/<{ID}:tenant_id>/quotas")
@admin_only
def tenants_quotas(tenant_id: int):
    """Change some limits; the others stay."""
    tenant = _tenant(tenant_id)
    data = body(QUOTAS_UPDATE)
    values = {name: int(getattr(tenant, name)) for name in QUOTA_FIELDS}
    values.update(data)
    try:
        tenant_service.set_quotas(tenant, values, actor=principal(), ip=ip())
    except TenantError as exc:
        raise _refused(exc) from None
    return jsonify(dump_quotas(Tenant.get_by_id(tenant.id)))


# -- the account's calling hours (timeslots) -------------------------------------------------

def dump_timeslot(s: Timeslot) -> dict:
    return {"id": s.id, "tenant_id": s.tenant_id, "name": s.name, "weekdays": s.weekdays,
            "start": s.start_time, "end": s.end_time}


@bp.get("/timeslots")
def timeslots_list():
    """The account's calling hours (campaigns without windows of their own dial only then;
    none: any time). The provider's key names a tenant_id."""
    tenant_id = _tenant_scope()
    rows = Timeslot.select().where(Timeslot.tenant == tenant_id).order_by(Timeslot.id)
    return jsonify(items=[dump_timeslot(s) for s in rows])


@bp.post(f"/tenants/<{ID}:tenant_id>/timeslots")
@admin_only
def tenants_timeslot_add(tenant_id: int):
    tenant = _tenant(tenant_id)
    data = body(TIMESLOT_CREATE)
    try:
        slot = tenant_service.add_timeslot(tenant, data.get("name", ""), data["weekdays"],
                                           data["start"], data["end"], actor=principal(),
                                           ip=ip())
    except TenantError as exc:
        raise _refused(exc) from None
    return jsonify(dump_timeslot(slot)), 201


@bp.delete(f"/tenants/<{ID}:tenant_id>/timeslots/<{ID}:slot_id>")
@admin_only
def tenants_timeslot_delete(tenant_id: int, slot_id: int):
    tenant = _tenant(tenant_id)
    if not Timeslot.select().where(Timeslot.id == slot_id, Timeslot.tenant == tenant.id).exists():
        raise ApiError(404, "not-found", "Not found.")
    tenant_service.delete_timeslot(tenant, slot_id, actor=principal(), ip=ip())
    return "", 204


# -- a campaign's message audio ---------------------------------------------------------------

AUDIO_MAX = 20 * 1024 * 1024


@bp.put(f"/campaigns/<{ID}:campaign_id>/message")
def campaigns_message(campaign_id: int):
    """Upload the message a voice campaign plays (the portal's "Message audio file"): the
    body is the audio (audio/wav, audio/mpeg, ...) or a multipart form with a `file` part;
    it is converted as the portal converts it. Text to speak: PATCH message_text."""
    campaign = get_scoped(Campaign, scope(), campaign_id)
    if campaign.type in message_fields.TYPES:
        raise ApiError(422, "validation", "SMS, fax and e-mail campaigns play no audio.",
                       {"file": "only voice campaigns play a message"})
    upload = request.files.get("file")
    raw = None if upload is not None else request.get_data(cache=False)
    if (upload is None or not upload.filename) and not raw:
        raise ApiError(400, "bad-request", "Send the audio as the body or as a 'file' part.")
    suffix = Path(upload.filename).suffix[:10] if upload is not None else ""
    fd, name = tempfile.mkstemp(prefix="voxcast-upload-", suffix=suffix)
    os.close(fd)
    path = Path(name)
    try:
        if upload is not None:
            upload.save(name)
        else:
            path.write_bytes(raw)
        if path.stat().st_size > AUDIO_MAX:
            raise ApiError(413, "too-large", "The audio is larger than 20 MB.")
        editing.update(campaign, {}, settings=current_app.config["VOXCAST_SETTINGS"],
                       actor=editing.Actor(principal(), ip(), " via API"), upload_path=path)
    except CampaignError as exc:
        raise ApiError(exc.status, exc.code, str(exc), exc.fields or None) from None
    finally:
        path.unlink(missing_ok=True)
    from .campaigns import dump_campaign
    return jsonify(dump_campaign(Campaign.get_by_id(campaign.id)))
