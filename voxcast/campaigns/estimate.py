"""What a campaign about to be created will do, for the creation wizard's review page: how many
contacts it has, how many are on a do-not-call list (the tenant's and the provider's, which
the dialer skips), when it may call (the tenant's timeslots and the campaign's windows, in the
tenant's zone), what it costs at the tenant's rates if every contact answers once, and whether
the balance covers it. No Flask; read-only.

The call length is an estimate: a recorded message's own length, else spoken text at about
2.5 words a second plus the seconds each question waits for a key."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from models import Contact, ContactGroup, Tenant, Timeslot
from models.entities import FaxDocument, Prompt, utcnow
from models.tenancy import scoped
from voxcast.billing import ledger, plans
from voxcast.campaigns import calling_hours, flows_config
from voxcast.contacts import dnc
from voxcast.tenants.timeslots import TimeslotError

WORDS_PER_SECOND = 2.5
AGENT_CALL_SECONDS = 120  # a Voice Agent or IVR call, when nothing better is known
CENT = Decimal("0.01")


@dataclass
class Review:
    contacts: int = 0
    dnc_tenant: int = 0       # on the tenant's own list only
    dnc_provider: int = 0     # on the provider's list
    to_reach: int = 0         # contacts the campaign will try
    no_rate: int = 0          # numbers no rate of the plan covers (refused at dial time)
    seconds: int = 0          # estimated length of an answered call
    unit: str = "call"        # call | sms | fax | email
    unit_price: Decimal | None = None
    cost: Decimal = Decimal("0")
    available: Decimal = Decimal("0")
    covered: bool = True
    timezone: str = "UTC"
    windows: str = ""         # the campaign's own hours as text ("" = none)
    timeslots: list[str] = field(default_factory=list)  # the tenant's, as text
    open_now: bool = True
    next_open: dt.datetime | None = None  # in the tenant's zone
    windows_error: str = ""


def _words(*texts) -> int:
    return sum(len(str(t or "").split()) for t in texts)


def call_seconds(campaign_type: str, cfg: dict, *, message_text: str = "",
                 message_seconds: float = 0, repeat_count: int = 1) -> int:
    """The estimated length of one answered call of this type."""
    def spoken(*texts) -> float:
        return _words(*texts) / WORDS_PER_SECOND

    if campaign_type in ("voice_message", "voice_interactive"):
        one = message_seconds or spoken(message_text)
        seconds = one * max(1, repeat_count if campaign_type == "voice_message" else 1)
        if campaign_type == "voice_interactive":
            seconds += int(cfg.get("timeout", 5) or 5)
    elif campaign_type == "voice_survey":
        questions = flows_config.survey_questions(cfg)
        seconds = (spoken(cfg.get("intro"), cfg.get("closing") or "Thank you. Goodbye.",
                          *(q.get("text") for q in questions))
                   + 3 * len(questions))
    elif campaign_type == "appointment_reminder":
        seconds = spoken(cfg.get("text"), cfg.get("confirmed_text") or "Thank you, your "
                         "appointment is confirmed. Goodbye.") + 3
    else:
        seconds = AGENT_CALL_SECONDS
    return max(1, int(round(seconds + 0.4999)))


def _timeslot_text(slot) -> str:
    return calling_hours.to_text([calling_hours.Window(slot.weekdays, slot.start_time,
                                                       slot.end_time)])


def review(tenant: Tenant, data: dict, now: dt.datetime | None = None) -> Review:
    """`data`: the wizard's campaign in the campaign service's field names (type, group_id,
    flow, message_text, prompt_id, sms_text, fax_document_id, windows ...)."""
    now = now or utcnow()
    out = Review(timezone=tenant.timezone or "UTC")
    kind = data.get("type") or "voice_message"
    group_id = data.get("group_id")
    group = (scoped(ContactGroup, tenant.id).where(ContactGroup.id == group_id).first()
             if group_id else None)
    rows = (list(scoped(Contact, tenant.id).select(Contact.phone, Contact.email)
                 .where(Contact.group == group.id).tuples()) if group is not None else [])
    out.contacts = len(rows)
    phones = [p for p, _e in rows if p]
    if kind == "email":
        reachable = [e for _p, e in rows if e]
    else:
        provider = dnc.blocked_set(None, phones)
        either = dnc.blocked_set(tenant.id, phones)
        out.dnc_provider = sum(1 for p in phones if p in provider)
        out.dnc_tenant = sum(1 for p in phones if p in either and p not in provider)
        reachable = [p for p in phones if p not in either]
    out.to_reach = len(reachable)

    try:
        cfg = flows_config.parse(data.get("flow") or "")
    except flows_config.FlowError:
        cfg = {}
    if kind in ("sms", "fax", "email"):
        out.unit = kind
        price = plans.unit_price(tenant.id, kind)
        units = 1
        if kind == "sms":
            from voxcast.messaging.sms import segments
            units = segments.count(data.get("sms_text") or "").segments
        elif kind == "fax" and data.get("fax_document_id"):
            doc = scoped(FaxDocument, tenant.id).where(
                FaxDocument.id == data["fax_document_id"]).first()
            units = max(1, doc.pages if doc is not None else 1)
        out.unit_price = price
        out.seconds = 0
        out.cost = price * units * out.to_reach
    else:
        seconds = 0.0
        if data.get("prompt_id"):
            prompt = scoped(Prompt, tenant.id).where(Prompt.id == data["prompt_id"]).first()
            seconds = float(prompt.seconds) if prompt is not None else 0.0
        out.seconds = call_seconds(kind, cfg, message_text=data.get("message_text") or "",
                                   message_seconds=seconds,
                                   repeat_count=int(data.get("repeat_count") or 1))
        table = plans.table_of_tenant(tenant.id)
        total = Decimal("0")
        for phone in reachable:
            cost = table.cost(phone, out.seconds) if table is not None else None
            if cost is None:
                out.no_rate += 1
            else:
                total += cost
        out.cost = total
    out.cost = out.cost.quantize(Decimal("0.0001"))
    out.available = ledger.available(tenant.id)
    out.covered = out.cost <= out.available

    slots = list(scoped(Timeslot, tenant.id).order_by(Timeslot.id))
    out.timeslots = [(s.name + ": " if s.name else "") + _timeslot_text(s) for s in slots]
    try:
        windows = calling_hours.parse_text(data.get("windows") or "")
    except TimeslotError as exc:
        windows, out.windows_error = [], str(exc)
    out.windows = calling_hours.to_text(windows) if windows else ""
    rule_sets = (tuple(calling_hours.Window(s.weekdays, s.start_time, s.end_time)
                       for s in slots), tuple(windows))
    out.open_now = calling_hours.is_open(rule_sets, out.timezone, now)
    if not out.open_now:
        when = calling_hours.next_open(rule_sets, out.timezone, now)
        out.next_open = (when.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(out.timezone))
                         if when is not None else None)
    return out
