"""Repository functions for host records: create, read, compare-and-swap update, status,
credentials, delete. Every function takes the caller's connection: the service owns the
transaction."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model
from vmhost.model.accounting import HostUsage, HostView

from . import catalog, driver
from . import tables as t
from .engine import inserted_id
from .rows import (
    HOST_COLUMNS,
    HOSTS_JOIN,
    SpaceMap,
    empty_inventory,
    host_from_row,
    settings_values,
    view_from_row,
)


def insert_host(
    conn: sa.Connection, settings: model.HostSettings, credentials: Mapping[str, Any]
) -> int:
    """A new host row (status new, no inventory yet)."""
    check_name_free(conn, settings.name)
    dup = conn.execute(
        sa.select(t.hosts.c.name).where(
            t.hosts.c.type == settings.type.value,
            t.hosts.c.address == settings.address,
            t.hosts.c.project == settings.project,
        )
    ).first()
    if dup:
        raise model.ConflictError(
            f"VM host {dup.name!r} already has type {settings.type.value}, address "
            f"{settings.address!r} and project {settings.project!r}"
        )
    zone_id = catalog.named_id(conn, "zone", settings.zone)
    pool_id = catalog.named_id(conn, "pool", settings.pool)
    now = time.time()
    host_id = inserted_id(
        conn.execute(
            sa.insert(t.hosts).values(
                **settings_values(settings),
                zone_id=zone_id,
                pool_id=pool_id,
                status=model.HostStatus.NEW.value,
                architectures=[],
                inventory=empty_inventory(),
                usage=HostUsage().to_json(),
                created_at=now,
            )
        )
    )
    conn.execute(
        sa.insert(t.host_credentials).values(
            host_id=host_id,
            client_cert_pem=credentials.get("client_cert_pem", ""),
            client_key_sealed=credentials.get("client_key_sealed", ""),
            server_cert_pem=credentials.get("server_cert_pem", ""),
            password_sealed=credentials.get("password_sealed", ""),
            options=dict(credentials.get("options", {})),
        )
    )
    return int(host_id)


def _host_select() -> sa.Select[Any]:
    return sa.select(*HOST_COLUMNS).select_from(HOSTS_JOIN)


def host(conn: sa.Connection, host_id: int) -> model.Host:
    """A host's record, or NotFoundError."""
    row = conn.execute(_host_select().where(t.hosts.c.id == host_id)).first()
    if row is None:
        raise model.NotFoundError("VM host", host_id)
    return host_from_row(row._mapping)


def row_values(conn: sa.Connection, host_id: int) -> dict[str, Any]:
    """A host's row as plain values (the columns of ``rows.HOST_COLUMNS``), or NotFoundError."""
    row = conn.execute(_host_select().where(t.hosts.c.id == host_id)).first()
    if row is None:
        raise model.NotFoundError("VM host", host_id)
    return dict(row._mapping)


def detail(
    conn: sa.Connection, host_id: int, spaces: SpaceMap | None = None
) -> tuple[model.Host, HostView]:
    """A host's record and view from one read of its row (``spaces`` None: read them)."""
    row = conn.execute(_host_select().where(t.hosts.c.id == host_id)).first()
    if row is None:
        raise model.NotFoundError("VM host", host_id)
    spaces = spaces if spaces is not None else catalog.space_map(conn)
    return host_from_row(row._mapping), view_from_row(row._mapping, spaces)


def details(conn: sa.Connection) -> list[tuple[model.Host, HostView]]:
    """Every host's record and view, by id, from one read of the host rows."""
    spaces = catalog.space_map(conn)
    rows = conn.execute(_host_select().order_by(t.hosts.c.id))
    return [(host_from_row(r._mapping), view_from_row(r._mapping, spaces)) for r in rows]


# A host's row as stored, JSON columns as their text: what ``stored_rows`` returns. Two equal
# stored rows make equal records, so a caller may keep what it made from one (HostsService).
StoredRow = tuple[Any, ...]
_JSON_COLUMNS = frozenset(c.name for c in HOST_COLUMNS if isinstance(c.type, sa.JSON))
_STORED_COLUMNS = tuple(
    sa.cast(c, sa.Text).label(c.name) if c.name in _JSON_COLUMNS else c for c in HOST_COLUMNS
)
_STORED_NAMES = tuple(c.name for c in HOST_COLUMNS)
_STORED_ALL = sa.select(*_STORED_COLUMNS).select_from(HOSTS_JOIN).order_by(t.hosts.c.id)
_STORED_FROM = _STORED_ALL.offset(sa.bindparam("offset"))
_STORED_PAGE = _STORED_FROM.limit(sa.bindparam("limit"))
_STORED_SOME = _STORED_ALL.where(t.hosts.c.id.in_(sa.bindparam("ids", expanding=True)))


