"""Capability quotas of a tenant (users, agents, campaigns, contacts, channels, disk).

`check(tenant, kind, adding)` is called before something is added and raises QuotaExceeded
with a message fit for the user; `usage(tenant)` feeds the admin's usage page."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models import Call, Campaign, Contact, Tenant, User
from voxcast.errors import ServiceError

NON_AGENT_ROLES = ("tenant", "supervisor", "user")

# kind -> (Tenant field holding the limit, noun for messages, label)
QUOTAS = {
    "users": ("max_users", "users", "Users"),
    "agents": ("max_agents", "agents", "Agents"),
    "campaigns": ("max_campaigns", "campaigns", "Campaigns"),
    "contacts": ("max_contacts", "contacts", "Contacts"),
    "channels": ("channel_limit", "simultaneous calls", "Channels in use"),
    "disk_mb": ("disk_quota_mb", "MB of storage", "Disk (MB)"),
}


class QuotaExceeded(ServiceError):
    """Adding would pass the tenant's limit; str(error) tells the user by how much."""
    code, status = "quota", 403

    def __init__(self, kind: str, limit: int, used: float, adding: float):
        self.kind, self.limit, self.used, self.adding = kind, limit, used, adding
        noun = QUOTAS[kind][1]
        used_txt = f"{used:.1f}" if kind == "disk_mb" else f"{int(used)}"
        super().__init__(f"Your plan allows {limit} {noun}; you have {used_txt}.")


@dataclass(frozen=True)
class Usage:
    kind: str
    label: str
    used: float
    limit: int

    @property
    def percent(self) -> int:
        if self.limit <= 0:
            return 100 if self.used > 0 else 0
        return min(100, round(100 * self.used / self.limit))


def limit(tenant: Tenant, kind: str) -> int:
    return int(getattr(tenant, QUOTAS[kind][0]))


def sound_files(tenant: Tenant, sounds_dir: Path) -> list[Path]:
    """The tenant's stored audio: each campaign's uploaded message (campaign-<id>.wav) and the
    prompts of its audio library (voxcast.audio.library)."""
    from models.entities import Prompt
    ids = [c.id for c in Campaign.select(Campaign.id).where(Campaign.tenant == tenant)]
    prompts = [p.sound for p in Prompt.select(Prompt.sound).where(Prompt.tenant == tenant)]
    return ([sounds_dir / f"campaign-{i}.wav" for i in ids]
            + [sounds_dir / f"{name}.wav" for name in prompts])


def recording_files(tenant: Tenant, recordings_dir: Path) -> list[Path]:
    """The tenant's call recordings: <tenant id>-<call id>.wav in the recordings dir."""
    return list(recordings_dir.glob(f"{tenant.id}-*.wav")) if recordings_dir.is_dir() else []


def disk_bytes(tenant: Tenant, sounds_dir: Path, recordings_dir: Path | None = None) -> int:
    total = 0
    files = sound_files(tenant, sounds_dir)
    if recordings_dir is not None:
        files += recording_files(tenant, recordings_dir)
    faxes_dir = sounds_dir.parent / "fax"  # Settings.faxes_dir: documents and received faxes
    if faxes_dir.is_dir():
        files += list(faxes_dir.glob(f"t{tenant.id}-*"))  # voxcast.messaging.fax.documents
    for path in files:
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


def _sounds_dir() -> Path:
    from voxcast import config
    return config.load().sounds_dir


def _recordings_dir() -> Path:
    from voxcast import config
    return config.load().recordings_dir


def used(tenant: Tenant, kind: str, sounds_dir: Path | None = None) -> float:
    if kind == "users":
        return User.select().where(User.tenant == tenant, User.role.in_(NON_AGENT_ROLES)).count()
    if kind == "agents":
        return User.select().where(User.tenant == tenant, User.role == "agent").count()
    if kind == "campaigns":
        return Campaign.select().where(Campaign.tenant == tenant).count()
    if kind == "contacts":
        return Contact.select().where(Contact.tenant == tenant).count()
    if kind == "channels":
        return Call.select().where(Call.tenant == tenant, Call.ended_at.is_null()).count()
    if kind == "disk_mb":
        recordings = _recordings_dir() if sounds_dir is None else sounds_dir.parent / "spool" / "recording"
        return disk_bytes(tenant, sounds_dir or _sounds_dir(), recordings) / (1024 * 1024)
    raise KeyError(kind)


def check(tenant: Tenant, kind: str, adding: float = 1, sounds_dir: Path | None = None) -> None:
    """Raise QuotaExceeded when `adding` more of `kind` would pass the tenant's limit."""
    cap = limit(tenant, kind)
    now = used(tenant, kind, sounds_dir)
    if now + adding > cap:
        raise QuotaExceeded(kind, cap, now, adding)


def usage(tenant: Tenant, sounds_dir: Path | None = None) -> list[Usage]:
    return [Usage(kind, QUOTAS[kind][2], used(tenant, kind, sounds_dir), limit(tenant, kind))
            for kind in QUOTAS]
