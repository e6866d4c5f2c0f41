"""ids never reused (SQLite AUTOINCREMENT); host, zone and pool names unique regardless of case

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:00:00

SQLite gives a table without ``AUTOINCREMENT`` the largest id in use plus one, so the id of the
newest row, once deleted, went to the next one (a retried ``DELETE /vms/2`` could destroy the VM
composed in between). SQLite cannot add ``AUTOINCREMENT`` to a table: each table with its own id
is rebuilt (batch mode: copy, drop, rename) with every row, id, foreign key, constraint and index
kept; ``store/migrate.py`` turns foreign key enforcement off around the migration, so dropping a
table others refer to does not cascade, and checks every reference before the commit.
PostgreSQL's ``SERIAL`` sequences never go back: nothing to change there.

Names: a unique index on ``lower(name)`` for hosts, zones and resource pools. Rows whose names
already differ only in case keep the first (lowest id) as it is; each later one is renamed
``<name>-<id>`` and a warning says so (the server starts, and the operator can rename them
again). Network spaces have no table of their own (a space is the name in its mappings): the
service refuses a new spelling of a known space, and mappings that clash already are reported
here and left as they are.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("vmhost.store.migrations")

# tables with their own id, parents before children
ID_TABLES = ("zones", "resource_pools", "tokens", "hosts", "vms", "network_spaces")
NAMED = (("hosts", "VM host"), ("zones", "zone"), ("resource_pools", "resource pool"))
NAME_LENGTH = 63


def upgrade() -> None:
    """Rename case clashes, rebuild the SQLite tables with AUTOINCREMENT, add the indexes."""
    conn = op.get_bind()
    for table, what in NAMED:
        _rename_case_clashes(conn, table, what)
    _report_space_clashes(conn)
    if conn.dialect.name == "sqlite":
        for table in ID_TABLES:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass
    for table, _ in NAMED:
        op.create_index(f"ix_{table}_lower_name", table, [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    """Drop the indexes; the SQLite tables without AUTOINCREMENT again (ids kept)."""
    conn = op.get_bind()
    for table, _ in NAMED:
        op.drop_index(f"ix_{table}_lower_name", table_name=table)
    if conn.dialect.name == "sqlite":
        for table in ID_TABLES:
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": False}
            ):
                pass


def _rename_case_clashes(conn: sa.Connection, table: str, what: str) -> None:
    named = sa.table(table, sa.column("id"), sa.column("name"))
    rows = conn.execute(sa.select(named.c.id, named.c.name).order_by(named.c.id)).all()
    taken = {str(name).lower() for _, name in rows}
    first: dict[str, str] = {}
    for row_id, name in rows:
        key = str(name).lower()
        if key not in first:
            first[key] = str(name)
            continue
        new = _free_name(str(name), int(row_id), taken)
        taken.add(new.lower())
        conn.execute(sa.update(named).where(named.c.id == row_id).values(name=new))
        log.warning(
            "renamed %s %r (id %s) to %r: its name differed from %s %r only in case, and names "
            "are now unique regardless of case",
            what,
            name,
            row_id,
            new,
            what,
            first[key],
        )


def _free_name(name: str, row_id: int, taken: set[str]) -> str:
    """``<name>-<id>`` (shortened to fit), with a counter if even that is taken."""
    for extra in range(1000):
        suffix = f"-{row_id}" + (f"-{extra}" if extra else "")
        candidate = name[: NAME_LENGTH - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
    raise RuntimeError(f"no free name for {name!r} (id {row_id})")  # pragma: no cover


def _report_space_clashes(conn: sa.Connection) -> None:
    spellings: dict[str, set[str]] = {}
    spaces = sa.table("network_spaces", sa.column("space"))
    for (space,) in conn.execute(sa.select(spaces.c.space).distinct()):
        spellings.setdefault(str(space).lower(), set()).add(str(space))
    for names in spellings.values():
        if len(names) > 1:
            log.warning(
                "network spaces %s differ only in case: new mappings must use one spelling; "
                "remove the others (DELETE /api/v1/spaces/NAME) and map their networks again",
                ", ".join(repr(n) for n in sorted(names)),
            )
