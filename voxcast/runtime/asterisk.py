"""The Asterisk runtime: a Debian sid chroot (or a system Asterisk 20+), our rendered
configuration, and start / stop / health checks.

Each voxcast instance renders into its own /etc/voxcast/<instance> and /var/lib/voxcast/<instance>
inside Asterisk's filesystem and is started with `-C`, so `make test` can run beside `make run`.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from voxcast.config import PROJECT_ROOT, Settings
from voxcast.runtime import daemon
from voxcast.runtime.external import run_tool

log = logging.getLogger("voxcast.asterisk")

CONF_DIR = PROJECT_ROOT / "asterisk-conf"
DIALPLAN_DIR = PROJECT_ROOT / "dialplan"
DEBIAN_MIRROR = os.environ.get("VOXCAST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SID_PACKAGES = ["asterisk", "asterisk-modules", "asterisk-core-sounds-en-wav"]


class AsteriskError(RuntimeError):
    pass


def _run(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Provisioning steps: the operator watches their output; they take minutes, no timeout."""
    log.info("running %s", " ".join(cmd))
    return run_tool(cmd, capture=False, timeout=None, check=True, env=env)


def is_chroot(settings: Settings) -> bool:
    return settings.asterisk_root != Path("/")


def _ast_cmd(settings: Settings, *args: str) -> list[str]:
    conf = f"{settings.ast_etc}/asterisk.conf"
    base = ["asterisk", "-C", conf, *args]
    return ["chroot", str(settings.asterisk_root), *base] if is_chroot(settings) else base


# -- provisioning -----------------------------------------------------------------------

def provision(settings: Settings) -> None:
    """Make an Asterisk available (reuse what exists, otherwise build the sid chroot), with
    our prompts installed in it."""
    _provision_asterisk(settings)
    install_prompts(settings)
    if settings.webrtc:
        wss_selfsigned(settings)


def wss_selfsigned(settings: Settings, days: int = 825) -> tuple[Path, Path]:
    """The browser phones' TLS certificate for loopback (127.0.0.1, localhost), made once by
    openssl under the instance's runtime directory; production sets VOXCAST_WSS_CERT/KEY."""
    cert, key = settings.wss_selfsigned
    if cert.exists() and key.exists():
        return cert, key
    cert.parent.mkdir(parents=True, exist_ok=True)
    run_tool(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
              "-days", str(days), "-subj", "/CN=127.0.0.1",
              "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
              "-keyout", str(key), "-out", str(cert)], timeout=60, check=True)
    key.chmod(0o600)
    log.info("self-signed WSS certificate for loopback made: %s", cert)
    return cert, key


def _install_wss_cert(settings: Settings, etc: Path) -> None:
    """Copy the WSS certificate and key where Asterisk (in its chroot) reads them."""
    if not settings.webrtc:
        return
    if settings.wss_cert or settings.wss_key:
        if not (settings.wss_cert and settings.wss_key):
            raise AsteriskError("set both VOXCAST_WSS_CERT and VOXCAST_WSS_KEY")
        cert, key = Path(settings.wss_cert), Path(settings.wss_key)
    else:
        cert, key = wss_selfsigned(settings)
    keys = etc / "keys"
    keys.mkdir(exist_ok=True)
    for src, name in ((cert, "wss.crt"), (key, "wss.key")):
        dest = keys / name
        shutil.copyfile(src, dest)
        dest.chmod(0o640)


def install_prompts(settings: Settings) -> int:
    """sounds/prompts.toml rendered into Asterisk's sounds directory per language
    (voxcast.audio.prompts); only what changed is rendered again. Returns files made."""
    from voxcast.audio import prompts
    datadir = _package_dirs(settings)["astdatadir"]
    try:
        owner = _asterisk_ids(settings) if os.geteuid() == 0 else None
    except AsteriskError:
        owner = None
    try:
        return prompts.render(
            lambda lang: prompts.language_dir(settings.asterisk_root, datadir, lang), owner=owner)
    except PermissionError as exc:
        raise AsteriskError(f"cannot install the prompts into Asterisk's sounds ({exc}); run "
                            "`voxcast asterisk provision` as root once") from None


