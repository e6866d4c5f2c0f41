"""Run Alembic migrations programmatically (``vmhost db upgrade`` and every start)."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from vmhost import model

from .engine import Database

HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(HERE, "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``, in one transaction.

    On SQLite, foreign keys are not enforced while migrations run: a table rebuilt in batch
    mode is copied, dropped and renamed, and dropping a table others refer to would delete
    their rows (``ON DELETE CASCADE``) or fail. SQLite only switches enforcement outside a
    transaction, so it is done here, around the migration; every reference is checked before
    the commit (a migration that broke one is rolled back) and enforcement is back on after.
    """
    cfg = alembic_config(db.url)
    with db.engine.connect() as conn:
        if db.is_sqlite:
            _foreign_keys(conn, enforced=False)
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if db.is_sqlite:
                    _check_references(conn)
        finally:
            if db.is_sqlite:
                _foreign_keys(conn, enforced=True)


def _foreign_keys(conn: sa.Connection, *, enforced: bool) -> None:
    """``PRAGMA foreign_keys`` on the DB-API connection itself (no transaction is begun)."""
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    dbapi.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def _check_references(conn: sa.Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise model.ConflictError(
            f"the migration left {len(broken)} broken reference(s), e.g. row {rowid} of "
            f"{table} refers to a missing row of {parent}; nothing was changed"
        )
