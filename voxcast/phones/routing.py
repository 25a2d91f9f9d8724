"""Where a call a tenant's phone places goes, and whether it may: `decide` is the pure rule
(unit-tested), `authorize` loads what it needs for one call and adds the credit check.
Both the FastAGI server (before the call leaves the dialplan) and the Stasis app's phone_out
flow (again, before it dials the PSTN) call `authorize`, so neither trusts the other's word.

A phone reaches only its own tenant: an internal call is placed only when the dialled number
is an extension of the caller's tenant, a queue or IVR number only when it is that tenant's;
anything else is read as a PSTN number (E.164, the tenant's country for national numbers),
which goes out on the trunk, never to another tenant's phone."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import phonenumbers

FEATURE_CODES = {"*50": "login", "*51": "logout", "*52": "pause", "*53": "ready"}

# Refusals (Route.reason), each with the prompt the caller hears.
NOT_ALLOWED = "not_allowed"  # unknown phone, tenant not active, blocked prefix, no rate
INVALID = "invalid"  # not a number we can place
NO_CREDIT = "no_credit"
PROMPTS = {NOT_ALLOWED: "vx-not-allowed", INVALID: "vx-invalid", NO_CREDIT: "vx-no-credit"}

_DIALABLE = re.compile(r"^\+?[0-9]{1,20}$")


@dataclass(frozen=True)
class PhoneFacts:
    """What the decision for one call needs to know about the caller's phone and tenant."""
    extension: str  # the caller's PJSIP endpoint (its extension number)
    tenant_id: int | None  # None: not an extension allocated to a tenant
    tenant_active: bool = False
    country: str = "US"
    language: str = "en"  # the tenant's, for the prompts the caller hears
    blocked_prefixes: tuple[str, ...] = ()
    caller_id: str = ""  # shown on PSTN calls; "" the trunk's default
    # About the dialled number, within the caller's tenant only:
    own_extension: bool = False  # it is another extension of the same tenant
    queue_id: int | None = None
    ivr_id: int | None = None


@dataclass(frozen=True)
class Route:
    kind: str  # internal | queue | ivr | pstn | feature | refuse
    target: str = ""  # extension number, queue or IVR id, E.164 number, feature name
    reason: str = ""  # for refuse: NOT_ALLOWED | INVALID | NO_CREDIT
    tenant_id: int | None = None
    caller_id: str = ""
    language: str = "en"

    @property
    def prompt(self) -> str:
        return PROMPTS.get(self.reason, "vx-not-allowed")


def refuse(reason: str, tenant_id: int | None = None) -> Route:
    return Route("refuse", reason=reason, tenant_id=tenant_id)


def parse_prefixes(text: str) -> tuple[str, ...]:
    """The stored blocked-prefix list ("1900, 44 +882") as digit strings, without "+"."""
    out = []
    for item in re.split(r"[\s,;]+", text or ""):
        digits = item.strip().removeprefix("+")
        if digits:
            out.append(digits)
    return tuple(dict.fromkeys(out))


def check_prefixes(text: str) -> str:
    """The form's field in its stored form; ValueError names a prefix that is not digits."""
    prefixes = parse_prefixes(text)
    for p in prefixes:
        if not p.isdigit() or not p.isascii() or len(p) > 15:
            raise ValueError(p)
    return " ".join(prefixes)


