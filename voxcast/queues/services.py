"""The tenant's inbound queues (ACD) and their member agents, for the portal and the JSON API.

Everything is checked before anything is written: the number is the tenant's own (not one of
its extensions, IVR numbers or other queues, not an emergency number), fallback targets are
the tenant's queue / IVR and never lead back to this queue, members are the tenant's agents.
Each change is audited in the same transaction. The ACD (ari_app) reads queues and members
as saved; `queue_for_number` is the look-up for phones dialling a queue."""
from __future__ import annotations

import json
import re

from peewee import JOIN, fn

from models import Did, Extension, User, database
from models.entities import (
    QUEUE_FALLBACKS, QUEUE_STRATEGIES, Ivr, Queue, QueueMember,
)
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.audit import records as audit
from voxcast.errors import ServiceError
from voxcast.i18n import Msg, N_
from voxcast.ivr import tree as ivr_tree

NUMBER_RE = re.compile(r"^[0-9]{2,6}$")
MUSIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
EMERGENCY = {"000", "08", "100", "101", "102", "110", "111", "112", "118", "119", "911",
             "999", "15", "17", "18", "19"}
MAX_PENALTY = 100
# field: (min, max) for the whole-number settings
LIMITS = {
    "ring_seconds": (5, 120),
    "max_wait_seconds": (10, 7200),
    "announce_every_seconds": (0, 600),
    "wrapup_seconds": (0, 600),
    "service_level_seconds": (1, 600),
}
DEFAULTS = {
    "name": "", "number": "", "strategy": "longest_idle", "ring_seconds": 15,
    "max_wait_seconds": 300, "music_class": "default", "announce_every_seconds": 60,
    "announce_position": True, "announce_wait": True, "wrapup_seconds": 10,
    "service_level_seconds": 20, "fallback": "message", "fallback_queue_id": None,
    "fallback_ivr_id": None,
    "fallback_text": "",
}
FIELDS = tuple(DEFAULTS)


class QueueError(ServiceError, ValueError):
    """Refused input: `errors` maps a field ("" for the whole form) to a message (a Msg,
    which the portal shows translated)."""
    code, status = "validation", 422

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(self.errors.values()))


class QueueNotFound(ServiceError, LookupError):
    code, status = "not-found", 404


def query(tenant_id: int):
    """The tenant's queues in name order (a select: the list pages and searches it)."""
    return scoped(Queue, tenant_id).order_by(fn.LOWER(Queue.name), Queue.id)


def list_queues(tenant_id: int) -> list[Queue]:
    return list(query(tenant_id))


def get(tenant_id: int, queue_id) -> Queue:
    try:
        return get_scoped(Queue, tenant_id, queue_id)
    except TenantScopeError:
        raise QueueNotFound("No such queue.") from None


def queue_for_number(tenant_id: int, number: str) -> Queue | None:
    """The tenant's queue its phones reach by dialling `number`."""
    number = (number or "").strip()
    if not NUMBER_RE.match(number):
        return None
    return scoped(Queue, tenant_id).where(Queue.number == number).first()


def members(queue: Queue) -> list[QueueMember]:
    """The queue's members with their users, lowest penalty first."""
    return list(QueueMember.select(QueueMember, User).join(User)
                .where(QueueMember.queue == queue.id, QueueMember.tenant == queue.tenant_id)
                .order_by(QueueMember.penalty, User.username))


def agent_choices(tenant_id: int) -> list[User]:
    """The users who may be members: the tenant's agents."""
    return list(scoped(User, tenant_id).where(User.role == "agent").order_by(User.username))


def values_of(queue: Queue | None) -> dict:
    """The settings of a queue as the input dicts name them (defaults for a new one)."""
    if queue is None:
        return dict(DEFAULTS)
    out = {k: getattr(queue, k) for k in FIELDS if not k.endswith("_id")}
    out["fallback_queue_id"] = queue.fallback_queue_id
    out["fallback_ivr_id"] = queue.fallback_ivr_id
    return out


# -- checks ---------------------------------------------------------------------------------

def _int(value, field: str, errors: dict) -> int | None:
    if isinstance(value, bool):
        errors[field] = Msg(N_("Enter a whole number."))
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = Msg(N_("Enter a whole number."))
        return None


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes", "y")
    return bool(value)


def _optional_id(value):
    if value in (None, "", 0, "0"):
        return None
    return value


def _check_number(tenant_id: int, number: str, queue_id: int | None, errors: dict) -> None:
    if not number:
        return
    if not NUMBER_RE.match(number):
        errors["number"] = Msg(N_("2 to 6 digits, or empty for no number."))
        return
    if number in EMERGENCY:
        errors["number"] = Msg(N_("%(number)s is an emergency or service number."), number=number)
        return
    if scoped(Extension, tenant_id).where(Extension.number == number).exists():
        errors["number"] = Msg(N_("%(number)s is one of your extensions."), number=number)
    elif scoped(Ivr, tenant_id).where(Ivr.number == number).exists():
        errors["number"] = Msg(N_("%(number)s is the number of one of your IVRs."), number=number)
    else:
        clash = scoped(Queue, tenant_id).where(Queue.number == number)
        if queue_id is not None:
            clash = clash.where(Queue.id != queue_id)
        if clash.exists():
            errors["number"] = Msg(N_("Another queue has the number %(number)s."), number=number)


