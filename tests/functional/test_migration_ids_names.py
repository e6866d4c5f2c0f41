"""The migration to ids that are never reused and names unique regardless of case (issue 12
items 1 and 14): every row, id, reference and index is kept, names that clash already are
renamed and reported, and ids go on from the largest; on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vmhost import store

REVISION = "0005"
BEFORE = "0004"


def _insert(conn: sa.Connection, sql: str, **values: Any) -> int:
    return int(conn.execute(sa.text(sql + " RETURNING id"), values).scalar_one())


def _host(conn: sa.Connection, name: str, zone: int, pool: int) -> int:
    host_id = _insert(
        conn,
        "INSERT INTO hosts (name, type, address, zone_id, pool_id, tags, cpu_over_commit_ratio, "
        "memory_over_commit_ratio, status, architectures, inventory, usage, created_at) VALUES "
        "(:name, 'fake', :address, :zone, :pool, '[]', 1, 1, 'ready', '[]', '{}', '{}', 0)",
        name=name,
        address=f"fake://{name}",
        zone=zone,
        pool=pool,
    )
    conn.execute(
        sa.text("INSERT INTO host_credentials (host_id, options) VALUES (:h, '{}')"),
        {"h": host_id},
    )
    return host_id


def _vm(conn: sa.Connection, host_id: int, name: str) -> int:
    return _insert(
        conn,
        "INSERT INTO vms (host_id, name, origin, state, cores, memory_mib, instance_type, spec, "
        "allocation, created_at, updated_at) VALUES (:h, :name, 'composed', 'ready', 1, 1024, "
        "'virtual-machine', '{}', '{}', 0, 0)",
        h=host_id,
        name=name,
    )


def _seed(db: store.Database) -> dict[str, int]:
    """Rows as an older vmhost left them: names that differ only in case, and a deleted newest
    VM whose id SQLite would have given again."""
    with db.write() as conn:
        zone = _insert(conn, "INSERT INTO zones (name) VALUES ('rack')")
        _insert(conn, "INSERT INTO zones (name) VALUES ('RACK')")
        pool = _insert(conn, "INSERT INTO resource_pools (name) VALUES ('p')")
        kvm = _host(conn, "kvm", zone, pool)
        kvm_upper = _host(conn, "KVM", zone, pool)
        vm = _vm(conn, kvm, "vm1")
        _vm(conn, kvm_upper, "vm2")
        conn.execute(
            sa.text("INSERT INTO network_spaces (space, network, host_id) VALUES (:s, :n, :h)"),
            [
                {"s": "db", "n": "br0", "h": kvm},
                {"s": "DB", "n": "br1", "h": None},
            ],
        )
        _insert(
            conn,
            "INSERT INTO tokens (name, role, prefix, hash, created_at) VALUES "
            "('t', 'admin', 'vmh_x', 'h', 0)",
        )
    return {"zone": zone, "kvm": kvm, "kvm_upper": kvm_upper, "vm": vm}


def _indexes(conn: sa.Connection, table: str) -> set[str]:
    """Every index and unique constraint of ``table``, by name (expression-based ones too, which
    SQLAlchemy does not reflect on SQLite)."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = :t"
    names = {str(n) for (n,) in conn.execute(sa.text(query), {"t": table})}
    inspector = sa.inspect(conn)
    names |= {str(u["name"]) for u in inspector.get_unique_constraints(table) if u["name"]}
    return {n for n in names if not n.startswith(("sqlite_autoindex", "pk_"))}


def assert_lower_name_indexes(conn: sa.Connection) -> None:
    """The indexes that keep names unique regardless of case are there. A later migration that
    rebuilds one of these tables in batch mode on SQLite drops them unless it makes them again
    (SQLAlchemy does not reflect expression-based indexes there): this says so."""
    for table in ("hosts", "zones", "resource_pools"):
        assert f"ix_{table}_lower_name" in _indexes(conn, table), table


