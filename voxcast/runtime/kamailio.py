"""Kamailio in front of the Asterisk nodes: our kamailio.cfg rendered per instance, its
dispatcher list (the nodes), and start / stop / status of Debian's `kamailio`.

Everything lives in `.runtime/<instance>/kamailio/`: kamailio.cfg, dispatcher.list, the pid
file, the control socket (`kamcmd`) and kamailio.log. The nodes come from VOXCAST_NODES
(`name=host:port` or `host:port`, comma or space separated), else this instance's own
Asterisk; `render(settings, nodes=...)` takes another list (e.g. from the node table).
Settings (environment or the configuration file): VOXCAST_KAMAILIO_LISTEN (127.0.0.1),
VOXCAST_KAMAILIO_PORT (5080 for `run`, 15080 + VOXCAST_PORT_OFFSET otherwise),
VOXCAST_KAMAILIO_PING_S (OPTIONS pings to every node, 2 s), VOXCAST_KAMAILIO_TIMEOUT_MS
(how long a node may leave an INVITE unanswered before the next is tried, 2000 ms).

Tenants' homes: on the voxcast PostgreSQL, Kamailio looks up (sqlops, db_postgres) the tenant
of a phone's user name and of a called DID, caches each answer for a minute (htable), and
hashes by the tenant, so a tenant's phones and its DIDs' calls land on one node. SQLite (one
node) or VOXCAST_KAMAILIO_HOMES=0 keeps the per-user hash and the PSTN round robin.
VOXCAST_KAMAILIO_DATABASE_URL names another (read-only) role for these look-ups.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from voxcast.config import PROJECT_ROOT, Settings
from voxcast.runtime import daemon
from voxcast.runtime.external import ToolError, run_tool

log = logging.getLogger("voxcast.kamailio")

TEMPLATE = PROJECT_ROOT / "kamailio" / "kamailio.cfg"
MODULES_DIRS = ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules")
SET_ID = 1  # the nodes' dispatcher set
HOMES_CACHE_S = 60  # a user's or DID's tenant is asked of the database at most this often
# phones may register for at most this long: they follow their tenant to a new home soon
REGISTER_EXPIRES_MAX = 60
_LOOKUP_KEY = "^[A-Za-z0-9_.+-]{1,64}$"  # what a looked-up user or number may be (no quotes)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HOST = re.compile(r"^[A-Za-z0-9.:_-]{1,253}$")


class KamailioError(RuntimeError):
    pass


@dataclass(frozen=True)
class Node:
    """One Asterisk node as Kamailio reaches it: its SIP address."""
    name: str
    host: str
    port: int

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{host}:{self.port}"


@dataclass(frozen=True)
class KamailioSettings:
    listen: str
    port: int
    ping_interval_s: int
    invite_timeout_ms: int
    register_max_s: int = 3600
    # the voxcast PostgreSQL, as Kamailio's db_postgres takes it: tenants' homes on; "": off
    homes_db_url: str = ""
    homes_cache_s: int = HOMES_CACHE_S
    register_expires_max: int = REGISTER_EXPIRES_MAX
    children: int = 2
    debug: int = 1


def kamailio_settings(settings: Settings, environ=os.environ) -> KamailioSettings:
    live = settings.instance == "run"
    offset = 0 if live else int(environ.get("VOXCAST_PORT_OFFSET", 0))
    listen = environ.get("VOXCAST_KAMAILIO_LISTEN", "127.0.0.1").strip()
    _check_address(listen, "VOXCAST_KAMAILIO_LISTEN")
    return KamailioSettings(
        listen=listen,
        port=int(environ.get("VOXCAST_KAMAILIO_PORT", 5080 if live else 15080 + offset)),
        ping_interval_s=max(1, int(environ.get("VOXCAST_KAMAILIO_PING_S", 2))),
        invite_timeout_ms=max(500, int(environ.get("VOXCAST_KAMAILIO_TIMEOUT_MS", 2000))),
        debug=int(environ.get("VOXCAST_KAMAILIO_DEBUG", 1)),
        homes_db_url=homes_db_url(settings, environ))


def homes_db_url(settings: Settings, environ=os.environ) -> str:
    """The database URL for Kamailio's look-ups (postgres://user:password@host:port/db), or ""
    when tenants have no home: SQLite (a single node), or VOXCAST_KAMAILIO_HOMES=0."""
    if environ.get("VOXCAST_KAMAILIO_HOMES", "1").strip() == "0":
        return ""
    url = (environ.get("VOXCAST_KAMAILIO_DATABASE_URL", "").strip()
           or getattr(settings, "database_url", "") or "")
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.split("+")[0] in ("postgres", "postgresql"):
        return ""
    rest = rest.split("?", 1)[0]  # libpq options: db_postgres takes none
    netloc, _, database = rest.partition("/")
    creds, at, host = netloc.rpartition("@")
    user, _, password = creds.partition(":")
    if not (at and user and not set(user) & set("@/:") and not set(password) & set("@/")
            and not any(ch.isspace() for ch in creds)
            and re.fullmatch(r"[A-Za-z0-9.:\[\]_-]+", host)
            and re.fullmatch(r"[A-Za-z0-9_.-]+", database)):
        raise KamailioError("the database URL is not user:password@host:port/database in "
                            "characters Kamailio takes (no @ : / in the password)")
    return f"postgres://{rest}"


def _check_address(value: str, source: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise KamailioError(f"{source}: {value!r} is not an IP address") from None
    return value


def parse_nodes(text: str, default_port: int = 5060) -> list[Node]:
    """`name=host:port` or `host:port` (or `host`), comma or space separated."""
    nodes = []
    for n, item in enumerate(text.replace(",", " ").split(), 1):
        name, sep, addr = item.rpartition("=")
        name = name if sep else f"node{n}"
        host, port = addr, default_port
        m = re.match(r"^\[(.+)\](?::(\d+))?$", addr) or re.match(r"^([^:]+)(?::(\d+))?$", addr)
        if m:
            host, port = m.group(1), int(m.group(2) or default_port)
        if not _NAME.match(name) or not _HOST.match(host) or not 0 < port < 65536:
            raise KamailioError(f"VOXCAST_NODES: {item!r} is not name=host:port")
        nodes.append(Node(name, host, port))
    if len({node.uri for node in nodes}) != len(nodes):
        raise KamailioError("VOXCAST_NODES: a node is listed twice")
    return nodes


def configured_nodes(settings: Settings, environ=os.environ) -> list[Node]:
    """VOXCAST_NODES, else this instance's own Asterisk as the only node."""
    text = environ.get("VOXCAST_NODES", "").strip()
    if text:
        return parse_nodes(text)
    return [Node(getattr(settings, "node", "") or settings.instance, "127.0.0.1", settings.sip_port)]


