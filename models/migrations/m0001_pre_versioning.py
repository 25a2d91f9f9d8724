"""Databases made before migrations were versioned (up to 2026-12-01) grew by "add what is
missing" at every start, with NOT NULL columns added as nullable. Bring them to this release's
models, NOT NULL included, once."""
from __future__ import annotations

from ..entities import ALL_MODELS


def up(ops) -> None:
    ops.catch_up(ALL_MODELS)
