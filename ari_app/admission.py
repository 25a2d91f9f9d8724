"""May this call be placed? The one place other parts of voxcast (billing: credit checks and
reservations) hook into the dialer.

A check runs on the database writer thread inside the transaction that claims the calls,
after their CDR rows exist (so a reservation can point at its Call), and returns the claims
it refuses plus a reason shown on the campaign; refused claims are undone as if never claimed
(CDR deleted, contact back to pending, attempt uncounted) and tried again on a later tick.
A finish hook runs inside the transaction that closes a CDR (release or settle there).
"""
from __future__ import annotations

from typing import Callable, Iterable

# check(claims) -> (refused claims, lifecycle.Cause or None); claims are ari_app.store.Claim
CHECKS: list[Callable[[list], tuple[Iterable, object]]] = []
# on_finish(call_id, billsec) inside the transaction that closed the CDR
ON_FINISH: list[Callable[[int, int], None]] = []


def register_check(check: Callable[[list], tuple[Iterable, object]]) -> None:
    if check not in CHECKS:
        CHECKS.append(check)


def register_finish(hook: Callable[[int, int], None]) -> None:
    if hook not in ON_FINISH:
        ON_FINISH.append(hook)


def check(claims: list) -> tuple[list, list, object]:
    """(admitted, refused, cause): every registered check must admit a claim; the cause is
    the first refusing check's (a voxcast.campaigns.lifecycle.Cause, or None)."""
    refused_ids: set[int] = set()
    causes = []
    for chk in CHECKS:
        candidates = [c for c in claims if c.call_id not in refused_ids]
        if not candidates:
            break
        refused, reason = chk(candidates)
        refused = list(refused)
        if refused:
            refused_ids.update(c.call_id for c in refused)
            if reason:
                causes.append(reason)
    admitted = [c for c in claims if c.call_id not in refused_ids]
    return admitted, [c for c in claims if c.call_id in refused_ids], (causes or [None])[0]


def finished(call_id: int, billsec: int) -> None:
    for hook in ON_FINISH:
        hook(call_id, billsec)
