"""Databases made before migrations were versioned (up to 2026-12-01) grew by "add what is
missing" at every start, with NOT NULL columns added as nullable. Bring them to this release's
models, NOT NULL included, once; what later migrations add is theirs to add."""
from __future__ import annotations

from ..entities import ALL_MODELS


def up(ops) -> None:
    from . import later_additions
    tables, columns = later_additions()
    ops.catch_up([m for m in ALL_MODELS if m not in tables], skip=columns)
