"""Which numbers a tenant's campaigns may show as caller ID: its own DIDs and those the
provider allowed it; empty means the trunk's default. Checked on save (portal and API alike,
through voxcast.campaigns.editing) and again at start."""
from __future__ import annotations

from models import Did, Tenant

from .errors import CampaignError


def caller_ids(tenant_id: int) -> list[str]:
    """The tenant's DIDs, then the numbers the provider allowed it (Tenant.allowed_caller_ids)."""
    own = [n for (n,) in Did.select(Did.number).where(Did.tenant == tenant_id)
           .order_by(Did.number).tuples()]
    allowed = (Tenant.select(Tenant.allowed_caller_ids).where(Tenant.id == tenant_id)
               .scalar() or "").split()
    own_digits = {o.removeprefix("+") for o in own}
    return own + [n for n in allowed if n.removeprefix("+") not in own_digits]


def check_caller_id(tenant_id: int, raw: str | None) -> str:
    """The caller ID to store: "" (the trunk's default) or one of `caller_ids`, in its own
    spelling ("+4930..." and "4930..." are the same number). Anything else is a CampaignError:
    a tenant must not present another tenant's or an arbitrary number."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    digits = raw.removeprefix("+")
    for number in caller_ids(tenant_id):
        if number.removeprefix("+") == digits:
            return number
    raise CampaignError(f"The caller ID {raw} is not one of your numbers; choose one of your "
                        "DIDs or leave it empty for the default")
