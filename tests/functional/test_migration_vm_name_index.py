"""Migration 0008 (``ix_vms_name``, for a compose's hostname check): the schema at the head is
the tables' schema, the check reads the index (SQLite's plan), down and up again work; on SQLite
and on the real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vmhost import store


def _vm_indexes(conn: sa.Connection) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(conn).get_indexes("vms")}


def _check(url: str) -> None:
    db = store.Database(url)
    try:
        store.upgrade(db, "0007")
        with db.read() as conn:
            assert "ix_vms_name" not in _vm_indexes(conn)
        store.upgrade(db)
        with db.write() as conn:
            context = MigrationContext.configure(conn, opts={"render_as_batch": True})
            assert compare_metadata(context, store.tables.metadata) == []
            assert "ix_vms_name" in _vm_indexes(conn)
            assert store.vms.vm_name_taken(conn, "web-1") is False
            if db.url.startswith("sqlite"):
                query = sa.select(store.tables.vms.c.id).where(store.tables.vms.c.name == "x")
                compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
                plan = " ".join(
                    str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
                )
                assert "ix_vms_name" in plan, plan
        command.downgrade(store.migrate.alembic_config(db.url), "0007")
        with db.read() as conn:
            assert "ix_vms_name" not in _vm_indexes(conn)
        store.upgrade(db)
    finally:
        db.dispose()


def test_migration_0008_on_sqlite(tmp_path: Any) -> None:
    _check(f"sqlite:///{tmp_path / 'vmhost.db'}")


@pytest.mark.postgres
def test_migration_0008_on_postgresql(postgres_server: Any) -> None:
    with postgres_server.fresh_database("migration_0008") as url:
        _check(url)