def _leads_back(tenant_id: int, start_id: int, queue_id: int | None) -> bool:
    """Whether following fallback queues from `start_id` comes back to `queue_id`."""
    seen, current = set(), start_id
    while current is not None and current not in seen:
        if current == queue_id:
            return True
        seen.add(current)
        row = scoped(Queue, tenant_id).select(Queue.fallback, Queue.fallback_queue).where(
            Queue.id == current).first()
        current = row.fallback_queue_id if row is not None and row.fallback == "queue" else None
    return False


def clean(tenant_id: int, data: dict, queue: Queue | None = None) -> dict:
    """The checked settings (the queue's own, or defaults, where `data` is silent)."""
    values = values_of(queue)
    values.update({k: v for k, v in data.items() if k in FIELDS})
    errors: dict[str, str] = {}
    qid = queue.id if queue is not None else None
    values["name"] = " ".join(str(values["name"] or "").split())
    if not values["name"] or len(values["name"]) > 100:
        errors["name"] = Msg(N_("The name must be 1 to 100 characters."))
    else:
        clash = scoped(Queue, tenant_id).where(fn.LOWER(Queue.name) == values["name"].lower())
        if qid is not None:
            clash = clash.where(Queue.id != qid)
        if clash.exists():
            errors["name"] = Msg(N_("A queue named '%(name)s' already exists."), name=values["name"])
    values["number"] = str(values["number"] or "").strip()
    _check_number(tenant_id, values["number"], qid, errors)
    if values["strategy"] not in QUEUE_STRATEGIES:
        errors["strategy"] = Msg(N_("Choose longest idle, round robin or ring all."))
    for field, (low, high) in LIMITS.items():
        number = _int(values[field], field, errors)
        if number is None:
            continue
        if not low <= number <= high:
            errors[field] = Msg(N_("From %(low)d to %(high)d seconds."), low=low, high=high)
        elif field == "announce_every_seconds" and 0 < number < 15:
            errors[field] = Msg(N_("0 (no announcements) or from 15 to 600 seconds."))
        values[field] = number
    values["music_class"] = str(values["music_class"] or "default").strip()
    if not MUSIC_RE.match(values["music_class"]):
        errors["music_class"] = Msg(N_("Letters, digits, - and _ (the music on hold class)."))
    values["announce_position"] = _bool(values["announce_position"])
    values["announce_wait"] = _bool(values["announce_wait"])
    values["fallback_text"] = str(values["fallback_text"] or "").strip()
    if len(values["fallback_text"]) > 1000:
        errors["fallback_text"] = Msg(N_("At most 1000 characters."))
    fallback = values["fallback"]
    fq, fi = _optional_id(values["fallback_queue_id"]), _optional_id(values["fallback_ivr_id"])
    values["fallback_queue_id"] = values["fallback_ivr_id"] = None
    if fallback not in QUEUE_FALLBACKS:
        errors["fallback"] = Msg(N_("Choose what happens when nobody answers."))
    elif fallback == "queue":
        target = None
        if fq is not None:
            try:
                target = get_scoped(Queue, tenant_id, fq)
            except TenantScopeError:
                target = None
        if target is None:
            errors["fallback_queue_id"] = Msg(N_("Choose one of your queues."))
        elif qid is not None and _leads_back(tenant_id, target.id, qid):
            errors["fallback_queue_id"] = Msg(N_("That queue leads back to this one."))
        else:
            values["fallback_queue_id"] = target.id
    elif fallback == "ivr":
        target = None
        if fi is not None:
            try:
                target = get_scoped(Ivr, tenant_id, fi)
            except TenantScopeError:
                target = None
        if target is None:
            errors["fallback_ivr_id"] = Msg(N_("Choose one of your IVRs."))
        else:
            values["fallback_ivr_id"] = target.id
    if errors:
        raise QueueError(errors)
    return values


def clean_members(tenant_id: int, raw) -> list[tuple[int, int]]:
    """[(user_id, penalty)] from [{"user_id": .., "penalty": ..}] or [(user_id, penalty)]:
    the tenant's agents, each once, penalty 0-100."""
    out: dict[int, int] = {}
    errors: dict[str, str] = {}
    for item in raw or ():
        if isinstance(item, dict):
            uid, penalty = item.get("user_id"), item.get("penalty", 0)
        else:
            uid, penalty = item
        try:
            user = get_scoped(User, tenant_id, uid)
        except TenantScopeError:
            user = None
        if user is None or user.role != "agent":
            errors["members"] = Msg(N_("Members must be your agents."))
            continue
        number = _int(penalty if penalty not in (None, "") else 0, "members", errors)
        if number is None or not 0 <= number <= MAX_PENALTY:
            errors["members"] = Msg(N_("A penalty from 0 to %(max)d."), max=MAX_PENALTY)
            continue
        if user.id in out:
            errors["members"] = Msg(N_("%(name)s is listed twice."), name=user.username)
            continue
        out[user.id] = number
    if errors:
        raise QueueError(errors)
    return list(out.items())


