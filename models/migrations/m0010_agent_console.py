"""The agent console: what the Stasis app reports of the agent's call (hold, consultation,
conference, a refused dial), shown live in the web console."""
from __future__ import annotations

from ..entities import AgentSession

ADDS = [(AgentSession, "console_status")]


def up(ops) -> None:
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
