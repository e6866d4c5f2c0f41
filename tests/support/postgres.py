"""A throwaway PostgreSQL server for tests, and fresh databases in it.

A temporary directory owned by ``postgres`` (the server
refuses to run as root), ``initdb -A trust -U postgres``, then ``pg_ctl start`` listening on
127.0.0.1 and a free port, with its socket in the temporary directory; ``pg_ctl -m fast stop``
at the end. Durability is switched off: it is a test server. Every command is bounded in time
and writes to a log file, never to a pipe (the server must not hold our pipes open).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
HOST = "127.0.0.1"
CONNECT_TIMEOUT = 5
COMMAND_TIMEOUT = 120.0
# A test server: no durability; room for tests that open many connections at once.
SERVER_OPTIONS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def database_name(hint: str) -> str:
    """A valid, unique database name derived from ``hint`` (e.g. a test module's name)."""
    base = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:40] or "test"
    return f"{base}_{uuid.uuid4().hex[:8]}"


def url_for(port: int, database: str = "postgres") -> str:
    """The SQLAlchemy URL of ``database`` on the test server."""
    return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{port}/{database}"


@dataclass
class PostgresServer:
    """One running throwaway cluster; :meth:`start` makes it, :meth:`stop` removes it."""

    bin_dir: Path
    root: Path
    port: int
    _stopped: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return url_for(self.port)

    @classmethod
    def start(cls, bin_dir: str | Path, attempts: int = 3) -> PostgresServer:
        """initdb + pg_ctl start on a free port (retrying if another process takes the port)."""
        root = Path(tempfile.mkdtemp(prefix="vmhost-pg-"))
        if os.geteuid() == 0:
            shutil.chown(root, SUPERUSER, SUPERUSER)
        server = cls(Path(bin_dir), root, 0)
        try:
            data = str(server.data_dir)
            server._run("initdb", "-D", data, "-A", "trust", "-U", SUPERUSER, "--no-sync",
                        "-E", "UTF8", "--no-locale")  # fmt: skip
            for attempt in range(attempts):
                server.port = free_port()
                options = f"-k {root} -h {HOST} -p {server.port} {SERVER_OPTIONS}"
                try:
                    server._run("pg_ctl", "-D", data, "-l", str(server.log_file), "-w",
                                "-t", "60", "-o", options, "start")  # fmt: skip
                    break
                except RuntimeError:
                    taken = "already in use" in server._tail(server.log_file)
                    if not taken or attempt == attempts - 1:
                        raise
        except BaseException:
            server.stop()
            raise
        atexit.register(server.stop)
        return server

    def stop(self) -> None:
        """``pg_ctl -m fast stop`` and remove the directory (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30",
                          "stop")  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A plain psycopg connection (autocommit) for administrative statements."""
        return psycopg.connect(
            host=HOST,
            port=self.port,
            user=SUPERUSER,
            dbname=database,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
        )

    def create_database(self, hint: str = "test") -> str:
        """A new empty database named after ``hint``; its SQLAlchemy URL."""
        name = database_name(hint)
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return url_for(self.port, name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url`` (made by :meth:`create_database`), even if in use."""
        name = url.rsplit("/", 1)[1]
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @contextlib.contextmanager
    def fresh_database(self, hint: str = "test") -> Iterator[str]:
        """A new database for the duration of the block (e.g. one per test module)."""
        url = self.create_database(hint)
        try:
            yield url
        finally:
            self.drop_database(url)

    def _run(self, tool: str, *args: str) -> None:
        """Run a server tool as ``postgres`` (when root), output to a log; raise with its tail."""
        out = self.root / f"{tool}.out"
        as_postgres = os.geteuid() == 0
        with out.open("ab") as log:
            if as_postgres:
                shutil.chown(out, SUPERUSER, SUPERUSER)
            done = subprocess.run(
                [str(self.bin_dir / tool), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                user=SUPERUSER if as_postgres else None,
                group=SUPERUSER if as_postgres else None,
                extra_groups=[] if as_postgres else None,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({done.returncode}): {self._tail(out)}\n"
                f"server log: {self._tail(self.log_file)}"
            )

    @staticmethod
    def _tail(path: Path, lines: int = 15) -> str:
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
