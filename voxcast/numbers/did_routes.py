"""Where a dialled DID's call goes (read on the Stasis app's writer thread, except the pure
choice `destination`).

`find_did` loads everything the choice needs in one query (cached briefly by
ari_app.dids.DidDirectory); `destination` picks the open or the closed destination by the
tenant's timeslots in its time zone (pure, unit-tested); `resolve` checks again, at call
time, that the chosen queue / IVR / user / campaign is still the tenant's and loads what the
flow runs. A target that fails the check sends the caller to the greeting, never elsewhere.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import NamedTuple

from models import Call, Campaign, Did, Extension, Tenant, User
from models.entities import CampaignAgent, Ivr, Queue, Timeslot, utcnow
from voxcast.campaigns import flows_config
from voxcast.ivr import flow_store
from voxcast.tenants import timeslots

log = logging.getLogger("voxcast.did_routes")

KINDS = ("greeting", "ivr", "queue", "user", "campaign", "fax")  # models.entities.DID_ROUTES
UNTARGETED = ("greeting", "fax")  # kinds that need no target id


class Slot(NamedTuple):
    """A timeslot as timeslots.is_open reads it."""
    weekdays: str
    start_time: str
    end_time: str


@dataclass(frozen=True)
class DidRoute:
    number: str
    tenant_id: int
    tenant_status: str
    tenant_channel_limit: int
    greeting_file: str
    greeting_text: str
    ivr_id: int | None = None
    route: str = "greeting"
    queue_id: int | None = None
    user_id: int | None = None
    campaign_id: int | None = None
    closed_route: str = ""  # "" = the same destination at any time
    closed_target: int | None = None
    closed_text: str = ""
    timezone: str = "UTC"
    slots: tuple[Slot, ...] = field(default_factory=tuple)
    fax_detect: bool = False  # a fax tone on the other routes diverts to receiving
    fax_emails: str = ""  # where received faxes are mailed


@dataclass(frozen=True)
class Destination:
    kind: str  # one of KINDS
    target: int | None = None  # the queue / IVR / user / campaign id
    closed: bool = False  # chosen because the tenant is outside its timeslots
    text: str = ""  # what a greeting says (TTS) when there is no greeting file


def find_did(number: str) -> DidRoute | None:
    candidates = {number, number.lstrip("+"), "+" + number.lstrip("+")}
    did = (Did.select(Did, Tenant).join(Tenant)
           .where(Did.number.in_(list(candidates))).first())
    if did is None:
        return None
    slots = ()
    if did.closed_route:
        slots = tuple(Slot(*row) for row in Timeslot.select(
            Timeslot.weekdays, Timeslot.start_time, Timeslot.end_time)
            .where(Timeslot.tenant == did.tenant_id).tuples())
    return DidRoute(did.number, did.tenant_id, did.tenant.status, did.tenant.channel_limit,
                    did.greeting_file, did.greeting_text or did.tenant.greeting_text, did.ivr_id,
                    did.route or "greeting", did.queue_id, did.user_id, did.campaign_id,
                    did.closed_route, did.closed_target, did.closed_text,
                    did.tenant.timezone or "UTC", slots, bool(did.fax_detect),
                    did.fax_emails or "")


def _open_target(route: DidRoute) -> int | None:
    return {"ivr": route.ivr_id, "queue": route.queue_id, "user": route.user_id,
            "campaign": route.campaign_id}.get(route.route)


def destination(route: DidRoute, now_utc: dt.datetime) -> Destination:
    """The open destination, or the closed one when time-of-day routing is on and `now_utc`
    is outside every timeslot of the tenant (in its time zone; no timeslots: always open).
    A kind whose target is missing falls back to the greeting."""
    closed = bool(route.closed_route) and not timeslots.is_open(route.slots, route.timezone,
                                                                  now_utc)
    if closed:
        kind, target = route.closed_route, route.closed_target
        text = route.closed_text or route.greeting_text
    else:
        kind, target, text = route.route, _open_target(route), route.greeting_text
    if kind not in KINDS or (kind not in UNTARGETED and target is None):
        kind, target = "greeting", None
    return Destination(kind, target if kind not in UNTARGETED else None, closed, text)


# -- call time: the target checked again and loaded ---------------------------------------

@dataclass(frozen=True)
class UserTarget:
    user_id: int
    extensions: tuple[str, ...]  # the user's extensions of the tenant, rung together
    email: str  # where voicemail goes: the user's address, else the tenant's
    name: str


@dataclass(frozen=True)
class CampaignTarget:
    campaign_id: int
    type: str
    spec: flow_store.FlowSpec | None  # the tree callers run; None for voice_agent
    wrapup_seconds: int = 0
    agent_ids: tuple[int, ...] = ()  # voice_agent: the campaign's agents (active users)


@dataclass(frozen=True)
class FaxTarget:
    tenant_id: int


def resolve(tenant_id: int, dest: Destination, caller: str, call_id: int | None):
    """What the flow needs for `dest`, checked to be the tenant's: an IVR's FlowSpec, a queue
    id, a UserTarget or a CampaignTarget; None when the target is gone or not the tenant's
    (logged; the caller then hears the greeting)."""
    try:
        if dest.kind == "ivr":
            tree = flow_store.ivr_tree(tenant_id, dest.target)
            return None if tree is None else flow_store.FlowSpec(
                tree, tenant_id, {"phone": caller}, call_id=call_id, ivr_id=dest.target,
                phone=caller)
        if dest.kind == "queue":
            queue = Queue.get_or_none(Queue.id == dest.target, Queue.tenant == tenant_id)
            return queue.id if queue else None
        if dest.kind == "user":
            return user_target(tenant_id, dest.target)
        if dest.kind == "campaign":
            return campaign_target(tenant_id, dest.target, caller, call_id)
        if dest.kind == "fax":  # the DID's own settings: nothing to check again
            return FaxTarget(tenant_id)
    except flow_store.ForeignFlowError as exc:
        log.warning("DID destination %s %s refused: %s", dest.kind, dest.target, exc)
        return None
    return None


def user_target(tenant_id: int, user_id: int) -> UserTarget | None:
    user = User.get_or_none(User.id == user_id, User.tenant == tenant_id)
    if user is None or not user.active:
        return None
    numbers = tuple(n for (n,) in Extension.select(Extension.number)
                    .where(Extension.user == user.id, Extension.tenant == tenant_id)
                    .order_by(Extension.number).tuples())
    email = user.email or Tenant.get_by_id(tenant_id).email  # no address: the tenant's
    return UserTarget(user.id, numbers, email, user.username)


def campaign_target(tenant_id: int, campaign_id: int, caller: str,
                    call_id: int | None) -> CampaignTarget | None:
    """A campaign's flow for inbound callers: its IVR (voice_ivr), its agents (voice_agent),
    or the tree its type compiles to (message, press 1, survey, reminder) with its message."""
    campaign = Campaign.get_or_none(Campaign.id == campaign_id, Campaign.tenant == tenant_id)
    if campaign is None:
        return None
    values = {"phone": caller}
    if campaign.type == "voice_agent":
        agents = tuple(u for (u,) in CampaignAgent.select(CampaignAgent.user)
                       .join(User, on=(CampaignAgent.user == User.id))
                       .where(CampaignAgent.campaign == campaign.id, User.tenant == tenant_id,
                              User.active == True).tuples())  # noqa: E712 (SQL)
        return CampaignTarget(campaign.id, campaign.type, None, campaign.wrapup_seconds or 0,
                              agents)
    if campaign.type == "voice_ivr":
        tree = flow_store.ivr_tree(tenant_id, campaign.ivr_id) if campaign.ivr_id else None
        if tree is None:
            return None
        ivr_id = campaign.ivr_id
    else:
        if campaign.type in flows_config.MESSAGE_TYPES and not campaign.message_file:
            return None  # nothing to play
        cfg = flows_config.validate(campaign.type, campaign.flow, campaign.repeat_count)
        tree = flows_config.compile_tree(campaign.type, cfg, campaign.message_file,
                                         max(1, campaign.repeat_count or 1))
        ivr_id = None
    return CampaignTarget(campaign.id, campaign.type, flow_store.FlowSpec(
        tree, tenant_id, values, campaign.id, None, None, call_id, ivr_id, caller))


def open_user_leg(tenant_id: int, number: str, channel_id: str) -> int:
    """The CDR of the leg ringing a user's phone: the tenant's own extension, so not rated."""
    return Call.create(tenant=tenant_id, direction="transfer", number=number,
                       channel_id=channel_id, started_at=utcnow()).id


def phone_ivr(tenant_id: int, ivr_id: int, extension: str,
              channel_id: str) -> tuple[flow_store.FlowSpec, int] | None:
    """A phone calling an IVR number: (the IVR's FlowSpec with a new CDR, the tenant's channel
    limit) when the tenant is active and both the extension and the IVR are its own."""
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None or tenant.status != "active" or not extension:
        return None
    if not Extension.select().where(Extension.number == extension,
                                    Extension.tenant == tenant_id).exists():
        return None
    try:
        tree = flow_store.ivr_tree(tenant_id, ivr_id)
    except flow_store.ForeignFlowError as exc:
        log.warning("phone IVR %s refused: %s", ivr_id, exc)
        return None
    if tree is None:
        return None
    number = Ivr.get_by_id(ivr_id).number
    call = Call.create(tenant=tenant_id, direction="internal", number=extension, did=number,
                       channel_id=channel_id, started_at=utcnow())
    spec = flow_store.FlowSpec(tree, tenant_id, {"phone": extension}, call_id=call.id,
                               ivr_id=ivr_id, phone=extension)
    return spec, tenant.channel_limit
