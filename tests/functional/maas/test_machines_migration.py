"""Migration 0006 (the MAAS machine fields and the file store): every VM row is kept and gets
its system id; the schema at the head is the tables' schema; down and up again work; on SQLite
and on the real PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vmhost import model, store


def _seed(conn: sa.Connection) -> list[int]:
    zone = conn.execute(sa.text("INSERT INTO zones (name) VALUES ('z') RETURNING id")).scalar()
    pool = conn.execute(
        sa.text("INSERT INTO resource_pools (name) VALUES ('p') RETURNING id")
    ).scalar()
    host = conn.execute(
        sa.text(
            "INSERT INTO hosts (name, type, address, zone_id, pool_id, tags, "
            "cpu_over_commit_ratio, memory_over_commit_ratio, status, architectures, inventory, "
            "usage, created_at) VALUES ('h', 'fake', 'fake://h', :z, :p, '[]', 1, 1, 'ready', "
            "'[]', '{}', '{}', 0) RETURNING id"
        ),
        {"z": zone, "p": pool},
    ).scalar()
    ids = []
    for name in ("vm1", "vm2", "vm3"):
        ids.append(
            int(
                conn.execute(
                    sa.text(
                        "INSERT INTO vms (host_id, name, origin, state, cores, memory_mib, "
                        "instance_type, spec, allocation, created_at, updated_at, owner) VALUES "
                        "(:h, :n, 'composed', 'ready', 1, 512, 'container', '{}', '{}', 0, 0, "
                        "'alice') RETURNING id"
                    ),
                    {"h": host, "n": name},
                ).scalar_one()
            )
        )
    return ids


def _check(url: str) -> None:
    db = store.Database(url)
    try:
        store.upgrade(db, "0005")
        with db.write() as conn:
            ids = _seed(conn)
        store.upgrade(db, "0006")
        with db.write() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, name, owner, system_id, agent_name, owner_data, dynamic, "
                    "maas_status FROM vms ORDER BY id"
                )
            ).all()
            assert [r.id for r in rows] == ids
            assert [r.name for r in rows] == ["vm1", "vm2", "vm3"]
            assert {r.owner for r in rows} == {"alice"}
            assert [r.system_id for r in rows] == [model.system_id_of(i) for i in ids]
            for row in rows:
                assert (row.agent_name, row.dynamic, row.maas_status) == ("", False, "")
                owner_data = row.owner_data
                assert owner_data in ({}, "{}")
            # system ids are unique in the database itself
            with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
                conn.execute(
                    sa.text("UPDATE vms SET system_id = :s WHERE id = :i"),
                    {"s": rows[0].system_id, "i": ids[1]},
                )
            conn.execute(
                sa.text(
                    "INSERT INTO maas_files (filename, content, created_at) VALUES (:f, :c, 0)"
                ),
                {"f": "uuid-provider-state", "c": b"\x00\x01state"},
            )
            context = MigrationContext.configure(conn, opts={"render_as_batch": True})
            newer = {"maas_ids", "ix_vms_name"}  # the table and index of later ones (0007, 0008)
            diff = compare_metadata(context, store.tables.metadata)
            later = [d for d in diff if d[0] in ("add_table", "add_index") and d[1].name in newer]
            assert [d for d in diff if d not in later] == []
        command.downgrade(store.migrate.alembic_config(db.url), "0005")
        with db.read() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("vms")}
            assert "system_id" not in columns and "owner" in columns
            assert conn.execute(sa.text("SELECT count(*) FROM vms")).scalar() == 3
        store.upgrade(db)
        with db.read() as conn:
            system_ids = conn.execute(sa.text("SELECT system_id FROM vms ORDER BY id")).scalars()
            assert list(system_ids) == [model.system_id_of(i) for i in ids]
    finally:
        db.dispose()


def test_migration_0006_on_sqlite(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'vmhost.db'}"
    _check(url)
    with sa.create_engine(url).connect() as conn:
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'vms'").scalar()
    assert "AUTOINCREMENT" in str(sql)


@pytest.mark.postgres
def test_migration_0006_on_postgresql(postgres_server: Any) -> None:
    with postgres_server.fresh_database("migration_0006") as url:
        _check(url)


def test_system_ids_are_a_bijection() -> None:
    seen = {model.system_id_of(i) for i in range(1, 50_001)}
    assert len(seen) == 50_000
    assert all(len(s) == 6 and s.isalnum() and s == s.lower() for s in seen)
    assert all(model.vm_id_of(model.system_id_of(i)) == i for i in (1, 2, 999, 123_456_789))
    assert model.vm_id_of("nope") is None
    assert model.vm_id_of("ab/def") is None
