"""Which tenant owns a dialled DID, and what it plays (read on the Stasis app's writer thread)."""
from __future__ import annotations

from dataclasses import dataclass

from models import Did, Tenant


@dataclass(frozen=True)
class DidRoute:
    number: str
    tenant_id: int
    tenant_status: str
    tenant_channel_limit: int
    greeting_file: str
    greeting_text: str
    ivr_id: int | None = None  # the DID runs this IVR instead of the greeting


def find_did(number: str) -> DidRoute | None:
    candidates = {number, number.lstrip("+"), "+" + number.lstrip("+")}
    did = (Did.select(Did, Tenant).join(Tenant)
           .where(Did.number.in_(list(candidates))).first())
    if did is None:
        return None
    return DidRoute(did.number, did.tenant_id, did.tenant.status, did.tenant.channel_limit,
                    did.greeting_file, did.greeting_text or did.tenant.greeting_text, did.ivr_id)
