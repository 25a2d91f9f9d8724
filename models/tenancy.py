"""Tenant scoping in one place: every query for a tenant-owned model starts here."""
from __future__ import annotations

from .entities import TenantOwned


class TenantScopeError(LookupError):
    pass


def scoped(model: type[TenantOwned], tenant_id: int | None):
    """A select of `model` limited to one tenant; None means the provider (sees all)."""
    if not issubclass(model, TenantOwned):
        raise TypeError(f"{model.__name__} is not tenant-owned")
    query = model.select()
    if tenant_id is not None:
        query = query.where(model.tenant == tenant_id)
    return query


def get_scoped(model: type[TenantOwned], tenant_id: int | None, pk: int):
    """The row with this id if the tenant owns it; another tenant's row is simply not found."""
    row = scoped(model, tenant_id).where(model.id == pk).first()
    if row is None:
        raise TenantScopeError(f"{model.__name__} {pk} not found")
    return row