# -- changes --------------------------------------------------------------------------------

def _columns(values: dict) -> dict:
    out = {k: v for k, v in values.items() if not k.endswith("_id")}
    out["fallback_queue"] = values["fallback_queue_id"]
    out["fallback_ivr"] = values["fallback_ivr_id"]
    return out


def _write_members(queue: Queue, wanted: list[tuple[int, int]]) -> str:
    have = {m.user_id: m for m in QueueMember.select().where(QueueMember.queue == queue.id)}
    wanted_map = dict(wanted)
    gone = [uid for uid in have if uid not in wanted_map]
    if gone:
        QueueMember.delete().where(QueueMember.queue == queue.id,
                                   QueueMember.user.in_(gone)).execute()
    for uid, penalty in wanted:
        if uid in have:
            if have[uid].penalty != penalty:
                QueueMember.update(penalty=penalty).where(QueueMember.id == have[uid].id).execute()
        else:
            QueueMember.create(tenant=queue.tenant_id, queue=queue.id, user=uid, penalty=penalty)
    return f"{len(wanted)} member(s)"


def create(tenant_id: int, data: dict, members_in=None, *, actor=None, ip: str = "") -> Queue:
    values = clean(tenant_id, data)
    wanted = clean_members(tenant_id, members_in)
    with database.atomic():
        queue = Queue.create(tenant=tenant_id, **_columns(values))
        detail = _write_members(queue, wanted)
        audit.record("queue.create", tenant_id=tenant_id, user=actor, object_type="queue",
                     object_id=queue.id, detail=f"{queue.name} ({queue.strategy}), {detail}",
                     ip=ip)
    return queue


def update(tenant_id: int, queue_id, data: dict, members_in=None, *, actor=None,
           ip: str = "") -> Queue:
    """Change the settings `data` names (others stay); members_in None keeps the members."""
    queue = get(tenant_id, queue_id)
    values = clean(tenant_id, data, queue)
    wanted = clean_members(tenant_id, members_in) if members_in is not None else None
    with database.atomic():
        Queue.update(_columns(values)).where(Queue.id == queue.id).execute()
        detail = _write_members(queue, wanted) if wanted is not None else "members unchanged"
        audit.record("queue.update", tenant_id=tenant_id, user=actor, object_type="queue",
                     object_id=queue.id, detail=f"{values['name']}, {detail}", ip=ip)
    return Queue.get_by_id(queue.id)


def set_members(tenant_id: int, queue_id, members_in, *, actor=None, ip: str = "") -> Queue:
    queue = get(tenant_id, queue_id)
    wanted = clean_members(tenant_id, members_in)
    with database.atomic():
        detail = _write_members(queue, wanted)
        audit.record("queue.members", tenant_id=tenant_id, user=actor, object_type="queue",
                     object_id=queue.id, detail=f"{queue.name}: {detail}", ip=ip)
    return queue


def used_by(queue: Queue) -> list[str]:
    """What sends callers to this queue (it cannot be deleted while anything does)."""
    out = [Msg(N_("queue '%(name)s'"), name=q.name) for q in scoped(Queue, queue.tenant_id).where(
        Queue.fallback == "queue", Queue.fallback_queue == queue.id, Queue.id != queue.id)]
    dids = scoped(Did, queue.tenant_id).where(
        ((Did.route == "queue") & (Did.queue == queue.id))
        | ((Did.closed_route == "queue") & (Did.closed_target == queue.id)))
    out += [Msg(N_("DID %(number)s"), number=d.number) for d in dids]
    for row in scoped(Ivr, queue.tenant_id).select(Ivr.name, Ivr.tree):
        try:
            targets = ivr_tree.queue_targets(json.loads(row.tree or "{}"))
        except (ValueError, TypeError, KeyError):
            continue
        if queue.id in targets:
            out.append(Msg(N_("IVR '%(name)s'"), name=row.name))
    return out


def delete(tenant_id: int, queue_id, *, actor=None, ip: str = "") -> None:
    queue = get(tenant_id, queue_id)
    users = used_by(queue)
    if users:
        raise QueueError(Msg(N_("The queue is used by %(users)s."), users=", ".join(users)))
    with database.atomic():
        audit.record("queue.delete", tenant_id=tenant_id, user=actor, object_type="queue",
                     object_id=queue.id, detail=queue.name, ip=ip)
        queue.delete_instance()


def member_counts(tenant_id: int) -> dict[int, int]:
    return {qid: n for qid, n in scoped(Queue, tenant_id)
            .select(Queue.id, fn.COUNT(QueueMember.id))
            .join(QueueMember, JOIN.LEFT_OUTER, on=(QueueMember.queue == Queue.id))
            .group_by(Queue.id).tuples()}
