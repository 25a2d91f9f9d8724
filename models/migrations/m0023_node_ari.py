"""Issue 16, item 1: a tenant's contact centre on its home node. Each node publishes where its
ARI is (Node.ari_url), so the web posts an agent's console commands to the node that has the
agent's phone or call."""
from __future__ import annotations

from ..entities import Node

ADDS = [(Node, "ari_url")]


def up(ops) -> None:
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