def state_dir(settings: Settings) -> Path:
    return settings.state_dir / "kamailio"


def pid_file(settings: Settings) -> Path:
    return state_dir(settings) / "kamailio.pid"


def log_file(settings: Settings) -> Path:
    return state_dir(settings) / "kamailio.log"


def ctl_socket(settings: Settings) -> Path:
    return state_dir(settings) / "kamailio.ctl"


def modules_dir() -> str:
    for d in MODULES_DIRS:
        if Path(d, "dispatcher.so").exists():
            return d
    raise KamailioError("Kamailio is not installed (Debian's `kamailio` package: make deps)")


def dispatcher_list(nodes: list[Node]) -> str:
    """dispatcher.list: `setid destination flags priority attributes`, one node a line."""
    lines = ["# Generated by voxcast.runtime.kamailio: the Asterisk nodes. Do not edit."]
    for node in nodes:
        lines.append(f"{SET_ID} {node.uri} 0 0 duid={node.name};node={node.name}")
    return "\n".join(lines) + "\n"


def carrier_match(addresses) -> str:
    """The FROM_CARRIER route's body: the carriers' addresses or networks (host names
    cannot be compared with the source address and are left out, with a warning)."""
    out = []
    for entry in addresses:
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            log.warning("carrier %r is not an address or network: Kamailio cannot match it", entry)
            continue
        out.append(f"\tif (src_ip=={net.network_address}/{net.prefixlen}) {{ return 1; }}")
    return "\n".join(out)


def homes_modules(kam: KamailioSettings) -> str:
    """The modules and parameters of the tenants' homes: the database connection and the
    cache (each key's answer kept HOMES_CACHE_S, an unknown one as "")."""
    if not kam.homes_db_url:
        return "# tenants' homes off (no PostgreSQL): phones hash by user, PSTN round-robin"
    return "\n".join((
        'loadmodule "db_postgres.so"',
        'loadmodule "sqlops.so"',
        f'modparam("sqlops", "sqlcon", "voxcast=>{kam.homes_db_url}")',
        # start (and keep routing by the old hash) while the database is unreachable
        'modparam("sqlops", "connect_mode", 1)',
        f'modparam("htable", "htable", "homes=>size=12;autoexpire={kam.homes_cache_s};")'))


