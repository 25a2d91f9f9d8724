"""Where a console call may be transferred or conferenced to: another agent of the tenant, one
of its queues, one of its extensions, or an outside number (rated, and never one of the
tenant's blocked prefixes). The web checks a target before it sends the command, the Stasis
app resolves it again on its writer thread before it dials."""
from __future__ import annotations

from dataclasses import dataclass

from models.entities import Extension, Queue, Tenant, User
from models.tenancy import scoped

from voxcast.i18n import N_

from .errors import BadTarget

KINDS = ("agent", "queue", "extension", "number")
QUEUE_CONTEXT = "voxcast-console-queue"  # dialplan: a Local channel into the queue's Stasis route


@dataclass(frozen=True)
class Target:
    kind: str
    endpoint: str  # what the Stasis app originates
    number: str  # what the CDR records
    label: str
    user_id: int | None = None  # an agent target
    pstn: bool = False  # rated like a campaign call


def _int(value) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def resolve(tenant_id: int, kind: str, value, self_user_id: int | None = None) -> Target:
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None or kind not in KINDS:
        raise BadTarget(N_("Choose where to transfer the call."), "target_kind")
    value = str(value or "").strip()
    if kind == "agent":
        uid = _int(value)
        user = scoped(User, tenant_id).where(User.id == uid, User.role == "agent",
                                             User.active == True).first()  # noqa: E712
        if user is None or user.id == self_user_id:
            raise BadTarget(N_("That agent is not one of yours."), "target")
        ext = (Extension.select().where(Extension.tenant == tenant_id, Extension.user == user.id)
               .order_by(Extension.number).first())
        if ext is None:
            raise BadTarget(N_("That agent has no extension."), "target")
        return Target("agent", f"PJSIP/{ext.number}", ext.number, user.username, user.id)
    if kind == "queue":
        queue = scoped(Queue, tenant_id).where(Queue.id == _int(value)).first()
        if queue is None:
            raise BadTarget(N_("That queue is not one of yours."), "target")
        return Target("queue", f"Local/{tenant_id:08d}{queue.id}@{QUEUE_CONTEXT}/n",
                      queue.number or queue.name, queue.name)
    if kind == "extension":
        ext = Extension.get_or_none(Extension.tenant == tenant_id, Extension.number == value)
        if ext is None:
            raise BadTarget(N_("That extension is not one of yours."), "target")
        return Target("extension", f"PJSIP/{ext.number}", ext.number, ext.number,
                      ext.user_id if ext.user_id != self_user_id else None)
    from voxcast.phones.routing import blocked, parse_prefixes, to_e164
    number = to_e164(value, tenant.country) if value else None
    if number is None:
        raise BadTarget(N_("That is not a phone number."), "target")
    if blocked(number, value, parse_prefixes(tenant.blocked_prefixes)):
        raise BadTarget(N_("Calls to that number are not allowed."), "target")
    return Target("number", f"PJSIP/{number}@pstn", number, number, pstn=True)


def choices(tenant_id: int, self_user_id: int) -> dict:
    """The agents and queues the console offers as targets."""
    agents = [(u.id, f"{u.first_name} {u.last_name}".strip() or u.username)
              for u in scoped(User, tenant_id).where(User.role == "agent", User.active == True,  # noqa: E712
                                                     User.id != self_user_id)
              .order_by(User.username)]
    queues = [(q.id, q.name) for q in scoped(Queue, tenant_id).order_by(Queue.name)]
    return {"agents": agents, "queues": queues}
