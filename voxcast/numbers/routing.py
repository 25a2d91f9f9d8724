"""A tenant routes what it holds: an allocated extension to one of its users, a DID to a user
or campaign, with the greeting callers hear. Flask-free, for the JSON API and the UI; the
provider's pool and allocation are voxcast.numbers.pool. Ids from the caller are checked
against the tenant with models.tenancy, so another tenant's user or campaign is refused."""
from __future__ import annotations

from models import Campaign, Did, Extension, User, database
from models.entities import DID_ROUTES, Ivr, Queue
from models.tenancy import TenantScopeError, get_scoped
from voxcast.agents import sessions as agent_sessions
from voxcast.audit import records as audit
from voxcast.errors import ServiceError


class RoutingError(ServiceError, ValueError):
    """`field` names the input the message is about."""
    code, status = "validation", 422

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def _tenant_user(tenant_id: int, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    try:
        return get_scoped(User, tenant_id, user_id)
    except TenantScopeError:
        raise RoutingError("No such user in this organisation.", "user_id") from None


def assign_extension(ext: Extension, user_id: int | None, *, actor=None, ip: str = "") -> Extension:
    """Give an allocated extension to a user of its tenant, or take it back (None)."""
    if ext.tenant_id is None:
        raise RoutingError("The extension is in the provider's pool, not allocated.")
    user = _tenant_user(ext.tenant_id, user_id)
    with database.atomic():
        Extension.update(user=user.id if user else None).where(Extension.id == ext.id).execute()
        agent_sessions.end_for_extension(ext.id, user.id if user else None)
        audit.record("extension.assign", tenant_id=ext.tenant_id, user=actor,
                     object_type="extension", object_id=ext.id,
                     detail=f"{ext.number} -> {user.username if user else '(nobody)'}", ip=ip)
    return Extension.get_by_id(ext.id)


UNSET = object()

TARGET_MODELS = {"ivr": Ivr, "queue": Queue, "user": User, "campaign": Campaign}
TARGET_FIELDS = {"ivr": "ivr_id", "queue": "queue_id", "user": "user_id",
                 "campaign": "campaign_id"}
NAMES = {"ivr": "IVR", "queue": "queue", "user": "user", "campaign": "campaign"}


UNTARGETED = ("greeting", "fax")  # routes without a target row
MAX_FAX_EMAILS = 10


def _fax_emails(raw) -> str:
    """Where received faxes go: up to MAX_FAX_EMAILS addresses, stored one per line."""
    from voxcast.messaging.fax.records import split_emails
    text = (raw or "").strip()
    addresses = split_emails(text)
    words = [w for w in text.replace(",", " ").replace(";", " ").split() if w]
    bad = [w for w in words if w not in addresses or len(w) > 254 or w.count("@") != 1
           or "." not in w.rpartition("@")[2]]
    if bad:
        raise RoutingError(f"Not an e-mail address: {bad[0]}", "fax_emails")
    if len(addresses) > MAX_FAX_EMAILS:
        raise RoutingError(f"At most {MAX_FAX_EMAILS} addresses.", "fax_emails")
    return "\n".join(addresses)


def _owned(kind: str, tenant_id: int, pk: int | None, field: str) -> int | None:
    """The id when it is one of the tenant's rows of that kind (None stays None)."""
    if pk is None:
        return None
    try:
        return get_scoped(TARGET_MODELS[kind], tenant_id, pk).id
    except TenantScopeError:
        raise RoutingError(f"No such {NAMES[kind]} in this organisation.", field) from None


def _greeting_sound(tenant_id: int, prompt_id: int | None) -> str:
    """The sound name of the tenant's prompt ("" for None); another tenant's is refused."""
    if prompt_id is None:
        return ""
    from voxcast.audio import library
    try:
        return library.get(tenant_id, prompt_id).sound
    except library.PromptNotFound:
        raise RoutingError("No such prompt in this organisation's audio library.",
                           "greeting_prompt_id") from None


def greeting_prompt(did: Did):
    """The audio-library prompt the DID's greeting plays, if any (of the DID's tenant)."""
    if not did.greeting_file or did.tenant_id is None:
        return None
    from voxcast.audio import library
    return library.by_sound(did.tenant_id, did.greeting_file)


def route_did(did: Did, *, route=UNSET, user_id=UNSET, campaign_id=UNSET, queue_id=UNSET,
              ivr_id=UNSET, closed_route=UNSET, closed_target=UNSET, closed_text=UNSET,
              greeting_text=UNSET, greeting_prompt_id=UNSET, fax_detect=UNSET,
              fax_emails=UNSET, actor=None, ip: str = "") -> Did:
    """Change what an allocated DID leads to; only the given arguments change. Every target
    (the route's, the closed route's) must be the tenant's; the chosen route needs its target.
    The call checks them again when it arrives (voxcast.numbers.did_routes.resolve).
    `greeting_prompt_id` picks the greeting from the tenant's audio library (None: the
    greeting text is spoken); it is stored as the prompt's sound name (`greeting_file`)."""
    if did.tenant_id is None:
        raise RoutingError("The DID is in the provider's pool, not allocated.")
    tid = did.tenant_id
    changes, detail = {}, []
    if route is not UNSET:
        if route not in DID_ROUTES:
            raise RoutingError(f"The route must be one of {', '.join(DID_ROUTES)}.", "route")
        changes["route"] = route
        detail.append(f"route={route}")
    for kind, value in (("user", user_id), ("campaign", campaign_id), ("queue", queue_id),
                        ("ivr", ivr_id)):
        if value is not UNSET:
            field = TARGET_FIELDS[kind]
            changes[kind] = _owned(kind, tid, value, field)
            detail.append(f"{kind}={changes[kind] or '-'}")
    if closed_route is not UNSET:
        if closed_route not in ("", *DID_ROUTES):
            raise RoutingError("The closed route must be empty (no time-of-day routing) or one "
                               f"of {', '.join(DID_ROUTES)}.", "closed_route")
        changes["closed_route"] = closed_route
        detail.append(f"closed={closed_route or '-'}")
    if closed_text is not UNSET:
        text = (closed_text or "").strip()
        if len(text) > 2000:
            raise RoutingError("At most 2000 characters.", "closed_text")
        changes["closed_text"] = text
    if greeting_text is not UNSET:
        text = (greeting_text or "").strip()
        if len(text) > 2000:
            raise RoutingError("At most 2000 characters.", "greeting_text")
        changes["greeting_text"] = text
        detail.append("greeting")
    if greeting_prompt_id is not UNSET:
        changes["greeting_file"] = _greeting_sound(tid, greeting_prompt_id)
        detail.append(f"greeting_prompt={greeting_prompt_id or '-'}")
    if fax_detect is not UNSET:  # fax (issue 14): a fax tone on a voice route is received
        changes["fax_detect"] = bool(fax_detect)
        detail.append(f"fax_detect={'on' if fax_detect else 'off'}")
    if fax_emails is not UNSET:
        changes["fax_emails"] = _fax_emails(fax_emails)
        detail.append("fax_emails")
    # the result, as saved: each route's target must be there and the tenant's
    kind = changes.get("route", did.route or "greeting")
    if kind not in UNTARGETED:
        current = changes[kind] if kind in changes else getattr(did, TARGET_FIELDS[kind])
        if current is None:
            raise RoutingError(f"Choose the {NAMES[kind]} this DID routes to.",
                               TARGET_FIELDS[kind])
    closed = changes.get("closed_route", did.closed_route or "")
    target = did.closed_target if closed_target is UNSET else closed_target
    if closed in ("", *UNTARGETED):
        target = None
    elif target is None:
        raise RoutingError(f"Choose the {NAMES[closed]} for calls outside opening hours.",
                           "closed_target")
    else:
        target = _owned(closed, tid, target, "closed_target")
    if target != did.closed_target or closed_target is not UNSET:
        changes["closed_target"] = target
        if closed:
            detail.append(f"closed_target={target or '-'}")
    with database.atomic():
        if changes:
            Did.update(**changes).where(Did.id == did.id).execute()
        audit.record("did.route", tenant_id=tid, user=actor, object_type="did",
                     object_id=did.id, detail=f"{did.number}: {' '.join(detail) or 'no change'}",
                     ip=ip)
    return Did.get_by_id(did.id)
