"""A service-level target per queue (Queue.service_level_seconds, 20 s for existing queues):
contact centres set "80 % within N seconds" queue by queue, so the wallboard, the queue list
and the queue report measure each queue against its own target."""
from __future__ import annotations

from ..entities import Queue

ADDS = [(Queue, "service_level_seconds")]


def up(ops) -> None:
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
