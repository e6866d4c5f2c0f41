"""PostgreSQL connections that sat in the pool are pinged before use (``store/engine.py``): one
whose server end went away while it sat there is replaced and the transaction works; one handed
back moments ago is used as it is, without the ping's round trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import psycopg
import pytest
import sqlalchemy as sa

from vmhost import store
from vmhost.store import engine

if TYPE_CHECKING:
    from support.postgres import PostgresServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(
    postgres_server: PostgresServer, request: pytest.FixtureRequest
) -> Iterator[store.Database]:
    with postgres_server.fresh_database(request.node.name) as url:
        database = store.Database(url)
        yield database
        database.dispose()


def _backend_pid(db: store.Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(db: store.Database, pid: int) -> None:
    """End a server process from a connection of its own, as a server restart would."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(200):  # bounded: until the server lists it no more
            row = other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            if row is None:
                return
            other.execute("SELECT pg_sleep(0.01)")
        raise AssertionError(f"backend {pid} did not end")


def _count_pings(monkeypatch: pytest.MonkeyPatch, db: store.Database) -> list[object]:
    pings: list[object] = []
    real = db.engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    return pings


def test_an_idle_connection_whose_server_end_went_away_is_replaced(
    db: store.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = _backend_pid(db)
    _terminate(db, pid)
    monkeypatch.setattr(engine, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection counts as idle
    pings = _count_pings(monkeypatch, db)
    new_pid = _backend_pid(db)
    assert new_pid != pid
    assert len(pings) == 1
    with db.write() as conn:  # and writes work on the new connection
        conn.execute(sa.text("CREATE TABLE after_restart (id integer)"))
    assert _backend_pid(db) == new_pid


def test_a_connection_handed_back_moments_ago_is_not_pinged(
    db: store.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(monkeypatch, db)
    pids = {_backend_pid(db) for _ in range(20)}
    assert len(pids) == 1
    assert pings == []
    # which is why a connection that died in those moments fails once, and is then replaced
    _terminate(db, pids.pop())
    with pytest.raises(sa.exc.OperationalError):
        _backend_pid(db)
    assert _backend_pid(db) > 0
