"""Manual dial from the console: the checks a campaign call passes (the number, the tenant's
blocked prefixes, the DNC lists, the campaign being the agent's) and the two CDRs of the call
(the agent's phone leg and the contact's leg, both tenant-tagged, Call.agent set). Rating and
the channel limits are the Stasis app's, as for every call it places."""
from __future__ import annotations

from dataclasses import dataclass

from models.entities import (
    AgentSession, Call, Campaign, CampaignAgent, CampaignContact, Contact, Extension, Queue,
    Tenant, User,
)
from models.entities import utcnow
from models.tenancy import scoped
from models.txn import atomic
from voxcast.contacts import dnc

from voxcast.i18n import N_

from .errors import BadNumber, BadTarget, NotLoggedIn, Refused

DIAL_FROM = ("ready", "paused", "wrapup")  # an agent ringing or on a call dials nothing
MANUAL_WRAPUP_S = 30  # after-call work of a manual call outside any campaign


@dataclass(frozen=True)
class DialPlan:
    tenant_id: int
    user_id: int
    session_id: int
    extension: str
    number: str  # E.164
    caller_id: str
    campaign_id: int | None
    contact_id: int | None
    wrapup_seconds: int
    dial_timeout: int = 30
    tenant_channel_limit: int = 0
    campaign_channel_limit: int = 0
    music_class: str = "default"  # what a held caller hears (a queue call: its queue's)


def check(tenant_id: int, user_id: int, raw_number: str, campaign_id: int | None = None,
          session_id: int | None = None) -> DialPlan:
    """Whether this agent may dial this number now; raises a ConsoleError saying why not."""
    from voxcast.phones.routing import blocked, caller_id_of, parse_prefixes, to_e164
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    user = User.get_or_none(User.id == user_id, User.tenant == tenant_id)
    if tenant is None or tenant.status != "active" or user is None or not user.active:
        raise Refused(N_("Calls are not possible for this account now."))
    session = (AgentSession.select().where(AgentSession.user == user_id,
                                           AgentSession.tenant == tenant_id,
                                           AgentSession.ended_at.is_null())
               .order_by(AgentSession.id.desc()).first())
    if session is None or (session_id is not None and session.id != session_id):
        raise NotLoggedIn(N_("Log in to the console first."))
    if session.state not in DIAL_FROM:
        raise Refused(N_("Finish the current call first."))
    ext = Extension.get_or_none(Extension.id == session.extension_id) if session.extension_id else None
    if ext is None:
        raise Refused(N_("You have no extension to ring."))
    raw = (raw_number or "").strip()
    number = to_e164(raw, tenant.country) if raw else None
    if number is None:
        raise BadNumber(N_("That is not a phone number."), "number")
    if blocked(number, raw, parse_prefixes(tenant.blocked_prefixes)):
        raise Refused(N_("Calls to that number are not allowed."))
    if dnc.is_blocked(tenant_id, number):
        raise Refused(N_("That number is on a do-not-call list."))
    campaign, contact = None, None
    if campaign_id:
        campaign = scoped(Campaign, tenant_id).where(Campaign.id == campaign_id).first()
        if campaign is None or not CampaignAgent.select().where(
                CampaignAgent.campaign == campaign.id, CampaignAgent.user == user_id).exists():
            raise BadTarget(N_("That campaign is not one of yours."), "campaign_id")
        entry = (CampaignContact.select().where(CampaignContact.campaign == campaign.id,
                                                CampaignContact.phone == number).first())
        contact = Contact.get_or_none(Contact.id == entry.contact_id) if entry else None
        if contact is None and campaign.group_id:
            contact = Contact.get_or_none(Contact.group == campaign.group_id,
                                          Contact.phone == number)
        if contact is not None and CampaignContact.select().where(
                CampaignContact.campaign == campaign.id, CampaignContact.contact == contact.id,
                CampaignContact.state == "dialing").exists():
            raise Refused(N_("The campaign is calling that contact right now."))
    caller_id = (campaign.caller_id if campaign is not None and campaign.caller_id
                 else caller_id_of(ext, tenant_id))
    wrapup = campaign.wrapup_seconds if campaign is not None else MANUAL_WRAPUP_S
    return DialPlan(tenant_id, user_id, session.id, ext.number, number, caller_id,
                    campaign.id if campaign else None, contact.id if contact else None,
                    wrapup, campaign.dial_timeout if campaign is not None else 30,
                    tenant.channel_limit, campaign.channel_limit if campaign is not None else 0)


def my_campaigns(tenant_id: int, user_id: int) -> list[tuple[int, str]]:
    """The campaigns the agent works on, for the dial form."""
    rows = (scoped(Campaign, tenant_id).join(CampaignAgent, on=(CampaignAgent.campaign == Campaign.id))
            .where(CampaignAgent.user == user_id).order_by(Campaign.name))
    return [(c.id, c.name) for c in rows]


