"""Numbers besides its own DIDs that the provider lets a tenant show as caller ID."""
from __future__ import annotations

from ..entities import Tenant

ADDS = [(Tenant, "allowed_caller_ids")]


def up(ops) -> None:
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