def _lookup(kind: str, sql: str) -> str:
    """A HOME_OF route's body: $var(key) looked up once per cache period (an answer, even
    "none", is kept; a failed query is not, and falls back to the old hash)."""
    return "\n".join((
        f'\tif (!($var(key) =~ "{_LOOKUP_KEY}")) {{',
        "\t\treturn;",
        "\t}",
        f"\tif ($sht(homes=>{kind}:$var(key)) != $null) {{",
        f"\t\t$var(home) = $sht(homes=>{kind}:$var(key));",
        "\t\treturn;",
        "\t}",
        # a function's value in an expression is only true or false: its code is $rc
        f'\tsql_query("voxcast", "{sql}", "home");',
        "\t$var(rc) = $rc;",
        "\tif ($var(rc) < 0) {",
        '\t\txlog("L_WARN", "tenant look-up of $var(key) failed: hashed as before\\n");',
        "\t\treturn;",
        "\t}",
        '\tif ($dbr(home=>rows) > 0 && $dbr(home=>[0,0]) != $null) {',
        '\t\t$var(home) = "t" + $dbr(home=>[0,0]);',
        "\t}",
        '\tsql_result_free("home");',
        f"\t$sht(homes=>{kind}:$var(key)) = $var(home);"))


def home_of_user(kam: KamailioSettings) -> str:
    """The tenant of a phone's user name: its extension's (models.Extension)."""
    if not kam.homes_db_url:
        return "\treturn;"
    from models.entities import Extension
    table, tenant, number = (Extension._meta.table_name, Extension.tenant.column_name,
                             Extension.number.column_name)
    return _lookup("u", f"SELECT {tenant} FROM {table} WHERE {number} = '$var(key)' "
                        f"AND {tenant} IS NOT NULL")


def home_of_did(kam: KamailioSettings) -> str:
    """The tenant of a called number: the DID's (models.Did), with or without its '+' as
    the node's find_did takes it."""
    if not kam.homes_db_url:
        return "\treturn;"
    from models.entities import Did
    table, tenant, number = Did._meta.table_name, Did.tenant.column_name, Did.number.column_name
    strip = "\n".join((
        '\tif ($(var(key){s.substr,0,1}) == "+") {',
        "\t\t$var(key) = $(var(key){s.substr,1,0});",
        "\t}"))
    return strip + "\n" + _lookup(
        "d", f"SELECT {tenant} FROM {table} WHERE {number} IN ('$var(key)', '+$var(key)') "
             f"AND {tenant} IS NOT NULL LIMIT 1")


