"""DID routing (issue 12): where a DID's calls go (greeting, IVR, queue, a user's phone, a
campaign), time-of-day routing by the tenant's timeslots, and IVR numbers for the phones."""
from __future__ import annotations

from ..entities import Did, Ivr

ADDS = [(Did, "route"), (Did, "queue"), (Did, "closed_route"), (Did, "closed_target"),
        (Did, "closed_text"), (Ivr, "number")]


def up(ops) -> None:
    for model, name in ADDS:
        ops.add_column(model, name)
    # A DID saved before could already name an IVR (it ran instead of the greeting) or a user
    # or campaign (stored, not yet routed): the route says so now, an IVR first as before.
    if "route" in ops.columns(Did):
        Did.update(route="ivr").where(Did.ivr.is_null(False), Did.route == "greeting").execute()
        Did.update(route="user").where(Did.user.is_null(False), Did.route == "greeting").execute()
        Did.update(route="campaign").where(Did.campaign.is_null(False),
                                           Did.route == "greeting").execute()


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
