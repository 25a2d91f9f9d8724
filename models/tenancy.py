"""Tenant scoping in one place: every query for a tenant-owned model starts here.

`TENANT_FIELD` is the registry of tenant-owned models and the field that names each row's
tenant. Models deriving from TenantOwned are registered automatically; models whose tenant
may be empty (a DID in the provider's pool, the provider-wide DNC list, a provider API key,
provider-level log rows, provider admins) are registered by hand below. A model missing here
cannot be scoped at all (TypeError), and tests/unit/test_isolation.py fails when a model of
ALL_MODELS has a `tenant` field but no entry, so a new table cannot silently escape."""
from __future__ import annotations

from peewee import Field, ModelSelect

from . import entities
from .entities import TenantOwned


MAX_PK = 2**31 - 1  # ids are PostgreSQL integers (serial)


class TenantScopeError(LookupError):
    pass


TENANT_FIELD: dict[type, Field] = {}


def register(model: type, field: Field | None = None) -> type:
    """Declare `model` tenant-owned; `field` (default `model.tenant`) holds its tenant."""
    TENANT_FIELD[model] = field if field is not None else model.tenant
    return model


def tenant_field(model: type) -> Field:
    try:
        return TENANT_FIELD[model]
    except KeyError:
        raise TypeError(f"{model.__name__} is not a registered tenant-owned model") from None


def scoped(model: type, tenant_id: int | None) -> ModelSelect:
    """A select of `model` limited to one tenant; None means the provider (sees all).

    For models whose tenant may be empty, a tenant sees only its own rows, never the
    provider's (tenant NULL) ones; `provider_rows` selects those explicitly."""
    field = tenant_field(model)
    query = model.select()
    if tenant_id is not None:
        query = query.where(field == tenant_id)
    return query


def provider_rows(model: type) -> ModelSelect:
    """The rows that belong to no tenant (the DID pool, the provider-wide DNC list...)."""
    field = tenant_field(model)
    if not field.null:
        raise TypeError(f"{model.__name__} always belongs to a tenant")
    return model.select().where(field.is_null())


def get_scoped(model: type, tenant_id: int | None, pk: int):
    """The row with this id if the tenant owns it; another tenant's row is simply not found."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise TenantScopeError(f"{model.__name__} {pk!r} not found") from None
    if not 0 < pk <= MAX_PK:  # no row has it, and SQL would refuse the number
        raise TenantScopeError(f"{model.__name__} {pk} not found")
    row = scoped(model, tenant_id).where(model._meta.primary_key == pk).first()
    if row is None:
        raise TenantScopeError(f"{model.__name__} {pk} not found")
    return row


def owns(model: type, tenant_id: int | None, pk) -> bool:
    """Whether the tenant owns row `pk`: for ids that arrive in forms and JSON bodies."""
    try:
        get_scoped(model, tenant_id, pk)
    except TenantScopeError:
        return False
    return True


def _register_known() -> None:
    for model in entities.ALL_MODELS:
        if isinstance(model, type) and issubclass(model, TenantOwned):
            register(model)
    for model in (entities.User, entities.Did, entities.Extension, entities.Timeslot,
                  entities.DncNumber, entities.ApiKey, entities.TenantLog,
                  entities.WebhookEndpoint, entities.WebhookDelivery):
        register(model)


_register_known()
