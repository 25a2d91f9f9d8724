"""`voxcast` command line: run / stop / status the whole system, initdb, and the Asterisk runtime."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from voxcast import config
from voxcast.runtime import asterisk, supervisor

log = logging.getLogger("voxcast")


def _setup_logging(verbose: bool = False, fmt: str = "text", service: str = "") -> None:
    from voxcast import logs
    logs.setup(verbose, fmt, service)


def cmd_initdb(settings: config.Settings, args) -> int:
    from models import bootstrap, init_database
    init_database(settings.db_url)
    created = bootstrap()
    if created:
        print("Created accounts (shown once, keep them safe):")
        for user, password in created.items():
            print(f"  {user:8s} password: {password}")
    else:
        print("Database already initialised; no account created.")
    return 0


def cmd_asterisk(settings: config.Settings, args) -> int:
    action = args.action
    if action == "provision":
        asterisk.provision(settings)
        asterisk.render(settings)
        print(f"Asterisk runtime ready ({settings.asterisk_root})")
    elif action == "render":
        print(f"rendered into {asterisk.render(settings)}")
    elif action == "start":
        asterisk.provision(settings)
        asterisk.start(settings)
        print(f"Asterisk up: ARI on 127.0.0.1:{settings.ari_port}, SIP on 127.0.0.1:{settings.sip_port}")
    elif action == "foreground":  # the systemd unit's: never returns
        asterisk.provision(settings)
        asterisk.foreground(settings)
    elif action == "stop":
        asterisk.stop(settings)
        print("Asterisk stopped")
    elif action == "cli":
        print(asterisk.cli(settings, " ".join(args.command)), end="")
    return 0


def _registered_nodes(settings: config.Settings, kamailio) -> list | None:
    """Without VOXCAST_NODES: the nodes that joined the cluster (their heartbeats carry their
    SIP address), or None (this instance's own Asterisk) when none has."""
    if os.environ.get("VOXCAST_NODES", "").strip():
        return None
    from models import init_database
    from voxcast.cluster import nodes as registry
    try:
        init_database(settings.db_url)
        found = registry.sip_addresses()
    except Exception as exc:  # no database yet: the instance's own Asterisk
        print(f"node registry not read ({exc}); using this instance's Asterisk", file=sys.stderr)
        return None
    return kamailio.parse_nodes(" ".join(f"{n}={a}" for n, a in found)) if found else None


def cmd_kamailio(settings: config.Settings, args) -> int:
    """Kamailio in front of the nodes (VOXCAST_NODES): render, start, stop, status."""
    from voxcast.runtime import kamailio
    try:
        if args.action == "render":
            print(f"rendered {kamailio.render(settings)}")
        elif args.action == "start":
            nodes = _registered_nodes(settings, kamailio)
            kamailio.start(settings, nodes=nodes)
            kam = kamailio.kamailio_settings(settings)
            print(f"Kamailio up on udp:{kam.listen}:{kam.port}; nodes: "
                  + ", ".join(f"{n.name} {n.uri}"
                              for n in nodes or kamailio.configured_nodes(settings))
                  + f"; log {kamailio.log_file(settings)}")
        elif args.action == "foreground":  # the systemd unit's: never returns
            kamailio.foreground(settings)
        elif args.action == "stop":
            print("Kamailio stopped" if kamailio.stop(settings) else "Kamailio was not running")
        else:
            pid, nodes = kamailio.status(settings)
            if pid is None:
                print(f"kamailio ({settings.instance}): not running")
                return 1
            print(f"kamailio ({settings.instance}): running, pid {pid}")
            for uri, flags in sorted(nodes.items()):
                print(f"  {uri}: {'up' if kamailio.up(flags) else 'down'} ({flags})")
    except kamailio.KamailioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_ari_app(settings: config.Settings, args) -> int:
    from ari_app.main import run
    run(settings)
    return 0


def cmd_agi(settings: config.Settings, args) -> int:
    from agi.main import run
    run(settings)
    return 0


def cmd_messaging(settings: config.Settings, args) -> int:
    from messaging_app.main import run
    run(settings)
    return 0


def cmd_webhooks(settings: config.Settings, args) -> int:
    from webhooks_app.main import run
    run(settings)
    return 0


def cmd_web(settings: config.Settings, args) -> int:
    from webui.serve import serve
    serve(settings, workers=args.workers, worker=args.worker)
    return 0


def _pidfile(settings: config.Settings) -> Path:
    return settings.state_dir / "voxcast.pid"


# `voxcast run`'s children, each `voxcast <name>`: the Stasis app, the FastAGI server the
# phones' dialplan asks, SMS (SMPP) and e-mail (SMTP) campaigns, signed webhook events (the
# outbox's sender), the web UI.
CHILDREN = ("ari-app", "agi", "messaging", "webhooks", "web")


def cmd_run(settings: config.Settings, args) -> int:
    """Asterisk, the Stasis app, the FastAGI server, the messaging service, the webhook
    sender and the web UI, until Ctrl-C or `voxcast stop`."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    cmd_initdb(settings, args)  # schema up to date before the config rendered from it
    asterisk.provision(settings)
    asterisk.start(settings)
    _pidfile(settings).write_text(str(os.getpid()))
    exe = [sys.executable, "-m", "voxcast.cli", "--instance", settings.instance]
    policy = {key: float(os.environ[f"VOXCAST_RESTART_{key.upper()}"])  # else the policy's
              for key in ("base_s", "cap_s", "stable_s")
              if os.environ.get(f"VOXCAST_RESTART_{key.upper()}")}
    sup = supervisor.Supervisor([
        supervisor.Child(name, [*exe, name], supervisor.RestartPolicy(**policy))
        for name in CHILDREN])
    sup.start(time.monotonic())
    print(f"voxcast is running: web UI http://127.0.0.1:{settings.web_port}/ , "
          f"SIP trunk 127.0.0.1:{settings.sip_port} -> PSTN at {settings.trunk_host}:{settings.trunk_port}. "
          f"Ctrl-C or `voxcast stop` to stop.", flush=True)
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping:  # a child that exits is started again, with backoff
            sup.check(time.monotonic())
            time.sleep(0.5)
    finally:
        sup.stop()
        if not args.keep_asterisk:
            asterisk.stop(settings)
        _pidfile(settings).unlink(missing_ok=True)
    return 0


def cmd_install_service(settings: config.Settings, args) -> int:
    """Write the systemd units (never enables or starts them)."""
    from voxcast.runtime import service
    opts = service.ServiceOptions(user=args.user or service.default_user(settings),
                                  config_file=config.config_file(os.environ, args.config)[0])
    written = service.install(Path(args.dir), service.units(settings, opts))
    for path in written:
        print(f"wrote {path}")
    print(f"Processes run as {opts.user}; settings from {opts.config_file} (KEY=value lines).")
    print("Next, as root: systemctl daemon-reload && systemctl enable --now voxcast.target")
    return 0


def cmd_stop(settings: config.Settings, args) -> int:
    pidfile = _pidfile(settings)
    if pidfile.exists():
        pid = int(pidfile.read_text())
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.2)
        except ProcessLookupError:
            pass
        print("voxcast stopped")
    else:
        asterisk.stop(settings)
        print("voxcast was not running; Asterisk stopped")
    return 0


def cmd_nodes(settings: config.Settings, args) -> int:
    """The cluster's nodes as their heartbeats show them (several nodes on one PostgreSQL)."""
    from models import init_database
    from voxcast.cluster import nodes

    init_database(settings.db_url)
    rows = nodes.listing(stale_s=settings.node_stale_s)
    if not rows:
        print("no node has joined (VOXCAST_NODE unset: a single-node installation)")
        return 0
    for n in rows:
        taken = f", taken over by {n['taken_over_by']}" if n["taken_over_by"] else ""
        print(f"{n['name']:<16} {n['state']:<12} {n['sip_address'] or '-':<22} "
              f"last seen {n['seconds_silent']:.0f} s ago, "
              f"started {n['started_at']:%Y-%m-%d %H:%M:%S} UTC{taken}")
    return 0


def cmd_status(settings: config.Settings, args) -> int:
    info = asterisk.ari_info(settings)
    pidfile = _pidfile(settings)
    running = False
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), 0)
            running = True
        except (ProcessLookupError, ValueError):
            pass
    print(f"voxcast ({settings.instance}): {'running' if running else 'not running'}")
    print(f"asterisk: {'up, ' + info['system']['version'] if info else 'down'}")
    print(f"web UI: http://127.0.0.1:{settings.web_port}/")
    print(f"FastAGI: {'listening' if _listening(settings.agi_port) else 'down'} "
          f"(127.0.0.1:{settings.agi_port})")
    try:
        from models import SystemStatus, init_database
        init_database(settings.db_url)
        row = SystemStatus.get_or_none(SystemStatus.key == "ari")
        print(f"stasis app: {row.value + ' (as of ' + str(row.updated_at) + ' UTC)' if row else 'never started'}")
        row = SystemStatus.get_or_none(SystemStatus.key == "messaging")
        print(f"messaging: {row.value if row else 'never started'}")
        row = SystemStatus.get_or_none(SystemStatus.key == "webhooks")
        print(f"webhooks: {row.value if row else 'never started'}")
    except Exception as exc:  # no database yet
        print(f"stasis app: unknown ({exc})")
    return 0 if (running and info) else 1