def _references(conn: sa.Connection) -> set[tuple[str, str, str | None]]:
    inspector = sa.inspect(conn)
    return {
        (table, fk["referred_table"], (fk.get("options") or {}).get("ondelete"))
        for table in inspector.get_table_names()
        for fk in inspector.get_foreign_keys(table)
    }


def _migrate(url: str, caplog: pytest.LogCaptureFixture) -> None:
    db = store.Database(url)
    try:
        store.upgrade(db, BEFORE)
        ids = _seed(db)
        with db.read() as conn:
            indexes = {t: _indexes(conn, t) for t in ("hosts", "vms", "zones", "tokens")}
            references = _references(conn)
        with caplog.at_level(logging.WARNING, logger="vmhost.store.migrations"):
            store.upgrade(db, REVISION)
        assert "renamed VM host 'KVM' (id 2) to 'KVM-2'" in caplog.text
        assert "renamed zone 'RACK' (id 2) to 'RACK-2'" in caplog.text
        assert "network spaces 'DB', 'db' differ only in case" in caplog.text

        with db.write() as conn:
            # every row and id kept, references and indexes too
            hosts = conn.execute(sa.text("SELECT id, name FROM hosts ORDER BY id")).all()
            assert [tuple(h) for h in hosts] == [(ids["kvm"], "kvm"), (ids["kvm_upper"], "KVM-2")]
            vms = conn.execute(sa.text("SELECT id, host_id, name FROM vms ORDER BY id")).all()
            assert [tuple(v) for v in vms] == [
                (ids["vm"], ids["kvm"], "vm1"),
                (ids["vm"] + 1, ids["kvm_upper"], "vm2"),
            ]
            assert conn.execute(sa.text("SELECT count(*) FROM host_credentials")).scalar() == 2
            assert conn.execute(sa.text("SELECT count(*) FROM network_spaces")).scalar() == 2
            assert _references(conn) == references
            for table, before in indexes.items():
                assert before <= _indexes(conn, table), table
            assert_lower_name_indexes(conn)

            # the newest VM deleted, the next one gets a new id
            newest = ids["vm"] + 1
            conn.execute(sa.text("DELETE FROM vms WHERE id = :id"), {"id": newest})
            assert _vm(conn, ids["kvm"], "vm3") > newest
            # a case clash is refused by the database itself
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                _insert(conn, "INSERT INTO zones (name) VALUES ('Rack')")
            # references still hold: deleting a host deletes its VMs, credentials, mappings
            conn.execute(sa.text("DELETE FROM hosts WHERE id = :id"), {"id": ids["kvm"]})
            assert conn.execute(sa.text("SELECT count(*) FROM vms")).scalar() == 0
            assert conn.execute(sa.text("SELECT count(*) FROM host_credentials")).scalar() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM network_spaces")).scalar() == 1

        command.downgrade(store.migrate.alembic_config(db.url), BEFORE)
        with db.read() as conn:
            assert "ix_hosts_lower_name" not in _indexes(conn, "hosts")
            assert _references(conn) == references
        store.upgrade(db)
        with db.read() as conn:
            assert_lower_name_indexes(conn)  # at the head too
            # the migrated schema (at the head) is the tables' schema
            context = MigrationContext.configure(conn, opts={"render_as_batch": True})
            assert compare_metadata(context, store.tables.metadata) == []
    finally:
        db.dispose()


def test_migration_on_sqlite(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'vmhost.db'}"
    _migrate(url, caplog)
    with sa.create_engine(url).connect() as conn:
        schema = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        ).all()
    tables = {name: sql for name, sql in schema}
    for table in ("zones", "resource_pools", "tokens", "hosts", "vms", "network_spaces"):
        assert "AUTOINCREMENT" in tables[table], table


@pytest.mark.postgres
def test_migration_on_postgresql(postgres_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    with postgres_server.fresh_database("migration_ids_names") as url:
        _migrate(url, caplog)