def render_text(settings: Settings, nodes: list[Node], kam: KamailioSettings,
                modules: str) -> str:
    values = {
        "LISTEN": kam.listen,
        "PORT": str(kam.port),
        "DEBUG": str(kam.debug),
        "CHILDREN": str(kam.children),
        "MODULES_DIR": modules,
        "CTL_SOCKET": str(ctl_socket(settings)),
        "DISPATCHER_LIST": str(state_dir(settings) / "dispatcher.list"),
        "PING_INTERVAL": str(kam.ping_interval_s),
        "INVITE_TIMEOUT_MS": str(kam.invite_timeout_ms),
        "REGISTER_MAX_S": str(kam.register_max_s),
        "CARRIER_MATCH": carrier_match(settings.trunk_addresses),
        "HOMES_MODULES": homes_modules(kam),
        "HOME_OF_USER": home_of_user(kam),
        "HOME_OF_DID": home_of_did(kam),
        "REGISTER_EXPIRES_MAX": str(kam.register_expires_max),
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    left = re.findall(r"@@[A-Z_]+@@", text)
    if left:
        raise KamailioError(f"kamailio.cfg: placeholders left: {sorted(set(left))}")
    return text


def render(settings: Settings, nodes: list[Node] | None = None) -> Path:
    """Write kamailio.cfg and dispatcher.list for this instance; returns the cfg's path."""
    nodes = configured_nodes(settings) if nodes is None else nodes
    if not nodes:
        raise KamailioError("no node to dispatch to")
    kam = kamailio_settings(settings)
    d = state_dir(settings)
    d.mkdir(parents=True, exist_ok=True)
    (d / "dispatcher.list").write_text(dispatcher_list(nodes))
    cfg = d / "kamailio.cfg"
    cfg.touch(mode=0o600)
    cfg.chmod(0o600)  # it may hold the database password
    cfg.write_text(render_text(settings, nodes, kam, modules_dir()))
    return cfg


def check(cfg: Path) -> None:
    """`kamailio -c`: the rendered configuration parses."""
    res = run_tool(["kamailio", "-c", "-f", cfg], timeout=30)
    if res.returncode != 0:
        raise KamailioError(f"kamailio -c refused {cfg}:\n{(res.stdout + res.stderr)[-2000:]}")


def pid(settings: Settings) -> int | None:
    """The pid of the instance's Kamailio (its main process) when it runs."""
    path = pid_file(settings)
    try:
        value = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(value, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return value
    return value


def rpc(settings: Settings, *command: str, timeout: float = 5.0) -> str:
    """A Kamailio RPC command through its control socket (kamcmd)."""
    if shutil.which("kamcmd") is None:
        raise KamailioError("kamcmd is not installed (Debian's `kamailio` package)")
    try:
        res = run_tool(["kamcmd", "-s", f"unixs:{ctl_socket(settings)}", *command],
                       timeout=timeout)
    except ToolError as exc:
        raise KamailioError(str(exc)) from None
    if res.returncode != 0:
        raise KamailioError(f"kamcmd {' '.join(command)}: {(res.stdout + res.stderr).strip()}")
    return res.stdout


_DST = re.compile(r"URI:\s*(\S+)\s+FLAGS:\s*(\S+)")


def node_states(settings: Settings) -> dict[str, str]:
    """Each node's URI and dispatcher flags, as Kamailio sees them: "AP" active (probed),
    "IP" inactive (down), "TP" being probed after a failure, "DX" disabled."""
    return dict(_DST.findall(rpc(settings, "dispatcher.list")))


def up(flags: str) -> bool:
    return flags.startswith("A")


RUN_AS = "kamailio"  # Debian's package's system user


def _run_as(settings: Settings) -> list[str]:
    """As root, Kamailio drops to Debian's `kamailio` user (its directory handed to it)."""
    if os.geteuid() != 0:
        return []
    try:
        import pwd
        entry = pwd.getpwnam(RUN_AS)
    except KeyError:
        return []
    d = state_dir(settings)
    for path in (d, *d.iterdir()):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return ["-u", RUN_AS, "-g", RUN_AS]


def command(settings: Settings, cfg: Path) -> list[str]:
    """-DD: the main process stays in the foreground (its children are forked); -E: logs to
    stderr; -Y: runtime files under our directory, not /run/kamailio."""
    return ["kamailio", "-f", str(cfg), "-P", str(pid_file(settings)),
            "-Y", str(state_dir(settings)), "-DD", "-E", "-m", "32", "-M", "8",
            *_run_as(settings)]


def foreground(settings: Settings, nodes: list[Node] | None = None) -> None:
    """Render, then become the instance's Kamailio in the foreground (the systemd unit's
    main process; SIGTERM stops it)."""
    cfg = render(settings, nodes)
    check(cfg)
    pid_file(settings).unlink(missing_ok=True)
    cmd = command(settings, cfg)
    os.execvp(cmd[0], cmd)


def start(settings: Settings, nodes: list[Node] | None = None, timeout: float = 15.0) -> int:
    """Render and start the instance's Kamailio (already running: reload the node list);
    returns its pid once its control socket answers."""
    running = pid(settings)
    if running:
        render(settings, nodes)
        rpc(settings, "dispatcher.reload")
        log.info("Kamailio (%s) already running (pid %s): node list reloaded",
                 settings.instance, running)
        return running
    cfg = render(settings, nodes)
    check(cfg)
    ctl_socket(settings).unlink(missing_ok=True)
    pid_file(settings).unlink(missing_ok=True)  # a stale one: Kamailio refuses to start
    kam = kamailio_settings(settings)
    proc = daemon.spawn(command(settings, cfg), log_file(settings))
    if daemon.wait_ready(proc, lambda: _answers(settings), timeout, 0.2,
                         lambda code: KamailioError(f"Kamailio exited with {code}; "
                                                    f"see {log_file(settings)}")):
        log.info("Kamailio (%s) is up on udp:%s:%s, pid %s", settings.instance,
                 kam.listen, kam.port, proc.pid)
        return proc.pid
    proc.kill()
    raise KamailioError(f"Kamailio did not answer on its control socket within {timeout:.0f}s")


def stop(settings: Settings, timeout: float = 10.0) -> bool:
    """SIGTERM to its main process (its children follow), SIGKILL after `timeout`.
    Returns whether one was running."""
    running = pid(settings)
    if running is None:
        pid_file(settings).unlink(missing_ok=True)
        return False
    os.kill(running, signal.SIGTERM)
    if not daemon.wait_gone(running, timeout, 0.1):
        os.killpg(running, signal.SIGKILL)
    pid_file(settings).unlink(missing_ok=True)
    return True


def _answers(settings: Settings) -> bool:
    """Whether its control socket is there and answers an RPC (it is up)."""
    if not ctl_socket(settings).exists():
        return False
    try:
        rpc(settings, "core.version", timeout=2)
    except KamailioError:
        return False
    return True


def status(settings: Settings) -> tuple[int | None, dict[str, str]]:
    """(pid or None, node URI -> dispatcher flags)."""
    running = pid(settings)
    if running is None:
        return None, {}
    try:
        return running, node_states(settings)
    except KamailioError as exc:
        log.warning("Kamailio runs but does not answer: %s", exc)
        return running, {}
