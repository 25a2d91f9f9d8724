"""Issue 16, item 1: several nodes on one database. The node registry (heartbeats, take-over
of a dead node's calls) and the node each CDR and credit reservation belongs to; rows written
before this have node "" (the single node they ran on)."""
from __future__ import annotations

from ..entities import Call, CreditReservation, Node

CREATES = [Node]
ADDS = [(Call, "node"), (CreditReservation, "node")]


def up(ops) -> None:
    ops.create_table(Node)
    for model, name in ADDS:
        ops.add_column(model, name, fill="")
    # No index of its own: a node's open calls are read through call_open_by_tenant (m0014),
    # whose rows are the calls in progress only.


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
    ops.drop_table(Node)
