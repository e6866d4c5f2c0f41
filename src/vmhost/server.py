"""The server process and its admin commands (they need the database, so they live here and
not in the ``vmhost`` CLI, which only talks HTTP).

``vmhost-server [serve]``     migrate, reconcile, serve the API (default; optional TLS)
``vmhost-server token create NAME --role admin|readonly``   print a new token, once
``vmhost-server token list`` / ``token revoke NAME|ID``
``vmhost-server db upgrade``  create or migrate the schema

Stops cleanly on Ctrl-C / SIGTERM. Settings come from ``VMHOST_*`` and the options.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import logging
import os
import socket
import sys
from collections.abc import Sequence

import sqlalchemy.exc
import uvicorn

from vmhost import model, store
from vmhost.api.app import create_app
from vmhost.service import Services
from vmhost.settings import Settings

log = logging.getLogger("vmhost.server")

_COMMON = (
    ("--data-dir", "data_dir", "data directory (VMHOST_DATA_DIR)"),
    ("--database-url", "database_url", "SQLAlchemy URL (VMHOST_DATABASE_URL)"),
    ("--log-level", "log_level", "DEBUG, INFO, WARNING... (VMHOST_LOG_LEVEL)"),
)
_SERVE = (
    ("--host", "listen_host", "listen address(es), comma-separated (VMHOST_LISTEN_HOST)"),
    ("--port", "listen_port", "listen port (VMHOST_LISTEN_PORT)"),
)


def _options(parser: argparse.ArgumentParser, serve: bool, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    for flag, dest, text in _COMMON:
        parser.add_argument(flag, dest=dest, default=default, help=text)
    if serve:
        for flag, dest, text in _SERVE:
            parser.add_argument(
                flag, dest=dest, default=default, help=text, type=int if "port" in flag else str
            )
        parser.add_argument("--tls-cert", default=default, help="PEM certificate for HTTPS")
        parser.add_argument("--tls-key", default=default, help="PEM private key for HTTPS")


def parser() -> argparse.ArgumentParser:
    """The command line."""
    main = argparse.ArgumentParser(
        prog="vmhost-server",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(main, serve=True, suppress=False)
    sub = main.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the API (the default)")
    _options(serve, serve=True, suppress=True)

    token = sub.add_parser("token", help="API tokens").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    create = token.add_parser("create", help="create a token and print it (shown once)")
    create.add_argument("name")
    create.add_argument("--role", choices=["admin", "readonly"], default="readonly")
    create.add_argument("--expires-days", type=float, help="expire after this many days")
    create.add_argument(
        "--maas-key", action="store_true", help="print it as a MAAS API key (NAME:ID:TOKEN)"
    )
    _options(create, serve=False, suppress=True)
    listing = token.add_parser("list", help="list tokens (never the tokens themselves)")
    _options(listing, serve=False, suppress=True)
    revoke = token.add_parser("revoke", help="revoke a token by name or id")
    revoke.add_argument("name")
    _options(revoke, serve=False, suppress=True)

    db = sub.add_parser("db", help="database").add_subparsers(
        dest="db_command", metavar="ACTION", required=True
    )
    upgrade = db.add_parser("upgrade", help="create or migrate the schema to the latest")
    _options(upgrade, serve=False, suppress=True)
    return main


def _settings(args: argparse.Namespace) -> Settings:
    keys = ("data_dir", "database_url", "log_level", "listen_host", "listen_port")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    return Settings(**overrides)


def _fail(message: str) -> int:
    print(f"vmhost-server: error: {message}", file=sys.stderr)
    return 1


def serve(settings: Settings, tls_cert: str | None, tls_key: str | None) -> int:
    """Migrate, reconcile, then serve until interrupted."""
    if bool(tls_cert) != bool(tls_key):
        return _fail("--tls-cert and --tls-key go together")
    for path in (tls_cert, tls_key):
        if path and not os.path.isfile(path):
            return _fail(f"no such file: {path}")
    try:
        services = Services.create(settings, migrate=settings.migrate_at_start)
    except sqlalchemy.exc.SQLAlchemyError:
        if settings.migrate_at_start:
            raise
        return _fail(
            "the database has no schema yet and VMHOST_MIGRATE_AT_START is false: "
            "run `vmhost-server db upgrade` first"
        )
    counts = services.recovery.reconcile()
    log.info("reconciled at start: %s", counts)
    app = create_app(services)
    # What start-up allocated lives as long as the process: keep it out of the collector's
    # way (full collections over it were most of the time of large list answers).
    gc.collect()
    gc.freeze()
    scheme = "https" if tls_cert else "http"
    try:
        sockets = listen(settings.listen_hosts(), settings.listen_port)
    except OSError as exc:
        services.close()
        return _fail(str(exc))
    for host in settings.listen_hosts():
        log.info("serving on %s://%s:%s", scheme, _bracketed(host), settings.listen_port)
    config = uvicorn.Config(
        app,
        port=settings.listen_port,
        log_level=settings.log_level.lower(),
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )
    try:
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
        services.close()
    return 0


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def listen(hosts: Sequence[str], port: int) -> list[socket.socket]:
    """One listening socket per address (numeric addresses or ``localhost``: a listen address
    is never looked up in DNS). OSError naming the address that cannot be bound."""
    sockets: list[socket.socket] = []
    try:
        for host in hosts:
            flags = socket.AI_PASSIVE | (0 if host == "localhost" else socket.AI_NUMERICHOST)
            try:
                family, kind, proto, _, address = socket.getaddrinfo(
                    host, port, type=socket.SOCK_STREAM, flags=flags
                )[0]
                sock = socket.socket(family, kind, proto)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
            except (OSError, UnicodeError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise OSError(f"cannot listen on {_bracketed(host)}:{port}: {reason}") from None
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def token_command(settings: Settings, args: argparse.Namespace) -> int:
    """``token create|list|revoke``."""
    services = Services.create(settings)
    try:
        if args.action == "create":
            expires = args.expires_days * 86400 if args.expires_days is not None else None
            record, token = services.tokens.create(args.name, args.role, expires)
            print(
                f"Created {record.role} token {record.name!r} (id {record.id}, "
                f"expires {_when(record.expires_at)}). It is shown once:",
                file=sys.stderr,
            )
            # the MAAS API key of src/vmhost/maas/auth.py (consumer:token:secret)
            print(f"{record.name}:{record.id}:{token}" if args.maas_key else token)
        elif args.action == "list":
            print(f"{'ID':>4}  {'NAME':<24} {'ROLE':<9} {'PREFIX':<9} EXPIRES")
            for t in services.tokens.list():
                expires = _when(t.expires_at) + (" (expired)" if t.expired else "")
                print(f"{t.id:>4}  {t.name:<24} {t.role:<9} {t.prefix:<9} {expires}")
        else:
            services.tokens.revoke(args.name)
            print(f"Revoked token {args.name!r}.", file=sys.stderr)
    finally:
        services.close()
    return 0


def db_upgrade(settings: Settings) -> int:
    """Create or migrate the schema."""
    store.private_dir(settings.data_dir)
    db = store.Database(settings.resolved_database_url())
    try:
        store.upgrade(db)
    finally:
        db.dispose()
    print("The database schema is up to date.", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; errors print one line and exit 1."""
    args = parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ValueError as exc:
        return _fail(f"bad setting: {exc}".splitlines()[0])
    quiet = args.command in ("token", "db") and getattr(args, "log_level", None) is None
    logging.basicConfig(
        level="WARNING" if quiet else settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "token":
            return token_command(settings, args)
        if args.command == "db":
            return db_upgrade(settings)
        return serve(settings, getattr(args, "tls_cert", None), getattr(args, "tls_key", None))
    except model.VmHostError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