def to_e164(dialled: str, country: str) -> str | None:
    """The E.164 form of a dialled number ("+4930...", "004930...", "030..." in DE, "1555..."
    in US); None when it cannot be a phone number. Validity beyond the length is the rate
    table's to judge."""
    try:
        number = phonenumbers.parse(dialled, (country or "US").upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def blocked(e164: str, dialled: str, prefixes: tuple[str, ...]) -> bool:
    """A prefix blocks a number when the E.164 digits start with it ("44", "1900") or the
    digits as dialled do ("00", "011": any international call)."""
    digits = e164.removeprefix("+")
    raw = dialled.removeprefix("+")
    return any(digits.startswith(p) or raw.startswith(p) for p in prefixes)


def decide(facts: PhoneFacts, dialled: str) -> Route:
    """The route of a call from `facts.extension` to `dialled`, before the credit check, in
    the caller's tenant's language."""
    route = _decide(facts, dialled)
    return replace(route, language=facts.language) if facts.language != "en" else route


def _decide(facts: PhoneFacts, dialled: str) -> Route:
    tid = facts.tenant_id
    if tid is None or not facts.tenant_active:
        return refuse(NOT_ALLOWED, tid)
    dialled = (dialled or "").strip()
    if dialled in FEATURE_CODES:
        return Route("feature", FEATURE_CODES[dialled], tenant_id=tid)
    if not _DIALABLE.match(dialled):
        return refuse(INVALID, tid)
    if facts.own_extension:
        if dialled == facts.extension:
            return refuse(INVALID, tid)  # calling itself
        return Route("internal", dialled, tenant_id=tid)
    if facts.queue_id is not None:
        return Route("queue", str(facts.queue_id), tenant_id=tid)
    if facts.ivr_id is not None:
        return Route("ivr", str(facts.ivr_id), tenant_id=tid)
    number = to_e164(dialled, facts.country)
    if number is None:
        return refuse(INVALID, tid)
    if blocked(number, dialled, facts.blocked_prefixes):
        return refuse(NOT_ALLOWED, tid)
    return Route("pstn", number, tenant_id=tid, caller_id=facts.caller_id)


def credit_refusal(rate, available, free_seconds: int = 0) -> str:
    """For a PSTN route: "" when the tenant may place it now, else the refusal. `rate` is
    the plan's rate for the number (None: the plan has none), or the string "unrated" when no
    plan applies to the tenant (nothing is charged); `available` its spendable credit,
    `free_seconds` its free or included call seconds not yet reserved."""
    if rate == "unrated":
        return ""
    if rate is None:
        return NOT_ALLOWED
    from voxcast.billing import rating
    from voxcast.billing.call_time import is_free
    if is_free(rate) or free_seconds >= rate.initial_s:
        return ""
    return "" if available >= rating.call_cost(rate, rate.initial_s) else NO_CREDIT


# -- the database part (writer thread) -------------------------------------------------------

def caller_id_of(ext, tenant_id: int) -> str:
    """The extension's own caller ID while it is still one of the tenant's DIDs, else the
    tenant's first DID, else "" (the trunk's default)."""
    from models import Did
    numbers = [n for (n,) in Did.select(Did.number).where(Did.tenant == tenant_id)
               .order_by(Did.number).tuples()]
    own = (ext.caller_id or "").removeprefix("+")
    for n in numbers:
        if own and n.removeprefix("+") == own:
            return n
    return numbers[0] if numbers else ""


def facts_for(extension: str, dialled: str) -> PhoneFacts:
    """Load the facts of one call; an endpoint that is no allocated extension gets none."""
    from models import Extension, Tenant
    from models.entities import Ivr
    ext = Extension.get_or_none(Extension.number == str(extension or ""))
    if ext is None or ext.tenant_id is None:
        return PhoneFacts(str(extension or ""), None)
    tenant = Tenant.get_by_id(ext.tenant_id)
    dialled = (dialled or "").strip()
    own = (dialled != "" and Extension.select().where(Extension.number == dialled,
                                                      Extension.tenant == tenant.id).exists())
    queue_id = ivr_id = None
    if dialled and not own:
        from voxcast.queues.services import queue_for_number
        queue = queue_for_number(tenant.id, dialled)
        queue_id = queue.id if queue is not None else None
        ivr_id = (Ivr.select(Ivr.id).where(Ivr.tenant == tenant.id, Ivr.number == dialled)
                  .scalar())
    from voxcast.audio.prompts import normalize
    return PhoneFacts(ext.number, tenant.id, tenant.status == "active", tenant.country or "US",
                      normalize(tenant.language), parse_prefixes(tenant.blocked_prefixes),
                      caller_id_of(ext, tenant.id), own, queue_id, ivr_id)


def authorize(extension: str, dialled: str) -> Route:
    """The route of one call, the credit check included (PSTN: a rate on the tenant's plan
    and credit for its first increment; reserving it is the Stasis app's, when it dials)."""
    facts = facts_for(extension, dialled)
    route = decide(facts, dialled)
    if route.kind != "pstn":
        return route
    from voxcast.billing import ledger, plans
    table = plans.table_of_tenant(route.tenant_id)
    rate = "unrated" if table is None else table.lookup(route.target)
    rated = rate not in (None, "unrated")
    why = credit_refusal(rate, ledger.available(route.tenant_id) if rated else 0,
                         ledger.available_seconds(route.tenant_id) if rated else 0)
    return replace(refuse(why, route.tenant_id), language=route.language) if why else route


def prepare_pstn(extension: str, dialled: str) -> tuple[Route, int]:
    """For the Stasis app's phone_out and phone_internal flows: the route checked again, and
    the tenant's channel limit (0 when there is no tenant)."""
    from models import Tenant
    route = authorize(extension, dialled)
    limit = 0
    if route.tenant_id is not None:
        limit = Tenant.select(Tenant.channel_limit).where(Tenant.id == route.tenant_id).scalar() or 0
    return route, int(limit)


def open_call(tenant_id: int, extension: str, number: str, caller_id: str,
              channel_id: str) -> int:
    """The CDR of a phone's PSTN call (direction "phone"), tenant-tagged; `did` is the
    caller ID it showed. Rated by its number like any call out."""
    from models import Call
    from models.entities import utcnow
    return Call.create(tenant=tenant_id, direction="phone", number=number, did=caller_id,
                       channel_id=channel_id, started_at=utcnow()).id


def open_internal_call(tenant_id: int, extension: str, called: str, channel_id: str) -> int:
    """The CDR of a phone calling another extension of its tenant (direction "internal", like
    a phone calling a queue or IVR number): `number` the caller's extension, `did` the called
    one. Not rated: it never leaves the platform."""
    from models import Call
    from models.entities import utcnow
    return Call.create(tenant=tenant_id, direction="internal", number=extension, did=called,
                       channel_id=channel_id, started_at=utcnow()).id
