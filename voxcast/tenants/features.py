"""Feature permissions of a tenant: which kinds of campaigns and which areas it may use.

Stored in Tenant.features as space-separated names from models.entities.FEATURES; the
provider's admin sets them, views check them with webui.permissions.feature_required."""
from __future__ import annotations

from models import Tenant
from models.entities import FEATURES

LABELS = {
    "voice_message": "Voice message campaigns",
    "voice_interactive": "Interactive voice (press-1) campaigns",
    "voice_ivr": "IVR campaigns",
    "voice_survey": "Survey campaigns",
    "appointment_reminder": "Appointment reminders",
    "voice_agent": "Voice Agent campaigns",
    "fax": "Fax campaigns",
    "sms": "SMS campaigns",
    "email": "E-mail campaigns",
    "agents": "Agents and the agent console",
    "recordings": "Call recordings",
    "reports": "Reports",
    "api": "JSON API",
}


class UnknownFeature(ValueError):
    pass


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def enabled(tenant: Tenant) -> set[str]:
    return {name for name in (tenant.features or "").split() if name in FEATURES}


def has(tenant: Tenant | None, name: str) -> bool:
    return tenant is not None and name in enabled(tenant)


# Campaign types allowed by a feature of another name (a Voice Agent campaign needs agents).
CAMPAIGN_FEATURE = {"voice_agent": "agents"}


def allows_campaign(tenant: Tenant | None, campaign_type: str) -> bool:
    return has(tenant, CAMPAIGN_FEATURE.get(campaign_type, campaign_type))


def normalise(names) -> str:
    """The stored form of a selection, in FEATURES order; unknown names are refused."""
    chosen = set(names)
    unknown = chosen - set(FEATURES)
    if unknown:
        raise UnknownFeature(f"Unknown feature(s): {', '.join(sorted(unknown))}")
    return " ".join(name for name in FEATURES if name in chosen)
