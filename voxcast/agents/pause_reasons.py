"""The tenant's pause reasons (break, lunch, training...). The system reason ("No answer", used
when an agent leaves offered calls unanswered, voxcast.agents.states.system_reason) may be
renamed but not deleted or switched off. A reason in use by past states is switched off
rather than lost: deleting it keeps the state log's times, without the reason's name."""
from __future__ import annotations

from peewee import fn

from models import Tenant, database
from models.entities import AgentSession, PauseReason
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.agents.errors import AgentInputError, NotFound
from voxcast.audit import records as audit
from voxcast.i18n import N_

MAX_NAME = 60


def reasons_query(tenant_id: int, *, active_only: bool = False, include_system: bool = True):
    """The tenant's reasons in list order, as a query the UI pages and searches."""
    query = scoped(PauseReason, tenant_id)
    if active_only:
        query = query.where(PauseReason.active)
    if not include_system:
        query = query.where(~PauseReason.system)
    return query.order_by(PauseReason.system, fn.LOWER(PauseReason.name), PauseReason.id)


def list_reasons(tenant_id: int, *, active_only: bool = False, include_system: bool = True
                 ) -> list[PauseReason]:
    return list(reasons_query(tenant_id, active_only=active_only, include_system=include_system))


def get(tenant_id: int, reason_id) -> PauseReason:
    try:
        return get_scoped(PauseReason, tenant_id, reason_id)
    except TenantScopeError:
        raise NotFound(N_("No such pause reason.")) from None


def first_active(tenant_id: int) -> PauseReason | None:
    """The reason a phone's pause feature code uses: the tenant's first active own reason."""
    return (scoped(PauseReason, tenant_id).where(PauseReason.active, ~PauseReason.system)
            .order_by(PauseReason.id).first())


def _clean_name(tenant_id: int, name: str, reason_id: int | None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise AgentInputError(N_("The name must be 1 to %(max)d characters."), "name", max=MAX_NAME)
    clash = scoped(PauseReason, tenant_id).where(fn.LOWER(PauseReason.name) == name.lower())
    if reason_id is not None:
        clash = clash.where(PauseReason.id != reason_id)
    if clash.exists():
        raise AgentInputError(N_("A pause reason named '%(name)s' already exists."), "name",
                              name=name)
    return name


def create(tenant_id: int, name: str, *, active: bool = True, actor=None, ip: str = ""
           ) -> PauseReason:
    name = _clean_name(tenant_id, name, None)
    with database.atomic():
        row = PauseReason.create(tenant=tenant_id, name=name, active=bool(active))
        audit.record("pause_reason.create", tenant_id=tenant_id, user=actor,
                     object_type="pause_reason", object_id=row.id, detail=name, ip=ip)
    return row


def update(tenant_id: int, reason_id, *, name: str, active: bool = True, actor=None,
           ip: str = "") -> PauseReason:
    row = get(tenant_id, reason_id)
    name = _clean_name(tenant_id, name, row.id)
    if row.system and not active:
        raise AgentInputError(N_("The system's reason for missed calls cannot be switched off."),
                              "active")
    with database.atomic():
        row.name, row.active = name, bool(active)
        row.save(only=[PauseReason.name, PauseReason.active])
        audit.record("pause_reason.update", tenant_id=tenant_id, user=actor,
                     object_type="pause_reason", object_id=row.id,
                     detail=f"{name}{'' if row.active else ' (off)'}", ip=ip)
    return row


def delete(tenant_id: int, reason_id, *, actor=None, ip: str = "") -> None:
    row = get(tenant_id, reason_id)
    if row.system:
        raise AgentInputError(N_("The system's reason for missed calls cannot be deleted."))
    if AgentSession.select().where(AgentSession.pause_reason == row.id,
                                   AgentSession.ended_at.is_null()).exists():
        raise AgentInputError(
            N_("An agent is paused with this reason now; switch it off instead."))
    with database.atomic():
        audit.record("pause_reason.delete", tenant_id=tenant_id, user=actor,
                     object_type="pause_reason", object_id=row.id, detail=row.name, ip=ip)
        row.delete_instance()


MAX_MISSED_LIMIT = 20


def set_max_missed(tenant_id: int, value, *, actor=None, ip: str = "") -> int:
    """How many offered calls in a row an agent may leave unanswered before the system pauses
    them with its reason (0: never)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = -1
    if not 0 <= number <= MAX_MISSED_LIMIT:
        raise AgentInputError(N_("From 0 (never) to %(max)d calls."), "agent_max_missed",
                              max=MAX_MISSED_LIMIT)
    with database.atomic():
        Tenant.update(agent_max_missed=number).where(Tenant.id == tenant_id).execute()
        audit.record("tenant.agent_max_missed", tenant_id=tenant_id, user=actor,
                     object_type="tenant", object_id=tenant_id,
                     detail=f"pause after {number} unanswered offers" if number else
                     "never pause for unanswered offers", ip=ip)
    return number