def stored_rows(
    conn: sa.Connection,
    host_ids: Sequence[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[StoredRow]:
    """Hosts' rows as stored (the id first), by id: all, some ids, or a page of ``limit``
    from ``offset``. Nothing is decoded: ``decode_row`` makes the records."""
    if host_ids is not None:
        result = conn.execute(_STORED_SOME, {"ids": list(host_ids)})
    elif limit is not None:
        result = conn.execute(_STORED_PAGE, {"limit": limit, "offset": offset})
    elif offset:
        result = conn.execute(_STORED_FROM, {"offset": offset})
    else:
        result = conn.execute(_STORED_ALL)
    return [tuple(r) for r in result]


def decode_row(row: StoredRow, spaces: SpaceMap) -> tuple[model.Host, HostView]:
    """A host's record and view from its stored row (``stored_rows``)."""
    mapping = dict(zip(_STORED_NAMES, row, strict=True))
    for name in _JSON_COLUMNS:
        mapping[name] = json.loads(mapping[name])
    return host_from_row(mapping), view_from_row(mapping, spaces)


def host_id_by_name(conn: sa.Connection, name: str) -> int:
    """A host id by name."""
    row = conn.execute(sa.select(t.hosts.c.id).where(t.hosts.c.name == name)).first()
    if row is None:
        raise model.NotFoundError("VM host", name)
    return int(row.id)


def name_holder(conn: sa.Connection, name: str, except_id: int | None = None) -> str | None:
    """The name of the host (other than ``except_id``) named ``name`` regardless of case."""
    query = sa.select(t.hosts.c.name).where(sa.func.lower(t.hosts.c.name) == name.lower())
    if except_id is not None:
        query = query.where(t.hosts.c.id != except_id)
    row = conn.execute(query).first()
    return None if row is None else str(row.name)


def name_taken(conn: sa.Connection, name: str) -> bool:
    """Whether a host has this name, regardless of case."""
    return name_holder(conn, name) is not None


def check_name_free(conn: sa.Connection, name: str, except_id: int | None = None) -> None:
    """ConflictError naming ``name`` when another host holds the name in any case."""
    existing = name_holder(conn, name, except_id)
    if existing is not None:
        raise model.duplicate_name(f"a VM host named {name!r} already exists", name, existing)


def count_hosts(conn: sa.Connection) -> int:
    """How many hosts exist."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.hosts)).scalar_one())


def keep_statistics(conn: sa.Connection) -> None:
    """On PostgreSQL, analyze ``hosts`` when the host count reaches a power of two from 8.

    Right after a bulk registration the table has no statistics until autovacuum gets to it
    (up to a minute), and the candidate query of ``store/candidates.py`` is then planned as a
    scan of every row and a sort instead of a walk of ``ix_hosts_candidate_order``. Analyzing
    at 8, 16, 32, ... hosts costs log2(N) analyzes over a fleet's registration. SQLite plans
    from its indexes and needs nothing.
    """
    if conn.dialect.name != "postgresql":
        return
    hosts = count_hosts(conn)
    if hosts >= 8 and hosts & (hosts - 1) == 0:
        conn.execute(sa.text("ANALYZE hosts"))


def counts(conn: sa.Connection) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """(status, type, hosts) and (origin, state, VMs) for every combination present."""
    hosts = conn.execute(
        sa.select(t.hosts.c.status, t.hosts.c.type, sa.func.count()).group_by(
            t.hosts.c.status, t.hosts.c.type
        )
    ).all()
    vms = conn.execute(
        sa.select(t.vms.c.origin, t.vms.c.state, sa.func.count()).group_by(
            t.vms.c.origin, t.vms.c.state
        )
    ).all()
    return (
        [(str(s), str(ty), int(n)) for s, ty, n in hosts],
        [(str(o), str(s), int(n)) for o, s, n in vms],
    )


def credentials(conn: sa.Connection, host_id: int) -> dict[str, Any]:
    """A host's stored credentials (sealed secrets stay sealed)."""
    row = conn.execute(
        sa.select(t.host_credentials).where(t.host_credentials.c.host_id == host_id)
    ).first()
    return dict(row._mapping) if row else {}


def update_credentials(conn: sa.Connection, host_id: int, values: Mapping[str, Any]) -> None:
    """Change stored credentials."""
    conn.execute(
        sa.update(t.host_credentials)
        .where(t.host_credentials.c.host_id == host_id)
        .values(**values)
    )


# The compare-and-swap's condition: the host as it was read (``cas_id`` at ``cas_generation``);
# also the claim's (store/claims.py).
CAS_WHERE = (
    t.hosts.c.id == sa.bindparam("cas_id"),
    t.hosts.c.generation == sa.bindparam("cas_generation"),
)

# Built once, run on the driver cursor (store/driver.py): compiled once per set of column names.
_CAS_UPDATE = driver.Statement(sa.update(t.hosts).where(*CAS_WHERE))


def generation_conflict(host_id: int, generation: int) -> model.GenerationConflictError:
    """What a compare-and-swap that found the host changed raises."""
    return model.GenerationConflictError(f"VM host {host_id} changed (generation {generation})")


def cas_update_host(
    conn: sa.Connection, host_id: int, generation: int, values: Mapping[str, Any]
) -> int:
    """Update a host only if its generation is still ``generation``; return the new generation.

    Raises GenerationConflictError when another writer got there first.
    """
    cursor = _CAS_UPDATE.execute(
        conn,
        {"cas_id": host_id, "cas_generation": generation, "generation": generation + 1, **values},
        ("generation", *values),
    )
    rowcount = cursor.rowcount
    cursor.close()
    if rowcount != 1:
        raise generation_conflict(host_id, generation)
    return generation + 1


def set_status(
    conn: sa.Connection, host_id: int, status: model.HostStatus, error: str = ""
) -> None:
    """Status changes do not touch accounting, so they do not bump the generation."""
    conn.execute(
        sa.update(t.hosts)
        .where(t.hosts.c.id == host_id)
        .values(status=status.value, last_error=error)
    )


def delete_host(conn: sa.Connection, host_id: int) -> None:
    """Delete a host with its VM records and credentials."""
    conn.execute(sa.delete(t.vms).where(t.vms.c.host_id == host_id))
    conn.execute(sa.delete(t.spaces).where(t.spaces.c.host_id == host_id))
    conn.execute(sa.delete(t.host_credentials).where(t.host_credentials.c.host_id == host_id))
    conn.execute(sa.delete(t.hosts).where(t.hosts.c.id == host_id))
