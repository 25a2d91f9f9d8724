"""What the console shows, read in one place for the page and its live poll: the agent's open
session and state, the call they are on with its contact (name, number, custom values, the
campaign's script and CRM form), and the last call still waiting for its disposition."""
from __future__ import annotations

from models.entities import AgentSession, Call, Campaign, Contact, Extension, PauseReason, QueueCall, User

from . import crm, live

CUSTOM = tuple(f"custom{i}" for i in range(1, 9))
LIVE_STATES = ("ringing", "on_call")


def open_session(user_id: int) -> AgentSession | None:
    return (AgentSession.select().where(AgentSession.user == user_id,
                                        AgentSession.ended_at.is_null())
            .order_by(AgentSession.id.desc()).first())


def customer_of(call: Call) -> Call:
    """The caller's (or contact's) CDR of an agent's call: an ACD agent leg (direction "agent")
    leads to its QueueCall's caller CDR; any other call is the customer's own."""
    if call.direction != "agent":
        return call
    qc = QueueCall.get_or_none(QueueCall.agent_call == call.id)
    if qc is None or qc.call_id is None:
        return call
    return Call.get_or_none(Call.id == qc.call_id) or call


def disposition_target(call: Call, user_id: int) -> Call:
    """The CDR a disposition is recorded on: the customer's when the agent is on it."""
    customer = customer_of(call)
    return customer if customer.agent_id == user_id else call


def contact_fields(contact: Contact | None, number: str) -> dict:
    fields = {"phone": number, "first_name": "", "last_name": "", "email": "",
              **{k: "" for k in CUSTOM}}
    if contact is not None:
        fields.update(phone=contact.phone, first_name=contact.first_name,
                      last_name=contact.last_name, email=contact.email,
                      **{k: getattr(contact, k) for k in CUSTOM})
    return fields


def call_view(call: Call, agent: User) -> dict:
    """The contact pop of one call."""
    customer = customer_of(call)
    contact = Contact.get_or_none(Contact.id == customer.contact_id) if customer.contact_id else None
    campaign = (Campaign.get_or_none(Campaign.id == customer.campaign_id)
                if customer.campaign_id else None)
    fields = contact_fields(contact, customer.number)
    name = " ".join(p for p in (fields["first_name"], fields["last_name"]) if p)
    url = None
    if campaign is not None and campaign.web_form_url:
        url = crm.form_url(campaign.web_form_url,
                           {**fields, "call_id": customer.id, "campaign": campaign.name,
                            "agent": agent.username})
    return {
        "call_id": customer.id,
        "direction": customer.direction,
        "number": fields["phone"] or customer.number,
        "name": name,
        "fields": fields,
        "custom": [(k, fields[k]) for k in CUSTOM if fields[k]],
        "known_contact": contact is not None,
        "campaign": campaign.name if campaign else "",
        "script": campaign.script if campaign else "",
        "crm_url": url,
        "answered": customer.answered_at is not None,
        "answered_at": customer.answered_at.isoformat() + "Z" if customer.answered_at else None,
    }


def pending_call(user_id: int, session: AgentSession | None) -> Call | None:
    """The agent's last answered call of this session without a disposition, once their part
    of it is over (the customer's CDR, or an ACD agent leg whose customer CDR has none)."""
    if session is None:
        return None
    if session.state == "wrapup" and session.call_id:  # the agent's part is over, maybe not the call
        row = Call.get_or_none(Call.id == session.call_id)
        if row is not None and row.agent_disposition == "" and \
                view_customer_undisposed(row, user_id):
            return row
    rows = (Call.select().where(Call.agent == user_id, Call.started_at >= session.started_at,
                                Call.ended_at.is_null(False), Call.answered_at.is_null(False),
                                Call.agent_disposition == "")
            .order_by(Call.id.desc()).limit(5))
    for call in rows:
        if call.direction != "agent":
            return call
        customer = customer_of(call)
        if customer.id != call.id and customer.agent_disposition == "" \
                and customer.agent_id in (None, user_id):
            return call
    return None


def view_customer_undisposed(call: Call, user_id: int) -> bool:
    customer = customer_of(call)
    return customer.agent_disposition == "" and customer.agent_id in (None, user_id)


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def snapshot(tenant_id: int, user: User) -> dict:
    """Everything the console shows, as JSON-able values; `key` changes whenever any of it
    can have changed (the session's version, bumped on every state or call change)."""
    session = open_session(user.id)
    if session is not None and session.tenant_id != tenant_id:
        session = None
    pending = pending_call(user.id, session)
    pending_key = pending.id if pending else 0
    if session is None:
        return {"logged_in": False, "key": f"out:{pending_key}", "session_id": None,
                "state": "logged_out", "call": None, "pending": None, "status": {}}
    reason = (PauseReason.get_or_none(PauseReason.id == session.pause_reason_id)
              if session.pause_reason_id else None)
    extension = (Extension.get_or_none(Extension.id == session.extension_id)
                 if session.extension_id else None)
    call = None
    if session.call_id and session.state in LIVE_STATES:
        row = Call.get_or_none(Call.id == session.call_id)
        call = call_view(row, user) if row is not None else None
    pend = None
    if pending is not None and (call is None or pending.id != session.call_id):
        view = call_view(pending, user)
        pend = {"call_id": disposition_target(pending, user.id).id, "number": view["number"],
                "name": view["name"], "campaign": view["campaign"]}
    return {
        "logged_in": True,
        "key": f"{session.id}:{session.version}:{pending_key}",
        "session_id": session.id,
        "version": session.version,
        "state": session.state,
        "since": _iso(session.state_since),
        "pause_reason": reason.name if reason else "",
        "wrapup_until": _iso(session.wrapup_until),
        "extension": extension.number if extension else "",
        "status": live.read(session.console_status),
        "call": call,
        "pending": pend,
    }