def _provision_asterisk(settings: Settings) -> None:
    if not is_chroot(settings):
        version = run_tool(["asterisk", "-V"], timeout=30).stdout
        major = int(re.search(r"(\d+)\.", version).group(1)) if re.search(r"(\d+)\.", version) else 0
        if major < 20:
            raise AsteriskError(f"system Asterisk is too old ({version.strip()}); need 20+")
        log.info("using system %s", version.strip())
        return
    root = settings.asterisk_root
    if (root / "usr/sbin/asterisk").exists():
        log.info("reusing Asterisk chroot at %s", root)
        _prepare_chroot(root)
        return
    if shutil.which("debootstrap") is None:
        _run(["apt-get", "install", "-y", "-q", "debootstrap"],
             env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    partial = root.with_name(root.name + ".partial")
    if not (partial / "usr/bin/apt-get").exists():
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        _run(["debootstrap", "--variant=minbase", "sid", str(partial), DEBIAN_MIRROR])
    _prepare_chroot(partial)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["chroot", str(partial), "apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false",
          "update"], env=env)
    _run(["chroot", str(partial), "apt-get", "install", "-y", "-q", "--no-install-recommends",
          *SID_PACKAGES], env=env)
    _align_asterisk_user(partial)
    partial.rename(root)
    log.info("Asterisk chroot ready at %s", root)


HOST_USER = "voxcast-asterisk"