def _listening(port: int) -> bool:
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def cmd_did(settings: config.Settings, args) -> int:
    """Put a DID in the pool and assign it to a tenant (the admin UI does the same)."""
    from models import Did, Tenant, init_database
    init_database(settings.db_url)
    tenant = Tenant.get_or_none(Tenant.slug == args.tenant)
    if tenant is None:
        print(f"no tenant '{args.tenant}'", file=sys.stderr)
        return 2
    from voxcast.numbers import pool as pool_service
    did, _ = Did.get_or_create(number=args.number)
    greeting = args.greeting or (did.greeting_text if did.tenant_id == tenant.id else "")
    pool_service.assign_did(did.id, tenant.id, greeting)  # resets it if it changes hands
    print(f"DID {did.number} -> tenant {tenant.slug}")
    return 0


def cmd_reports(settings: config.Settings, args) -> int:
    """`reports rebuild`: recompute the report rollups and campaign counters from the raw
    tables (after a restore or a bulk load); `reports check`: compare them with a recount."""
    from models import init_database
    from models.migrations import require_current
    from voxcast.reports import rollups
    init_database(settings.db_url)
    require_current()
    if args.action == "rebuild":
        done = rollups.rebuild()
        rows = ", ".join(f"{table} {n}" for table, n in done.rows.items())
        print(f"rollups rebuilt in {done.seconds:.2f} s ({rows})")
        return 0
    diff = rollups.differences()
    for table, (extra, missing) in diff.items():
        print(f"{table}: {len(extra)} rows differ from a recount, {len(missing)} missing")
    print("rollups match a recount" if not diff else "run `voxcast reports rebuild`")
    return 1 if diff else 0


