"""Engines and transactions: SQLite (WAL, foreign keys, immediate write transactions) or
PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from vmhost import model


def sqlite_url(data_dir: str) -> str:
    """The default database: ``<data_dir>/vmhost.db``."""
    return f"sqlite:///{os.path.join(data_dir, 'vmhost.db')}"


def private_dir(path: str) -> None:
    """Create ``path`` with mode 0700, and tighten it to 0700 when it exists with more (unless
    it is a shared directory: sticky, like /tmp, or someone else's)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
    if info.st_mode & 0o077 and not info.st_mode & stat.S_ISVTX and info.st_uid == os.geteuid():
        os.chmod(path, 0o700)


def _private_sqlite_file(url: str) -> None:
    """The SQLite file exists with mode 0600 before SQLite opens it, so that its WAL and SHM
    files, which SQLite creates with the database's mode, are 0600 too; existing ones are
    tightened."""
    path = sa.engine.make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        private_dir(directory)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(name, 0o600)


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine configured for vmhost's transactions."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            poolclass=sa.pool.QueuePool if ":memory:" not in url else sa.pool.StaticPool,
            pool_size=8,
            max_overflow=32,
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide where transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            mode = conn.info.get("begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = sa.create_engine(url, pool_size=8, max_overflow=32, **kwargs)
    _ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 5.0


def _ping_when_idle(engine: sa.Engine) -> None:
    """``pool_pre_ping`` for connections that sat in the pool: one handed back more than
    PING_AFTER_IDLE_S ago is pinged at checkout and, if the server is gone (restarted, or the
    connection dropped), replaced by a new one. One handed back moments ago is not, which
    saves every claim of a busy server a round trip; if it died in those moments, its first
    statement fails and SQLAlchemy replaces it and every connection pooled before it."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # the pool discards this connection and checks out a new one
            raise sa.exc.DisconnectionError("the pooled connection is gone") from exc


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The integer primary key of the row an INSERT made."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


class Database:
    """Hands out transactions. Writers on SQLite take the write lock up front (BEGIN IMMEDIATE),
    so a read-then-write never fails with a stale snapshot; PostgreSQL uses row locks and the
    generation compare-and-swap."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction."""
        with self.engine.connect() as conn:
            conn.info["begin"] = "DEFERRED"
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction, committed on exit, rolled back on error."""
        with self.engine.connect() as conn:
            conn.info["begin"] = "IMMEDIATE"
            try:
                with conn.begin():
                    yield conn
            except sa.exc.IntegrityError as exc:
                raise model.ConflictError(_integrity_message(exc)) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _integrity_message(exc: sa.exc.IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate" in text:
        return "an object with this name already exists"
    if "foreign key" in text:
        return "the object is still referenced"
    return "the change conflicts with existing data"
