"""Tenant scoping in one place: every query for a tenant-owned model starts here."""
from __future__ import annotations

from peewee import ForeignKeyField

from .entities import Tenant, TenantOwned


def _has_tenant(model) -> bool:
    """TenantOwned rows, and pool rows with an optional tenant (User, Did, Extension, DNC):
    those a tenant holds are scoped the same way."""
    field = getattr(model, "tenant", None)
    return issubclass(model, TenantOwned) or (
        isinstance(field, ForeignKeyField) and field.rel_model is Tenant)


class TenantScopeError(LookupError):
    pass


def scoped(model: type[TenantOwned], tenant_id: int | None):
    """A select of `model` limited to one tenant; None means the provider (sees all)."""
    if not _has_tenant(model):
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
