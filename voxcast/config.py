"""Settings read once from the environment, so tests and `make run` differ only by variables.

An *instance* ("run" for `make run`, "test" for the suite) has its own ports, database,
rendered Asterisk configuration and state directory, so the suite can run beside a live
system on one machine.
"""
from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    instance: str = "run"
    runtime_dir: Path = PROJECT_ROOT / ".runtime"
    # Root of the Asterisk filesystem: the sid chroot, or "/" for a system Asterisk.
    asterisk_root: Path = PROJECT_ROOT / ".runtime" / "sid"
    ari_port: int = 8088
    sip_port: int = 5060
    rtp_start: int = 10000
    rtp_end: int = 14999
    web_port: int = 8080
    agi_port: int = 4573  # the FastAGI server (agi/), on 127.0.0.1 only
    bounce_port: int = 2525  # the messaging service's SMTP listener for bounces (127.0.0.1)
    trunk_host: str = "127.0.0.1"
    trunk_port: int = 5070
    # Further carrier addresses whose INVITEs are PSTN traffic (VOXCAST_TRUNK_ALLOW).
    trunk_allow: tuple[str, ...] = ()
    # Inbound digest credentials the carrier must present (VOXCAST_TRUNK_INBOUND_USER/PASSWORD).
    trunk_inbound_user: str = ""
    trunk_inbound_password: str = ""
    database_url: str = ""
    ari_app_name: str = "voxcast"
    ari_user: str = "voxcast"
    extra: dict = field(default_factory=dict)

    # -- derived paths ---------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return self.runtime_dir / self.instance

    @property
    def db_path(self) -> Path:
        return self.state_dir / "voxcast.sqlite3"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_path}"

    @property
    def ast_etc(self) -> str:
        """Where the instance's Asterisk reads its configuration, as Asterisk sees it."""
        return f"/etc/voxcast/{self.instance}"

    @property
    def ast_var(self) -> str:
        """Instance data (sounds, recordings, spool) as Asterisk sees it."""
        return f"/var/lib/voxcast/{self.instance}"

    def host_path(self, ast_path: str) -> Path:
        """A path inside Asterisk's filesystem, as our processes see it."""
        return self.asterisk_root / ast_path.lstrip("/")

    @property
    def sounds_dir(self) -> Path:
        return self.host_path(self.ast_var) / "sounds"

    @property
    def recordings_dir(self) -> Path:
        """Where ARI writes recordings (Asterisk's spool/recording), as our processes see it."""
        return self.host_path(self.ast_var) / "spool" / "recording"

    @property
    def faxes_dir(self) -> Path:
        """Fax TIFFs sent and received, and their PDFs (Asterisk reads and writes here)."""
        return self.host_path(self.ast_var) / "fax"

    def fax_path(self, name: str) -> str:
        """A file in faxes_dir as Asterisk sees it (for SendFAX / ReceiveFAX)."""
        return f"{self.ast_var}/fax/{name}"

    def sound_uri(self, name: str) -> str:
        """ARI media URI of one of our sound files (absolute path, no extension)."""
        return f"sound:{self.ast_var}/sounds/{name}"

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.ari_port}/ari"

    @property
    def ari_password_file(self) -> Path:
        return self.state_dir / "ari-password"

    @property
    def secret_key_file(self) -> Path:
        return self.state_dir / "web-secret-key"

    def ari_password(self) -> str:
        return read_or_create_secret(self.ari_password_file)

    @property
    def trunk_password_file(self) -> Path:
        return self.state_dir / "trunk-inbound-password"

    def trunk_password(self) -> str:
        """The carrier's inbound password: VOXCAST_TRUNK_INBOUND_PASSWORD, else the runtime
        file (never generated: the carrier must be told it), else none."""
        if self.trunk_inbound_password:
            return self.trunk_inbound_password
        path = self.trunk_password_file
        return path.read_text().strip() if path.exists() else ""

    @property
    def trunk_addresses(self) -> tuple[str, ...]:
        """Every address identified as the PSTN trunk: its host, then the allowed carriers."""
        return tuple(dict.fromkeys((self.trunk_host, *self.trunk_allow)))


def read_or_create_secret(path: Path) -> str:
    """Secrets are generated on first use and live under .runtime/, never in git."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def system_asterisk() -> bool:
    return shutil.which("asterisk") is not None and os.environ.get("VOXCAST_USE_CHROOT") != "1"


def load(instance: str | None = None) -> Settings:
    """`run` uses the standard ports; any other instance (test, bench, a developer's second
    suite) uses the test ports shifted by VOXCAST_PORT_OFFSET, so several can run at once."""
    instance = instance or os.environ.get("VOXCAST_INSTANCE", "run")
    live = instance == "run"
    offset = 0 if live else _int("VOXCAST_PORT_OFFSET", 0)
    runtime = Path(os.environ.get("VOXCAST_RUNTIME", PROJECT_ROOT / ".runtime"))
    root_env = os.environ.get("VOXCAST_ASTERISK_ROOT")
    if root_env:
        root = Path(root_env)
    elif system_asterisk():
        root = Path("/")
    else:
        root = runtime / "sid"
    rtp_start = 10000 if live else 15000 + offset * 10
    rtp_end = 14999 if live else (19999 if not offset else rtp_start + 999)
    return Settings(
        instance=instance,
        runtime_dir=runtime,
        asterisk_root=root,
        ari_port=_int("VOXCAST_ARI_PORT", 8088 if live else 18088 + offset),
        sip_port=_int("VOXCAST_SIP_PORT", 5060 if live else 15060 + offset),
        rtp_start=_int("VOXCAST_RTP_START", rtp_start),
        rtp_end=_int("VOXCAST_RTP_END", rtp_end),
        web_port=_int("VOXCAST_WEB_PORT", 8080 if live else 18080 + offset),
        agi_port=_int("VOXCAST_AGI_PORT", 4573 if live else 14573 + offset),
        bounce_port=_int("VOXCAST_BOUNCE_PORT", 2525 if live else 12525 + offset),
        trunk_host=os.environ.get("VOXCAST_TRUNK_HOST", "127.0.0.1"),
        trunk_port=_int("VOXCAST_TRUNK_PORT", 5070 if live else 15070 + offset),
        trunk_allow=tuple(a for a in os.environ.get("VOXCAST_TRUNK_ALLOW", "")
                          .replace(",", " ").split() if a),
        trunk_inbound_user=os.environ.get("VOXCAST_TRUNK_INBOUND_USER", ""),
        trunk_inbound_password=os.environ.get("VOXCAST_TRUNK_INBOUND_PASSWORD", ""),
        database_url=os.environ.get("DATABASE_URL", ""),
    )