def _host_ids() -> tuple[int, int]:
    """The host's system user for Asterisk (made once): a uid no other host account has, so
    the chroot's Asterisk cannot signal or trace a host process (Debian's packages in the
    chroot give it uid 101, which on Debian 12 is the host's `postgres`)."""
    import grp
    import pwd
    try:
        entry = pwd.getpwnam(HOST_USER)
    except KeyError:
        run_tool(["useradd", "--system", "--user-group", "--no-create-home",
                  "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                  "--comment", "voxcast Asterisk (chroot)", HOST_USER], check=True)
        entry = pwd.getpwnam(HOST_USER)
    return entry.pw_uid, grp.getgrgid(entry.pw_gid).gr_gid


def _chroot_in_use(root: Path) -> bool:
    """Is any process running inside this chroot (an Asterisk of another instance)?"""
    real = root.resolve()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(os.readlink(proc / "root")).resolve() == real:
                return True
        except OSError:
            continue
    return False


def _align_asterisk_user(root: Path) -> None:
    """Give the chroot's `asterisk` the host user's uid and gid, and its files with it."""
    uid, gid = _host_ids()
    old_uid = old_gid = None
    for line in (root / "etc/passwd").read_text().splitlines():
        parts = line.split(":")
        if parts[0] == "asterisk":
            old_uid, old_gid = int(parts[2]), int(parts[3])
    if old_uid is None or (old_uid, old_gid) == (uid, gid):
        return
    if _chroot_in_use(root):
        log.warning("Asterisk runs in %s with uid %s; its uid moves to %s at the next "
                    "provision with no Asterisk running", root, old_uid, uid)
        return
    log.info("moving the chroot's asterisk user from uid %s/gid %s to %s/%s (%s)",
             old_uid, old_gid, uid, gid, HOST_USER)
    run_tool(["chroot", str(root), "groupmod", "-o", "-g", str(gid), "asterisk"], check=True)
    run_tool(["chroot", str(root), "usermod", "-o", "-u", str(uid), "-g", str(gid), "asterisk"],
             check=True)
    skip = {root / d for d in ("proc", "sys", "dev")}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in [*dirnames, *filenames, None]:
            path = here if name is None else here / name
            try:
                st = path.lstat()
            except OSError:
                continue
            new_uid = uid if st.st_uid == old_uid else -1
            new_gid = gid if st.st_gid == old_gid else -1
            if new_uid != -1 or new_gid != -1:
                os.chown(path, new_uid, new_gid, follow_symlinks=False)


def _prepare_chroot(root: Path) -> None:
    """Local host name in /etc/hosts: otherwise every call waits on DNS inside the chroot.
    And Asterisk's uid: see _host_ids."""
    host = os.uname().nodename
    hosts = root / "etc/hosts"
    text = hosts.read_text() if hosts.exists() else ""
    if not re.search(rf"\s{re.escape(host)}(\s|$)", text):
        hosts.write_text(f"127.0.0.1 localhost {host}\n::1 localhost ip6-localhost\n")
    resolv = root / "etc/resolv.conf"
    if not resolv.exists() and Path("/etc/resolv.conf").exists():
        shutil.copy("/etc/resolv.conf", resolv)
    if (root / "usr/sbin/asterisk").exists():
        _align_asterisk_user(root)


# -- configuration ------------------------------------------------------------------------

def _package_dirs(settings: Settings) -> dict[str, str]:
    """Module and data directories as the installed package configured them."""
    conf = settings.host_path("/etc/asterisk/asterisk.conf")
    found = {"astmoddir": "/usr/lib/x86_64-linux-gnu/asterisk/modules",
             "astdatadir": "/usr/share/asterisk"}
    if conf.exists():
        for line in conf.read_text(errors="replace").splitlines():
            m = re.match(r"\s*(astmoddir|astdatadir)\s*=>?\s*(\S+)", line)
            if m:
                found[m.group(1)] = m.group(2)
    return found


def _asterisk_ids(settings: Settings) -> tuple[int, int]:
    passwd = settings.host_path("/etc/passwd")
    for line in passwd.read_text().splitlines():
        parts = line.split(":")
        if parts[0] == "asterisk":
            return int(parts[2]), int(parts[3])
    raise AsteriskError("no 'asterisk' user in the Asterisk filesystem")


TRUNK_AUTH = "pstn-inbound-auth"
TRUNK_AUTH_FILE = "pjsip_voxcast_trunk_auth.conf"
_CONF_VALUE = re.compile(r"^[A-Za-z0-9.:/_-]{1,253}$")  # an address, network or host name
_SECRET = re.compile(r"^[\x21-\x7e]{1,128}$")


def _conf_value(value: str, source: str) -> str:
    """A value from the environment that goes into a config line as it is."""
    if not _CONF_VALUE.match(value):
        raise AsteriskError(f"{source}: {value!r} is not an address or host name")
    return value


def _trunk_credentials(settings: Settings) -> tuple[str, str] | None:
    """(user, password) the carrier must authenticate with, or None when not configured."""
    user, password = settings.trunk_inbound_user, settings.trunk_password()
    if not user and not password:
        return None
    if not user or not password:
        raise AsteriskError("set both VOXCAST_TRUNK_INBOUND_USER and its password "
                            f"(VOXCAST_TRUNK_INBOUND_PASSWORD or {settings.trunk_password_file})")
    if not _CONF_VALUE.match(user) or not _SECRET.match(password) or ";" in password:
        raise AsteriskError("the trunk's inbound user or password has characters pjsip.conf "
                            "cannot hold (spaces, ';')")
    return user, password


def _write_trunk_auth(settings: Settings, etc: Path) -> None:
    """The trunk's inbound auth object, only when configured (the file holds the secret, so
    it is rendered from the environment or the runtime dir, never shipped)."""
    path = etc / TRUNK_AUTH_FILE
    creds = _trunk_credentials(settings)
    if creds is None:
        path.unlink(missing_ok=True)
        return
    path.write_text(f"[{TRUNK_AUTH}]\ntype = auth\nauth_type = userpass\n"
                    f"username = {creds[0]}\npassword = {creds[1]}\n")
    path.chmod(0o640)


def render(settings: Settings) -> Path:
    """Write our configuration into the instance's directories; returns the etc dir."""
    dirs = _package_dirs(settings)
    values = {
        "INSTANCE": settings.instance,
        # channel uniqueids start with it: the node's name (VOXCAST_NODE), else the instance
        "SYSTEM_NAME": _conf_value(getattr(settings, "node", "") or settings.instance,
                                   "VOXCAST_NODE"),
        "AST_ETC": settings.ast_etc,
        "AST_VAR": settings.ast_var,
        "AST_MODDIR": dirs["astmoddir"],
        "AST_DATADIR": dirs["astdatadir"],
        "ARI_PORT": str(settings.ari_port),
        "ARI_USER": settings.ari_user,
        "ARI_PASSWORD": settings.ari_password(),
        "SIP_PORT": str(settings.sip_port),
        "AGI_PORT": str(settings.agi_port),
        "RTP_START": str(settings.rtp_start),
        "RTP_END": str(settings.rtp_end),
        "TRUNK_HOST": _conf_value(settings.trunk_host, "VOXCAST_TRUNK_HOST"),
        "TRUNK_MATCH": ",".join(_conf_value(a, "VOXCAST_TRUNK_ALLOW")
                                for a in settings.trunk_addresses),
        "TRUNK_AUTH": TRUNK_AUTH if _trunk_credentials(settings) else "",
        "TRUNK_PORT": str(settings.trunk_port),
        "APP": settings.ari_app_name,
        "WSS_TLS": "yes" if settings.webrtc else "no",
        "WSS_BIND": _conf_value(settings.wss_bind, "VOXCAST_WSS_BIND"),
        "WSS_PORT": str(settings.wss_port),
        "RTP_ICE": "yes" if settings.webrtc else "no",
    }
    etc = settings.host_path(settings.ast_etc)
    var = settings.host_path(settings.ast_var)
    for d in (etc, var, var / "sounds", var / "recordings", var / "spool",
              var / "spool" / "recording", var / "run", var / "log"):  # ARI records to spool/recording
        d.mkdir(parents=True, exist_ok=True)
    sources = sorted(CONF_DIR.glob("*.conf")) + sorted(DIALPLAN_DIR.glob("*.conf"))
    for src in sources:
        text = src.read_text()
        for key, value in values.items():
            text = text.replace(f"@@{key}@@", value)
        dest = etc / src.name
        dest.write_text(text)
        dest.chmod(0o640)
    _write_trunk_auth(settings, etc)
    _install_wss_cert(settings, etc)
    from voxcast.audio import hold_music
    hold_music.write(var / "moh" / "default")  # queue callers' music on hold
    from voxcast.runtime import pjsip_sync
    from voxcast.runtime import sip_guard  # allocated extensions and bans, so a (re)start has them
    pjsip_sync.sync(settings, reload=False)
    sip_guard.write(settings)
    uid, gid = _asterisk_ids(settings)
    for d in (etc, var):
        for path in [d, *d.rglob("*")]:
            os.chown(path, uid, gid)
    return etc


# -- process control -------------------------------------------------------------------------

def _pid_file(settings: Settings) -> Path:
    return settings.state_dir / "asterisk.pid"


def pid(settings: Settings) -> int | None:
    """The pid of the instance's Asterisk as we started it, if any."""
    path = _pid_file(settings)
    return int(path.read_text()) if path.exists() else None


def ari_info(settings: Settings, timeout: float = 2.0) -> dict | None:
    """ARI's /asterisk/info, or None when Asterisk does not answer."""
    req = urllib.request.Request(f"{settings.ari_url}/asterisk/info")
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password()}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def start(settings: Settings, timeout: float = 60.0) -> None:
    if ari_info(settings):
        log.info("Asterisk (%s) already running", settings.instance)
        return
    render(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    out = settings.state_dir / "asterisk.out"
    proc = daemon.spawn(_ast_cmd(settings, "-f", "-U", "asterisk", "-G", "asterisk"), out)
    _pid_file(settings).write_text(str(proc.pid))
    if daemon.wait_ready(proc, lambda: bool(ari_info(settings, timeout=1.0)), timeout, 0.3,
                         lambda code: AsteriskError(f"Asterisk exited with {code}; see {out}")):
        log.info("Asterisk (%s) is up, ARI on port %s", settings.instance, settings.ari_port)
        return
    raise AsteriskError(f"Asterisk did not answer on ARI within {timeout:.0f}s")


def foreground(settings: Settings) -> None:
    """Render the configuration, then become the instance's Asterisk in the foreground (no
    fork: the systemd unit's main process; SIGTERM stops it)."""
    render(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    _pid_file(settings).write_text(str(os.getpid()))  # exec keeps the pid
    cmd = _ast_cmd(settings, "-f", "-U", "asterisk", "-G", "asterisk")
    os.execvp(cmd[0], cmd)


def stop(settings: Settings, timeout: float = 20.0) -> None:
    running = pid(settings)
    run_tool(_ast_cmd(settings, "-rx", "core stop now"), timeout=15)
    if running and not daemon.wait_gone(running, timeout, 0.2):
        os.kill(running, signal.SIGKILL)
    _pid_file(settings).unlink(missing_ok=True)


def cli(settings: Settings, command: str) -> str:
    res = run_tool(_ast_cmd(settings, "-rx", command), timeout=30)
    return res.stdout + res.stderr
