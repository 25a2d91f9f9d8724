"""Settings read once from the environment, so tests and `make run` differ only by variables.

An *instance* ("run" for `make run`, "test" for the suite) has its own ports, database,
rendered Asterisk configuration and state directory, so the suite can run beside a live
system on one machine.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The one configuration file besides the environment (VOXCAST_CONFIG or `--config` name
# another): KEY=value lines, the format of systemd's EnvironmentFile=, which the units
# `voxcast install-service` writes read too. A variable set in the environment wins.
CONFIG_FILE = Path("/etc/voxcast/voxcast.conf")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ConfigError(ValueError):
    """The configuration file cannot be read as KEY=value lines."""


def parse_env_file(text: str, source: str = "config") -> dict[str, str]:
    """KEY=value per line; blank lines and lines starting with # or ; are ignored; a value
    may be quoted with ' or " (the quotes dropped, nothing expanded). Anything else is an
    error naming the line, so a typo never silently drops a setting."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not _KEY.match(key):
            raise ConfigError(f"{source}:{number}: expected KEY=value, got {raw!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif value[:1] in ("'", '"'):
            raise ConfigError(f"{source}:{number}: unterminated quote in {key}")
        out[key] = value
    return out


def config_file(environ=os.environ, explicit: str | None = None) -> tuple[Path, bool]:
    """The configuration file and whether it must exist (named by `--config` or
    VOXCAST_CONFIG) or may be absent (the default)."""
    named = explicit or environ.get("VOXCAST_CONFIG")
    return (Path(named), True) if named else (CONFIG_FILE, False)


def apply_config_file(path: Path, environ=os.environ, required: bool = False) -> list[str]:
    """Put the file's settings into `environ` where it has none (the environment wins);
    return the keys taken from the file."""
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: no such configuration file")
        return []
    taken = []
    for key, value in parse_env_file(path.read_text(), str(path)).items():
        if key not in environ:
            environ[key] = value
            taken.append(key)
    return taken


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
    # The agents' browser phones (WebRTC): SIP over secure WebSocket on Asterisk's HTTP server
    # with TLS (VOXCAST_WEBRTC=0 turns it and RTP's ICE off), its address, the URL browsers
    # use (VOXCAST_WSS_URL, e.g. behind a proxy) and the provider's certificate and key
    # (VOXCAST_WSS_CERT / VOXCAST_WSS_KEY; else a self-signed one made at provision).
    webrtc: bool = True
    wss_port: int = 8089
    wss_bind: str = "127.0.0.1"
    wss_url_setting: str = ""
    wss_cert: str = ""
    wss_key: str = ""
    bounce_port: int = 2525  # the messaging service's SMTP listener for bounces (127.0.0.1)
    # The Stasis app's Prometheus metrics and health (/metrics, /health) on 127.0.0.1; 0: off.
    metrics_port: int = 9464
    log_format: str = "text"  # "json": one JSON object per log line (VOXCAST_LOG_FORMAT)
    # This node's name in a cluster of nodes on one PostgreSQL (VOXCAST_NODE; docs in README
    # "Growing to several nodes"): "" is a single-node installation.
    node: str = ""
    # A node silent this long is dead and taken over by a survivor (VOXCAST_NODE_STALE_S).
    node_stale_s: float = 15.0
    node_sip: str = ""  # host:port Kamailio reaches this node's Asterisk at (VOXCAST_NODE_SIP)
    node_ari: str = ""  # where the web reaches this node's ARI (VOXCAST_NODE_ARI; "": ari_url)
    # One ARI password for every node of a cluster and the web (VOXCAST_ARI_PASSWORD), which
    # posts console commands to any node; "": the instance's own generated secret.
    ari_password_setting: str = field(default="", repr=False)
    trunk_host: str = "127.0.0.1"
    trunk_port: int = 5070
    # Further carrier addresses whose INVITEs are PSTN traffic (VOXCAST_TRUNK_ALLOW).
    trunk_allow: tuple[str, ...] = ()
    # Kamailio in front of the nodes (VOXCAST_SIP_PROXY: its addresses as the nodes see
    # them): accepted like the trunk's addresses, and phones registered through it are
    # reached through its Path (their Contact is not rewritten to its address).
    sip_proxies: tuple[str, ...] = ()
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
        return self.ari_password_setting or read_or_create_secret(self.ari_password_file)

    @property
    def wss_url(self) -> str:
        """Where browser phones connect: VOXCAST_WSS_URL, else Asterisk's own TLS port."""
        host = "127.0.0.1" if self.wss_bind in ("0.0.0.0", "::", "") else self.wss_bind
        return self.wss_url_setting or f"wss://{host}:{self.wss_port}/ws"

    @property
    def wss_selfsigned(self) -> tuple[Path, Path]:
        """The loopback certificate and key `voxcast asterisk provision` makes (openssl)."""
        return self.state_dir / "wss-selfsigned.crt", self.state_dir / "wss-selfsigned.key"

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
        """Every address identified as the PSTN trunk: its host, the allowed carriers, then
        Kamailio's (which relays the carriers' calls)."""
        return tuple(dict.fromkeys((self.trunk_host, *self.trunk_allow, *self.sip_proxies)))


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
        webrtc=os.environ.get("VOXCAST_WEBRTC", "1").strip() != "0",
        wss_port=_int("VOXCAST_WSS_PORT", 8089 if live else 18089 + offset),
        wss_bind=os.environ.get("VOXCAST_WSS_BIND", "127.0.0.1").strip(),
        wss_url_setting=os.environ.get("VOXCAST_WSS_URL", "").strip(),
        wss_cert=os.environ.get("VOXCAST_WSS_CERT", "").strip(),
        wss_key=os.environ.get("VOXCAST_WSS_KEY", "").strip(),
        bounce_port=_int("VOXCAST_BOUNCE_PORT", 2525 if live else 12525 + offset),
        metrics_port=_int("VOXCAST_METRICS_PORT", 9464 if live else 13464 + offset),
        log_format=os.environ.get("VOXCAST_LOG_FORMAT", "text").strip().lower() or "text",
        node=os.environ.get("VOXCAST_NODE", "").strip()[:64],
        node_stale_s=float(os.environ.get("VOXCAST_NODE_STALE_S", "15") or 15),
        node_sip=os.environ.get("VOXCAST_NODE_SIP", "").strip(),
        node_ari=os.environ.get("VOXCAST_NODE_ARI", "").strip(),
        ari_password_setting=os.environ.get("VOXCAST_ARI_PASSWORD", "").strip(),
        trunk_host=os.environ.get("VOXCAST_TRUNK_HOST", "127.0.0.1"),
        trunk_port=_int("VOXCAST_TRUNK_PORT", 5070 if live else 15070 + offset),
        trunk_allow=tuple(a for a in os.environ.get("VOXCAST_TRUNK_ALLOW", "")
                          .replace(",", " ").split() if a),
        sip_proxies=tuple(a for a in os.environ.get("VOXCAST_SIP_PROXY", "")
                          .replace(",", " ").split() if a),
        trunk_inbound_user=os.environ.get("VOXCAST_TRUNK_INBOUND_USER", ""),
        trunk_inbound_password=os.environ.get("VOXCAST_TRUNK_INBOUND_PASSWORD", ""),
        database_url=os.environ.get("DATABASE_URL", ""),
    )