def cmd_subscriptions(settings: config.Settings, args) -> int:
    """`subscriptions sweep`: suspend unpaid subscriptions past their grace days, terminate
    those suspended for non-payment past their termination days (cron; the Stasis app runs
    it hourly too)."""
    from models import init_database
    from models.migrations import require_current
    from voxcast.numbers import pool as pool_service
    from voxcast.packages import subscriptions
    init_database(settings.db_url)
    require_current()
    done = subscriptions.sweep(sounds_dir=settings.sounds_dir)
    def ids(found):
        return ", ".join(map(str, found)) or "none"
    print(f"suspended (unpaid): {ids(done.suspended)}; terminated: {ids(done.terminated)}; "
          f"idempotency keys purged: {done.keys_purged}")
    for tenant_id, why in done.failed.items():
        print(f"tenant {tenant_id}: {why}", file=sys.stderr)
    if done.terminated:  # their extensions went back to the pool with fresh secrets
        error = pool_service.sync_pjsip(settings)
        if error:
            print(f"PJSIP not re-synced: {error}", file=sys.stderr)
    return 1 if done.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxcast")
    parser.add_argument("--instance", default=None, help="'run' (default) or 'test'")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--config", default=None, help="the configuration file (KEY=value "
                        f"lines; default $VOXCAST_CONFIG or {config.CONFIG_FILE}); the "
                        "environment wins over it")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="start Asterisk, the Stasis app and the web UI")
    p.add_argument("--keep-asterisk", action="store_true", help="leave Asterisk up on exit")
    p.set_defaults(func=cmd_run)
    sub.add_parser("stop", help="stop a running `voxcast run`").set_defaults(func=cmd_stop)
    p = sub.add_parser("install-service", help="write systemd units, one per process "
                       "(not enabled or started)")
    p.add_argument("--dir", default="/etc/systemd/system", help="where to write them")
    p.add_argument("--user", default=None, help="who the processes run as (default voxcast "
                   "with a system Asterisk, root with the chroot runtime)")
    p.set_defaults(func=cmd_install_service)
    sub.add_parser("status", help="what is up").set_defaults(func=cmd_status)
    sub.add_parser("initdb", help="create tables, the admin and the master tenant").set_defaults(func=cmd_initdb)
    p = sub.add_parser("asterisk", help="the Asterisk runtime")
    p.add_argument("action", choices=["provision", "render", "start", "foreground", "stop",
                                      "cli"])
    p.add_argument("command", nargs="*", help="for cli: the Asterisk CLI command")
    p.set_defaults(func=cmd_asterisk)
    p = sub.add_parser("kamailio", help="Kamailio in front of the nodes (VOXCAST_NODES)")
    p.add_argument("action", choices=["start", "stop", "status", "render", "foreground"])
    p.set_defaults(func=cmd_kamailio)
    sub.add_parser("ari-app", help="run the Stasis app in the foreground").set_defaults(func=cmd_ari_app)
    p = sub.add_parser("web", help="run the web UI in the foreground")
    p.add_argument("--workers", type=int, default=int(os.environ.get("VOXCAST_WEB_WORKERS", 1)),
                   help="processes sharing the port (SO_REUSEPORT); VOXCAST_WEB_WORKERS")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_web)
    sub.add_parser("agi", help="run the FastAGI server in the foreground").set_defaults(func=cmd_agi)
    sub.add_parser("messaging", help="run the SMS and e-mail sender in the foreground"
                   ).set_defaults(func=cmd_messaging)
    sub.add_parser("webhooks", help="run the webhook sender in the foreground"
                   ).set_defaults(func=cmd_webhooks)
    p = sub.add_parser("reports", help="report rollups: rebuild from the raw tables, or check")
    p.add_argument("action", choices=["rebuild", "check"])
    p.set_defaults(func=cmd_reports)
    p = sub.add_parser("subscriptions", help="subscriptions: sweep (suspend unpaid, "
                       "terminate after the set days)")
    p.add_argument("action", choices=["sweep"])
    p.set_defaults(func=cmd_subscriptions)
    sub.add_parser("nodes", help="the cluster's nodes and their heartbeats").set_defaults(
        func=cmd_nodes)
    p = sub.add_parser("did", help="assign a DID to a tenant")
    p.add_argument("number")
    p.add_argument("--tenant", default="master")
    p.add_argument("--greeting", default="")
    p.set_defaults(func=cmd_did)
    args = parser.parse_args(argv)
    try:  # before anything reads a setting; `voxcast run`'s children inherit the result
        path, required = config.config_file(os.environ, args.config)
        config.apply_config_file(path, os.environ, required)
    except (config.ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = config.load(args.instance)
    try:
        _setup_logging(args.verbose, settings.log_format, args.cmd)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.func(settings, args)
    except asterisk.AsteriskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
