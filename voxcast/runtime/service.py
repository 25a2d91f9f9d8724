"""systemd units for a production installation (`voxcast install-service`): one service per
process, the way `voxcast run` starts them but each supervised by systemd (Restart=on-failure),
all reading the one configuration file (EnvironmentFile=) and grouped in `voxcast.target`.
Writing the files is all this does: enabling and starting them is the operator's step."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from voxcast.config import CONFIG_FILE, PROJECT_ROOT, Settings

# (unit name, `voxcast` subcommand, description) of the Python processes.
PROCESSES = (
    ("voxcast-ari-app", "ari-app", "voxcast Stasis app (ARI call control, the dialer)"),
    ("voxcast-agi", "agi", "voxcast FastAGI server (phones' dialplan decisions)"),
    ("voxcast-messaging", "messaging", "voxcast messaging (SMS over SMPP, e-mail over SMTP)"),
    ("voxcast-webhooks", "webhooks", "voxcast webhook sender"),
    ("voxcast-web", "web", "voxcast web UI and API"),
)
ASTERISK_UNIT = "voxcast-asterisk"
# Kamailio in front of the nodes (`voxcast kamailio foreground`): on the one host that runs
# it, enabled by itself (`systemctl enable --now voxcast-kamailio`), not part of the target.
KAMAILIO_UNIT = "voxcast-kamailio"
TARGET = "voxcast.target"


@dataclass(frozen=True)
class ServiceOptions:
    user: str  # who the Python processes run as
    config_file: Path = CONFIG_FILE
    python: str = sys.executable
    workdir: Path = PROJECT_ROOT
    restart_sec: int = 2


def default_user(settings: Settings) -> str:
    """With a system Asterisk the processes run as `voxcast` (in group asterisk, for its
    control socket); with the chroot runtime they run `chroot` for the Asterisk CLI, which
    needs root."""
    return "voxcast" if settings.asterisk_root == Path("/") else "root"


def _command(opts: ServiceOptions, settings: Settings, *args: str) -> str:
    return " ".join([opts.python, "-m", "voxcast.cli", "--instance", settings.instance, *args])


def _service(description: str, exec_start: str, opts: ServiceOptions, user: str,
             after: str, extra: list[str]) -> str:
    lines = [
        "[Unit]",
        f"Description={description}",
        f"After=network-online.target postgresql.service {after}".rstrip(),
        "Wants=network-online.target",
        f"PartOf={TARGET}",
        "",
        "[Service]",
        "Type=simple",
        f"User={user}",
        *extra,
        f"WorkingDirectory={opts.workdir}",
        f"EnvironmentFile={opts.config_file}",
        "Environment=PYTHONUNBUFFERED=1",
        f"ExecStart={exec_start}",
        "Restart=on-failure",
        f"RestartSec={opts.restart_sec}",
        "TimeoutStopSec=30",
        "",
        "[Install]",
        f"WantedBy={TARGET}",
        "",
    ]
    return "\n".join(lines)


def units(settings: Settings, opts: ServiceOptions) -> dict[str, str]:
    """File name -> contents: voxcast.target, the Asterisk runtime's unit and one per
    Python process."""
    out = {TARGET: "\n".join([
        "[Unit]",
        "Description=voxcast (Asterisk, Stasis app, FastAGI, messaging, webhooks, web UI)",
        f"Wants={ASTERISK_UNIT}.service " + " ".join(f"{u}.service" for u, _, _ in PROCESSES),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])}
    # Asterisk starts as root (chroot, ports) and drops to its own user itself (-U asterisk).
    out[f"{ASTERISK_UNIT}.service"] = _service(
        f"voxcast Asterisk runtime ({settings.instance})",
        _command(opts, settings, "asterisk", "foreground"), opts, "root", "", [])
    extra = []
    if opts.user != "root" and settings.asterisk_root == Path("/"):
        extra.append("SupplementaryGroups=asterisk")  # the Asterisk CLI's control socket
    extra += ["NoNewPrivileges=yes", "PrivateTmp=yes"]
    for unit, cmd, description in PROCESSES:
        out[f"{unit}.service"] = _service(description, _command(opts, settings, cmd), opts,
                                          opts.user, f"{ASTERISK_UNIT}.service", extra)
    # Kamailio starts as root and drops to Debian's `kamailio` user itself (-u kamailio).
    kam = _service(f"voxcast Kamailio in front of the nodes ({settings.instance})",
                   _command(opts, settings, "kamailio", "foreground"), opts, "root", "", [])
    out[f"{KAMAILIO_UNIT}.service"] = kam.replace(f"PartOf={TARGET}\n", "").replace(
        f"WantedBy={TARGET}", "WantedBy=multi-user.target")
    return out


def install(directory: Path, contents: dict[str, str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in contents.items():
        path = directory / name
        path.write_text(text)
        path.chmod(0o644)
        written.append(path)
    return written
