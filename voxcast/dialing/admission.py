"""May this call be placed? The dialer asks one Admission object, built in ari_app.main with
its gates (the DNC check, billing) and handed to the claims and the CDR close.

A gate has three moments, all on the writer thread inside the claim's or the close's
transaction: `screen(entries, campaign_id, now)` before any CDR exists (entries it drops were
dealt with by the gate: DNC, no rate), `admit(claims)` once the claimed calls have their CDR
rows (so a reservation can point at its Call), answering the claims it refuses plus a
voxcast.campaigns.lifecycle.Cause shown on the campaign (refused claims are undone as if never
claimed and tried again on a later tick), and `finished(call_id, billsec)` inside the
transaction that closes a CDR (release or settle there).
"""
from __future__ import annotations

from typing import Iterable

from voxcast.contacts import dnc as dnc_service
from voxcast.campaigns.lifecycle import Cause

from models import CampaignContact


class Gate:
    """A gate that lets everything through; subclasses override the moments they need."""

    def screen(self, entries: list, campaign_id: int, now) -> list:
        return entries

    def admit(self, claims: list) -> tuple[Iterable, Cause | None]:
        return [], None

    def finished(self, call_id: int, billsec: int) -> None:
        pass


class Admission:
    def __init__(self, gates: Iterable[Gate] = ()):
        self.gates = tuple(gates)

    def screen(self, entries: list, campaign_id: int, now) -> list:
        for gate in self.gates:
            if not entries:
                break
            entries = gate.screen(entries, campaign_id, now)
        return entries

    def check(self, claims: list) -> tuple[list, list, Cause | None]:
        """(admitted, refused, cause): every gate must admit a claim; the cause is the first
        refusing gate's (or None)."""
        refused_ids: set[int] = set()
        causes = []
        for gate in self.gates:
            candidates = [c for c in claims if c.call_id not in refused_ids]
            if not candidates:
                break
            refused, reason = gate.admit(candidates)
            refused = list(refused)
            if refused:
                refused_ids.update(c.call_id for c in refused)
                if reason:
                    causes.append(reason)
        admitted = [c for c in claims if c.call_id not in refused_ids]
        return admitted, [c for c in claims if c.call_id in refused_ids], (causes or [None])[0]

    def finished(self, call_id: int, billsec: int) -> None:
        for gate in self.gates:
            gate.finished(call_id, billsec)


class DncCheck(Gate):
    """Entries whose number is on the tenant's or the provider's DNC list now (one query) are
    marked "dnc" without a CDR; the rest go on to be dialed. Checked at dial time, so a number
    added after the campaign started is still never called."""

    def screen(self, entries: list, campaign_id: int, now) -> list:
        blocked = dnc_service.blocked_set(entries[0].tenant_id, [e.phone for e in entries])
        if not blocked:
            return entries
        skip = [e.id for e in entries if e.phone in blocked]
        (CampaignContact.update(state="dnc", last_disposition="DNC")
         .where(CampaignContact.id.in_(skip), CampaignContact.state == "pending").execute())
        return [e for e in entries if e.phone not in blocked]
