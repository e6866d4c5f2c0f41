"""Migration 0007 (``maas_ids``, the stable ids of spaces, subnets and boot resources): the
schema at the head is the tables' schema, ids are never reused, down and up again work; on
SQLite and on the real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vmhost import store


def _check(url: str) -> None:
    db = store.Database(url)
    try:
        store.upgrade(db, "0006")
        store.upgrade(db)
        with db.write() as conn:
            context = MigrationContext.configure(conn, opts={"render_as_batch": True})
            assert compare_metadata(context, store.tables.metadata) == []
            ids = store.maas_catalog.assign_ids(conn, "space", ["a", "b"])
        with db.write() as conn:
            again = store.maas_catalog.assign_ids(conn, "space", ["b", "c", "a"])
            assert {k: again[k] for k in ids} == ids
            assert again["c"] > max(ids.values())
            conn.execute(
                sa.delete(store.tables.maas_ids).where(store.tables.maas_ids.c.key == "c")
            )
        with db.write() as conn:  # never reused, even after a delete of the newest
            assert store.maas_catalog.assign_ids(conn, "space", ["d"])["d"] > again["c"]
        command.downgrade(store.migrate.alembic_config(db.url), "0006")
        with db.read() as conn:
            assert "maas_ids" not in sa.inspect(conn).get_table_names()
        store.upgrade(db)
    finally:
        db.dispose()


def test_migration_0007_on_sqlite(tmp_path: Any) -> None:
    _check(f"sqlite:///{tmp_path / 'vmhost.db'}")


@pytest.mark.postgres
def test_migration_0007_on_postgresql(postgres_server: Any) -> None:
    with postgres_server.fresh_database("migration_0007") as url:
        _check(url)
