"""Issue 17, item 3: the tenant's audio library (Prompt: uploads, browser recordings and TTS
texts stored as sounds; unique name per tenant)."""
from __future__ import annotations

from ..entities import Prompt


def up(ops) -> None:
    ops.create_table(Prompt)


def down(ops) -> None:
    ops.drop_table(Prompt)
