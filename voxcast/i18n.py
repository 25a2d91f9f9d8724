"""Message marking for services that run without a request locale (the ledger, user rules).

`N_` marks a text for pybabel (`-k N_`) and returns it unchanged; the service raises it as a
template with its params, and the web UI translates it for the user who sees it."""
from __future__ import annotations


def N_(message: str) -> str:
    return message
