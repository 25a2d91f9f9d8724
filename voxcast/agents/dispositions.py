"""The tenant's agent dispositions: what an agent records at the end of a call, in the order
they set (`position`). Kind "callback" asks for a time and queues the contact again then,
"dnc" puts the number on the tenant's do-not-call list (voxcast.agents.wrapup). Calls keep
the disposition's name, so deleting or renaming one does not rewrite history."""
from __future__ import annotations

from peewee import fn

from models import database
from models.entities import DISPOSITION_KINDS, AgentDisposition
from models.tenancy import TenantScopeError, get_scoped, scoped
from voxcast.agents.errors import AgentInputError, NotFound
from voxcast.audit import records as audit
from voxcast.i18n import Msg, N_

MAX_NAME = 60


def dispositions_query(tenant_id: int, *, active_only: bool = False):
    """The tenant's dispositions in list order, as a query the UI pages and searches."""
    query = scoped(AgentDisposition, tenant_id)
    if active_only:
        query = query.where(AgentDisposition.active)
    return query.order_by(AgentDisposition.position, fn.LOWER(AgentDisposition.name),
                          AgentDisposition.id)


def list_dispositions(tenant_id: int, *, active_only: bool = False) -> list[AgentDisposition]:
    return list(dispositions_query(tenant_id, active_only=active_only))


def get(tenant_id: int, disposition_id) -> AgentDisposition:
    try:
        return get_scoped(AgentDisposition, tenant_id, disposition_id)
    except TenantScopeError:
        raise NotFound(N_("No such disposition.")) from None


def _clean(tenant_id: int, name: str, kind: str, position, row_id: int | None
           ) -> tuple[str, str, int]:
    errors = {}
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        errors["name"] = Msg(N_("The name must be 1 to %(max)d characters."), max=MAX_NAME)
    else:
        clash = scoped(AgentDisposition, tenant_id).where(
            fn.LOWER(AgentDisposition.name) == name.lower())
        if row_id is not None:
            clash = clash.where(AgentDisposition.id != row_id)
        if clash.exists():
            errors["name"] = Msg(N_("A disposition named '%(name)s' already exists."), name=name)
    if kind not in DISPOSITION_KINDS:
        errors["kind"] = Msg(N_("Choose normal, call back or do not call."))
    try:
        position = int(position if position not in (None, "") else 0)
    except (TypeError, ValueError):
        position = -1
    if not 0 <= position <= 1000:
        errors["position"] = Msg(N_("A position from 0 to 1000."))
    if errors:
        field, message = next(iter(errors.items()))
        exc = AgentInputError(message.template, field, **message.params)
        exc.errors = errors
        raise exc
    return name, kind, position


def create(tenant_id: int, name: str, kind: str = "normal", position=0, *, active: bool = True,
           actor=None, ip: str = "") -> AgentDisposition:
    name, kind, position = _clean(tenant_id, name, kind, position, None)
    with database.atomic():
        row = AgentDisposition.create(tenant=tenant_id, name=name, kind=kind, position=position,
                                      active=bool(active))
        audit.record("disposition.create", tenant_id=tenant_id, user=actor,
                     object_type="disposition", object_id=row.id, detail=f"{name} ({kind})",
                     ip=ip)
    return row


def update(tenant_id: int, disposition_id, *, name: str, kind: str, position=0,
           active: bool = True, actor=None, ip: str = "") -> AgentDisposition:
    row = get(tenant_id, disposition_id)
    name, kind, position = _clean(tenant_id, name, kind, position, row.id)
    with database.atomic():
        row.name, row.kind, row.position, row.active = name, kind, position, bool(active)
        row.save(only=[AgentDisposition.name, AgentDisposition.kind, AgentDisposition.position,
                       AgentDisposition.active])
        audit.record("disposition.update", tenant_id=tenant_id, user=actor,
                     object_type="disposition", object_id=row.id,
                     detail=f"{name} ({kind}){'' if row.active else ' (off)'}", ip=ip)
    return row


def delete(tenant_id: int, disposition_id, *, actor=None, ip: str = "") -> None:
    row = get(tenant_id, disposition_id)
    with database.atomic():
        audit.record("disposition.delete", tenant_id=tenant_id, user=actor,
                     object_type="disposition", object_id=row.id, detail=row.name, ip=ip)
        row.delete_instance()
