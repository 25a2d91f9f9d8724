"""The disposition form at the end of an agent's call: what happened (one of the tenant's
dispositions) and the agent's notes, stored with the call. A "callback" disposition queues the
campaign contact again for the chosen time, a "dnc" one puts the number on the tenant's DNC
list. Submitting it ends the agent's wrap-up (back to ready), unless they paused meanwhile.

An agent may only record calls they took: Call.agent is them, on the call itself or on the
caller's side of the same queue call (QueueCall links the caller's CDR and the agent leg's), so
the console may send either id."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import Call, CampaignContact, Tenant, User, database
from models.entities import AgentSession, QueueCall, utcnow
from models.tenancy import TenantScopeError, get_scoped
from voxcast.agents import dispositions, states
from voxcast.agents.errors import AgentInputError, NotFound, NotYourCall
from voxcast.audit import records as audit
from voxcast.campaigns import lifecycle
from voxcast.contacts import dnc
from voxcast.i18n import N_

MAX_NOTES = 5000
MAX_CALLBACK_DAYS = 366


def parse_callback(value: str, timezone: str = "UTC") -> dt.datetime | None:
    """A "call back at" field as the agent typed it (YYYY-MM-DDTHH:MM, their time zone) -> UTC
    (naive, as the database keeps times); empty -> None."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        local = dt.datetime.fromisoformat(value)
    except ValueError:
        raise AgentInputError(N_("Enter the call-back time as YYYY-MM-DD HH:MM."),
                              "callback_at") from None
    if local.tzinfo is None:
        try:
            local = local.replace(tzinfo=ZoneInfo(timezone or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            local = local.replace(tzinfo=dt.timezone.utc)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _sides(tenant_id: int, call: Call) -> tuple[Call, list[Call], QueueCall | None]:
    """The customer's call and every CDR of this conversation (caller side and agent leg)."""
    link = (QueueCall.select().where(QueueCall.tenant == tenant_id,
                                     (QueueCall.call == call.id) | (QueueCall.agent_call == call.id))
            .order_by(QueueCall.id.desc()).first())
    calls = [call]
    customer = call
    if link is not None:
        other_id = link.call_id if link.agent_call_id == call.id else link.agent_call_id
        other = Call.get_or_none(Call.id == other_id, Call.tenant == tenant_id) if other_id else None
        if other is not None:
            calls.append(other)
            if link.agent_call_id == call.id:
                customer = other
    return customer, calls, link


def taken_by(tenant_id: int, user_id: int, call_id) -> Call:
    """The call, if this agent took it (NotFound / NotYourCall otherwise)."""
    try:
        call = get_scoped(Call, tenant_id, call_id)
    except TenantScopeError:
        raise NotFound(N_("No such call.")) from None
    _customer, calls, link = _sides(tenant_id, call)
    if not any(c.agent_id == user_id for c in calls) and not (link and link.agent_id == user_id):
        raise NotYourCall(N_("You did not take this call."))
    return call


def record(tenant_id: int, user_id: int, call_id, disposition_id=None, notes: str = "",
           callback_at: dt.datetime | None = None, *, now: dt.datetime | None = None,
           ip: str = "") -> Call:
    """Store the form; returns the customer's call. Nothing changes when anything is refused."""
    now = now or utcnow()
    call = taken_by(tenant_id, user_id, call_id)
    customer, calls, _link = _sides(tenant_id, call)
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise AgentInputError(N_("Notes of at most %(max)d characters."), "notes", max=MAX_NOTES)
    disposition = None
    if disposition_id not in (None, ""):
        disposition = dispositions.get(tenant_id, disposition_id)
        if not disposition.active:
            raise AgentInputError(N_("That disposition is no longer in use."), "disposition_id")
    entry = None
    if disposition is not None and disposition.kind == "callback":
        if callback_at is None:
            raise AgentInputError(N_("Choose when to call back."), "callback_at")
        callback_at = _utc(callback_at)
        if callback_at < now - dt.timedelta(minutes=1):
            raise AgentInputError(N_("The call-back time is in the past."), "callback_at")
        if callback_at > now + dt.timedelta(days=MAX_CALLBACK_DAYS):
            raise AgentInputError(N_("A call back within a year."), "callback_at")
        entry_id = next((c.entry_id for c in (customer, *calls) if c.entry_id), None)
        entry = CampaignContact.get_or_none(CampaignContact.id == entry_id,
                                            CampaignContact.tenant == tenant_id) if entry_id else None
        if entry is None:
            raise AgentInputError(N_("This call has no campaign contact to call back."),
                                  "disposition_id")
    agent = User.get_by_id(user_id)
    with database.atomic():
        for row in calls:
            changes = {Call.notes: notes}
            if disposition is not None:
                changes[Call.agent_disposition] = disposition.name
            Call.update(changes).where(Call.id == row.id).execute()
        detail = f"call {customer.id}: {disposition.name if disposition else '-'}"
        if entry is not None:
            CampaignContact.update(state="pending", next_attempt_at=max(callback_at, now)).where(
                CampaignContact.id == entry.id).execute()
            if lifecycle.reopen_for_callback(entry.campaign_id):
                detail += " (campaign running again)"
            detail += f", call back {callback_at:%Y-%m-%d %H:%M} UTC"
        if disposition is not None and disposition.kind == "dnc":
            # The number of our own CDR (E.164 as dialled), listed as it is: re-validating it
            # could refuse a number we just called and keep the agent in wrap-up. One that is
            # no number at all (a withheld caller ID) cannot be listed; the rest is saved.
            tenant = Tenant.get_by_id(tenant_id)
            added = dnc.add(tenant_id, [customer.number], "manual", country=tenant.country,
                            actor=agent, ip=ip, as_is=True)
            if added.errors:
                detail += ", not added to DNC (no phone number)"
            else:
                if customer.entry_id:
                    CampaignContact.update(state="dnc").where(
                        CampaignContact.id == customer.entry_id,
                        CampaignContact.state == "pending").execute()
                detail += ", added to DNC"
        audit.record("agent.disposition", tenant_id=tenant_id, user=agent,
                     object_type="call", object_id=customer.id, detail=detail, ip=ip)
        session = AgentSession.get_or_none(AgentSession.user == user_id,
                                           AgentSession.ended_at.is_null())
        if session is not None:
            states.set_state(session.id, "ready", expect=("wrapup",), now=now)
    return Call.get_by_id(customer.id)