def open_legs(plan: DialPlan, agent_channel: str, contact_channel: str) -> tuple[int, int]:
    """The CDRs of both legs, before either is dialed: the agent's phone (not rated, direction
    "agent", no campaign, as the ACD's agent legs) and the contact (direction "outbound"; its
    campaign entry is linked at the answer, link_answered)."""
    now = utcnow()
    agent = Call.create(tenant=plan.tenant_id, direction="agent", number=plan.extension,
                        channel_id=agent_channel, agent=plan.user_id, started_at=now)
    contact = Call.create(tenant=plan.tenant_id, campaign=plan.campaign_id,
                          contact=plan.contact_id, direction="outbound", number=plan.number,
                          channel_id=contact_channel, agent=plan.user_id, started_at=now)
    return agent.id, contact.id


def _entry(plan: DialPlan) -> CampaignContact | None:
    if not plan.campaign_id or not plan.contact_id:
        return None
    return CampaignContact.get_or_none(CampaignContact.tenant == plan.tenant_id,
                                       CampaignContact.campaign == plan.campaign_id,
                                       CampaignContact.contact == plan.contact_id)


def link_answered(plan: DialPlan, call_id: int) -> int | None:
    """The contact of a manual campaign call answered: their CDR is linked to their campaign
    entry (what a "call back at" disposition re-queues), so the CDR's close marks the entry
    done (they were reached) as after a dialer's answered call. Linked only at the answer: an
    unanswered manual call leaves the entry as it was. One still to be dialled is claimed as
    the dialer claims it (dialing, one attempt more); one done, given up or skipped is linked
    as it is; a contact of the campaign's group with no entry yet (added after the start) gets
    one as the dialer's would be. None for a draft campaign (its start queues the whole group),
    for an entry the dialer is calling right now, for a call outside any campaign or to a
    number of none of its contacts. Returns the entry id. Run on the writer."""
    with atomic():
        return _link(plan, call_id)


def _link(plan: DialPlan, call_id: int) -> int | None:
    call = Call.get_or_none(Call.id == call_id, Call.tenant == plan.tenant_id)
    if call is None or call.entry_id or not plan.campaign_id or not plan.contact_id:
        return call.entry_id if call is not None else None
    entry = _entry(plan)
    if entry is None:
        campaign = Campaign.get_or_none(Campaign.id == plan.campaign_id,
                                        Campaign.tenant == plan.tenant_id)
        contact = Contact.get_or_none(Contact.id == plan.contact_id,
                                      Contact.tenant == plan.tenant_id)
        if campaign is None or contact is None or campaign.status == "draft" \
                or contact.group_id != campaign.group_id:
            return None
        (CampaignContact.insert(tenant=plan.tenant_id, campaign=campaign.id, contact=contact.id,
                                phone=contact.phone, state="dialing", attempts=1,
                                next_attempt_at=utcnow())
         .on_conflict_ignore().execute())
        entry = _entry(plan)
        if entry is None:
            return None
    elif entry.state == "dialing":
        return None  # the dialer's own call to them
    elif entry.state == "pending" and not (
            CampaignContact.update(state="dialing", attempts=CampaignContact.attempts + 1)
            .where(CampaignContact.id == entry.id, CampaignContact.state == "pending").execute()):
        return None
    Call.update(entry=entry.id).where(Call.id == call.id).execute()
    return entry.id


def open_transfer_leg(tenant_id: int, number: str, channel_id: str,
                      campaign_id: int | None = None, contact_id: int | None = None,
                      agent_id: int | None = None) -> int:
    """The CDR of a leg the console dials to a transfer or conference target; an agent
    target's has Call.agent set (their console pops the contact and asks the disposition)."""
    return Call.create(tenant=tenant_id, campaign=campaign_id, contact=contact_id,
                       direction="transfer", number=number, channel_id=channel_id,
                       agent=agent_id, started_at=utcnow()).id


def acd_plan(tenant_id: int, user_id: int, session_id: int, extension: str, caller: str,
             customer_call_id: int | None, campaign_id: int | None, wrapup_seconds: int,
             queue_id: int | None = None) -> DialPlan:
    """What the console needs of a call the ACD bridged: the caller, their contact and
    campaign, the caller ID a transfer out to the PSTN is sent with."""
    from voxcast.phones.routing import caller_id_of
    customer = Call.get_or_none(Call.id == customer_call_id) if customer_call_id else None
    ext = Extension.get_or_none(Extension.number == extension)
    campaign = Campaign.get_or_none(Campaign.id == campaign_id) if campaign_id else None
    caller_id = (campaign.caller_id if campaign is not None and campaign.caller_id
                 else caller_id_of(ext, tenant_id) if ext is not None else "")
    tenant = Tenant.get_by_id(tenant_id)
    queue = Queue.get_or_none(Queue.id == queue_id) if queue_id else None
    return DialPlan(tenant_id, user_id, session_id, extension,
                    caller or (customer.number if customer else ""), caller_id, campaign_id,
                    customer.contact_id if customer else None, wrapup_seconds,
                    tenant_channel_limit=tenant.channel_limit,
                    campaign_channel_limit=campaign.channel_limit if campaign else 0,
                    music_class=(queue.music_class if queue is not None and queue.music_class
                                 else "default"))
